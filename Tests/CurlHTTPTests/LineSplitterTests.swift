import Testing
import CurlHTTP

@Suite struct LineSplitterTests {
    /// Every way of cutting the input in two must give the same lines.
    @Test(arguments: [
        ("a\nb\n", ["a", "b"]),
        ("a\r\nb\r\n", ["a", "b"]),
        ("a\n\nb", ["a", "", "b"]),
        ("{\"n\":1}\n{\"n\":2}", ["{\"n\":1}", "{\"n\":2}"]),
        ("no line end", ["no line end"]),
        ("\n", [""]),
        ("", []),
        ("keeps\rinner\rreturns\n", ["keeps\rinner\rreturns"]),
    ])
    func linesDoNotDependOnWhereChunksEnd(input: String, expected: [String]) {
        let bytes = Array(input.utf8)
        for cut in 0...bytes.count {
            var splitter = LineSplitter()
            var lines = splitter.append(bytes[..<cut]) + splitter.append(bytes[cut...])
            if let last = splitter.finish() { lines.append(last) }
            #expect(lines.map { String(decoding: $0, as: UTF8.self) } == expected, "cut at \(cut)")
        }
    }

    @Test func byteByByteGivesTheSameLines() {
        var splitter = LineSplitter()
        var lines: [[UInt8]] = []
        for byte in "one\r\ntwo\nthree".utf8 { lines += splitter.append([byte]) }
        if let last = splitter.finish() { lines.append(last) }
        #expect(lines == [Array("one".utf8), Array("two".utf8), Array("three".utf8)])
    }

    @Test func lineSequenceReassemblesChunksAndPassesErrorsOn() async throws {
        struct Broken: Error {}
        let (chunks, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        for piece in ["{\"a\"", ":1}\n{", "\"b\":2}\n{\"c\""] { continuation.yield(Array(piece.utf8)) }
        continuation.finish(throwing: Broken())
        var lines: [String] = []
        await #expect(throws: Broken.self) {
            for try await line in AsyncLineSequence(chunks) { lines.append(String(decoding: line, as: UTF8.self)) }
        }
        #expect(lines == ["{\"a\":1}", "{\"b\":2}"])
    }
}

/// Lines read from inside an actor, as a watch loop in an actor would.
private actor LineCollector {
    var lines: [String] = []

    func collect(_ chunks: AsyncThrowingStream<[UInt8], any Error>) async throws {
        for try await line in AsyncLineSequence(chunks) { lines.append(String(decoding: line, as: UTF8.self)) }
    }
}

@Test func anActorCanReadLines() async throws {
    let (chunks, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
    continuation.yield(Array("a\nb".utf8))
    continuation.finish()
    let collector = LineCollector()
    try await collector.collect(chunks)
    #expect(await collector.lines == ["a", "b"])
}
