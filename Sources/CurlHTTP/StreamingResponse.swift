/// A response whose body is read while it arrives, as a Kubernetes watch needs.
///
/// `status` and `headers` are known before any of the body. Read `body` (or `lines`) once,
/// from one task. The transfer ends when the body ends, when the total timeout passes
/// (`body` then throws a `CurlError` of kind `.timedOut`), or when the reading task is
/// cancelled or the stream is dropped unread (the transfer is aborted at once). Pieces
/// are buffered until read, so read promptly.
public struct StreamingResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    /// The body in the pieces libcurl received (chunk boundaries are not kept).
    public let body: AsyncThrowingStream<[UInt8], any Error>

    public init(status: Int, headers: HTTPHeaders, body: AsyncThrowingStream<[UInt8], any Error>) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as newline-delimited lines, e.g. watch events.
    public var lines: AsyncLineSequence<AsyncThrowingStream<[UInt8], any Error>> {
        AsyncLineSequence(body)
    }
}
