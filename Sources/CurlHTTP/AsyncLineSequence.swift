/// The lines of an asynchronous sequence of byte chunks, as `LineSplitter` cuts them; the
/// last line need not end with a line break. Errors of the chunks pass through.
public struct AsyncLineSequence<Chunks: AsyncSequence>: AsyncSequence where Chunks.Element == [UInt8] {
    public typealias Element = [UInt8]
    private let chunks: Chunks

    public init(_ chunks: Chunks) {
        self.chunks = chunks
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(chunks: chunks.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        private var chunks: Chunks.AsyncIterator
        private var splitter = LineSplitter()
        private var ready: [[UInt8]] = []
        private var nextReady = 0
        private var ended = false

        init(chunks: Chunks.AsyncIterator) {
            self.chunks = chunks
        }

        public mutating func next() async throws -> [UInt8]? {
            try await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> [UInt8]? {
            while nextReady == ready.count {
                guard !ended else { return nil }
                if let chunk = try await chunks.next(isolation: actor) {
                    ready = splitter.append(chunk)
                } else {
                    ended = true
                    ready = splitter.finish().map { [$0] } ?? []
                }
                nextReady = 0
            }
            defer { nextReady += 1 }
            return ready[nextReady]
        }
    }
}

extension AsyncLineSequence: Sendable where Chunks: Sendable {}
