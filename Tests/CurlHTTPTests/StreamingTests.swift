import Foundation
import Testing
import CurlHTTP

@Suite struct StreamingTests {
    private func text(_ lines: [[UInt8]]) -> [String] {
        lines.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func linesSplitAcrossChunksComeOutWhole() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let response = try await client.stream(HTTPRequest(url: server.url + "/stream"))
            #expect(response.status == 200)
            #expect(response.headers.contentType == "application/json")
            var lines: [[UInt8]] = []
            for try await line in response.lines { lines.append(line) }
            #expect(text(lines) == [#"{"n":1}"#, #"{"n":2}"#, #"{"n":3}"#, "", #"{"n":4}"#, #"{"n":5}"#])
        }
    }

    @Test func aFailedWatchHasItsStatusBeforeItsBody() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let response = try await client.stream(HTTPRequest(url: server.url + "/stream/410"))
            #expect(response.status == 410)
            var body: [UInt8] = []
            for try await chunk in response.body { body += chunk }
            #expect(String(decoding: body, as: UTF8.self) == #"{"kind":"Status","code":410,"reason":"Expired"}"#)
        }
    }

    /// The reader is cancelled while the connection is idle; the transfer must end too,
    /// which shows as the client's stream handle being free for the next stream at once.
    @Test func cancellingTheReaderAbortsTheTransferAtOnce() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let response = try await client.stream(HTTPRequest(url: server.url + "/stream/forever"))
            let (firstLine, gotFirstLine) = AsyncStream<Void>.makeStream()
            let reader = Task {
                for try await _ in response.lines { gotFirstLine.yield() }
            }
            for await _ in firstLine { break }
            try await Task.sleep(for: .milliseconds(300))  // let the connection go idle
            let start = ContinuousClock.now
            reader.cancel()
            _ = await reader.result
            let next = try await client.stream(HTTPRequest(url: server.url + "/stream/410"))
            let elapsed = ContinuousClock.now - start
            #expect(next.status == 410)
            #expect(elapsed < .seconds(5), "took \(elapsed)")  // the stream never ends by itself: aborted
        }
    }

    @Test func droppingAStreamUnreadAbortsTheTransfer() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            var response: StreamingResponse? = try await client.stream(HTTPRequest(url: server.url + "/stream/forever"))
            #expect(response?.status == 200)
            try await Task.sleep(for: .milliseconds(300))
            let start = ContinuousClock.now
            response = nil
            let next = try await client.stream(HTTPRequest(url: server.url + "/stream/410"))
            let elapsed = ContinuousClock.now - start
            #expect(next.status == 410)
            #expect(elapsed < .seconds(5), "took \(elapsed)")  // the stream never ends by itself: aborted
        }
    }

    @Test func cancellingBeforeTheHeadArrivesEndsTheCall() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let opening = Task { try await client.stream(HTTPRequest(url: server.url + "/hang")) }
            try await Task.sleep(for: .milliseconds(300))
            let start = ContinuousClock.now
            opening.cancel()
            await #expect(throws: CancellationError.self) { try await opening.value }
            #expect(ContinuousClock.now - start < .seconds(5))  // /hang never answers: aborted
        }
    }

    @Test func theTotalTimeoutEndsTheBody() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let start = ContinuousClock.now
            let response = try await client.stream(HTTPRequest(url: server.url + "/stream/forever", timeout: .milliseconds(700)))
            var lines: [[UInt8]] = []
            let error = await #expect(throws: CurlError.self) {
                for try await line in response.lines { lines.append(line) }
            }
            let elapsed = ContinuousClock.now - start
            #expect(error?.kind == .timedOut)
            #expect(text(lines) == [#"{"n":1}"#])
            #expect(elapsed >= .milliseconds(700) && elapsed < .seconds(3), "took \(elapsed)")
        }
    }

    @Test func aStreamDoesNotHoldUpRequests() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let watch = try await client.stream(HTTPRequest(url: server.url + "/stream/forever"))
            let response = try await client.send(HTTPRequest(url: server.url + "/echo"))
            #expect(watch.status == 200)
            #expect(response.status == 200)
            #expect(response.headers["X-Connection"] != watch.headers["X-Connection"])
        }
    }

    @Test func aStreamWithoutAServerFailsBeforeItsHead() async throws {
        let refusing = try RefusingPort()
        let client = try HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            try await client.stream(HTTPRequest(url: "http://127.0.0.1:\(refusing.port)/watch"))
        }
        #expect(error?.kind == .couldNotConnect)
    }
}
