import Foundation
import Testing
import CurlHTTP

@Suite struct RequestTests {
    @Test func getSendsHeadersAndReturnsTheBody() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let response = try await client.send(HTTPRequest(
                url: server.url + "/echo?watch=false",
                headers: ["Authorization": "Bearer t0ken", "Accept": "application/json"]
            ))
            #expect(response.status == 200)
            #expect(response.headers.contentType == "application/json")
            let echo = try Echo(response)
            #expect(echo.method == "GET")
            #expect(echo.path == "/echo?watch=false")
            #expect(echo.headers["authorization"] == "Bearer t0ken")
            #expect(echo.headers["accept"] == "application/json")
            #expect(echo.body == "")
        }
    }

    @Test func patchSendsItsBodyAndContentType() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let body = #"{"metadata":{"resourceVersion":"12"},"spec":{"taints":[]}}"#
            let response = try await client.send(HTTPRequest(
                method: .patch, url: server.url + "/echo",
                headers: ["Content-Type": "application/strategic-merge-patch+json"],
                body: Array(body.utf8)
            ))
            let echo = try Echo(response)
            #expect(echo.method == "PATCH")
            #expect(echo.body == body)
            #expect(echo.headers["content-type"] == "application/strategic-merge-patch+json")
            #expect(echo.headers["content-length"] == "\(body.utf8.count)")
        }
    }

    /// Each method arrives as itself, with exactly the body given and no invented Content-Type.
    @Test(arguments: [
        (HTTPMethod.get, nil as String?), (.post, "{}"), (.post, nil), (.put, "x\u{0}y"), (.patch, nil),
        (.delete, nil), (.delete, #"{"kind":"DeleteOptions"}"#),
    ])
    func methodsAndBodies(method: HTTPMethod, body: String?) async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let echo = try Echo(try await client.send(HTTPRequest(
                method: method, url: server.url + "/echo", body: body.map { Array($0.utf8) }
            )))
            #expect(echo.method == method.rawValue)
            #expect(echo.body == body ?? "")
            #expect(echo.headers["content-type"] == nil)
        }
    }

    @Test func errorStatusesAreResponsesWithRetryAfter() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            for status in [429, 503, 409] {
                let response = try await client.send(HTTPRequest(url: server.url + "/status/\(status)"))
                #expect(response.status == status)
                #expect(response.headers.retryAfterSeconds == 7)
                #expect(String(decoding: response.body, as: UTF8.self) == #"{"kind": "Status"}"#)
            }
        }
    }

    /// A refusal whose transfer then broke (an HTTP/2 server answering before it reads the
    /// body, then resetting the stream; here the connection drops halfway through the body)
    /// is still that refusal: a 401 must re-read the token, a 429 honour `Retry-After`.
    @Test(arguments: [401, 403, 409, 429])
    func aStatusThatArrivedWinsOverTheBrokenTransfer(status: Int) async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let response = try await client.send(HTTPRequest(
                method: .patch, url: server.url + "/status/\(status)/cut", body: Array(#"{"spec":{}}"#.utf8)))
            #expect(response.status == status)
            #expect(response.headers.retryAfterSeconds == 7)
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"kind": "#)
        }
    }

    /// A 2xx cut short is no answer: the caller needs its whole body.
    @Test func aSuccessCutShortIsATransportFailure() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: server.url + "/status/200/cut"))
            }
            #expect(error?.kind == .connectionLost)
        }
    }

    @Test func refusedConnectionIsCouldNotConnect() async throws {
        let refusing = try RefusingPort()
        let client = try HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            try await client.send(HTTPRequest(url: "http://127.0.0.1:\(refusing.port)/"))
        }
        #expect(error?.kind == .couldNotConnect)
        #expect(error?.code == 7)
        #expect(error?.context == "GET http://127.0.0.1:\(refusing.port)/")
        #expect(error?.message.isEmpty == false)
    }

    @Test func totalTimeoutEndsARequestTheServerNeverAnswers() async throws {
        try await withServer { server in
            let client = try HTTPClient(options: HTTPClientOptions(timeout: .seconds(10)))
            let start = ContinuousClock.now
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: server.url + "/hang", timeout: .milliseconds(300)))
            }
            let elapsed = ContinuousClock.now - start
            #expect(error?.kind == .timedOut)
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(3), "took \(elapsed)")
        }
    }

    @Test func cancellingASendAbortsItsTransferAtOnce() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let hanging = Task { try await client.send(HTTPRequest(url: server.url + "/hang")) }
            try await Task.sleep(for: .milliseconds(300))
            let start = ContinuousClock.now
            hanging.cancel()
            await #expect(throws: CancellationError.self) { try await hanging.value }
            // The client's one handle is free again: the next request is not stuck behind /hang.
            let response = try await client.send(HTTPRequest(url: server.url + "/echo"))
            let elapsed = ContinuousClock.now - start
            #expect(response.status == 200)
            // /hang never answers and the client waits 30 s by default: well under that means
            // the transfer was aborted (how fast is the benchmark's business, not a test's).
            #expect(elapsed < .seconds(5), "took \(elapsed)")
        }
    }

    @Test func headersWithLineBreaksAreRefused() async throws {
        let client = try HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            try await client.send(HTTPRequest(url: "http://127.0.0.1:1/", headers: ["Authorization": "Bearer x\nX-Injected: 1"]))
        }
        #expect(error?.kind == .other)
    }
}
