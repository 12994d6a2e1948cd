import Testing
import CurlHTTP

@Suite struct ConnectionTests {
    @Test(arguments: [TestServer.Security.plain, .tls])
    func requestsReuseOneConnection(security: TestServer.Security) async throws {
        let pki = try await TestPKI.shared()
        try await withServer(security) { server in
            let client = try HTTPClient(options: HTTPClientOptions(tls: TLSOptions(certificateAuthority: .file(path: pki.caFile))))
            var connections: Set<String> = []
            for index in 0..<5 {
                let response = try await client.send(HTTPRequest(method: index % 2 == 0 ? .get : .patch, url: server.url + "/echo", body: index % 2 == 0 ? nil : [1]))
                connections.insert(response.headers["X-Connection"] ?? "none")
            }
            let stats = try Stats(try await client.send(HTTPRequest(url: server.url + "/stats")))
            #expect(connections == ["1"])
            #expect(stats.connections == 1)
        }
    }

    @Test func concurrentSendsAreSerialisedAndEachGetsItsOwnAnswer() async throws {
        try await withServer { server in
            let client = try HTTPClient()
            let answers = try await withThrowingTaskGroup(of: (Int, Echo).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let body = Array("request \(index)".utf8)
                        let response = try await client.send(HTTPRequest(method: .post, url: server.url + "/echo?i=\(index)", body: body))
                        return (index, try Echo(response))
                    }
                }
                var answers: [Int: Echo] = [:]
                for try await (index, echo) in group { answers[index] = echo }
                return answers
            }
            #expect(answers.count == 40)
            for (index, echo) in answers {
                #expect(echo.body == "request \(index)")
                #expect(echo.path == "/echo?i=\(index)")
            }
            let stats = try Stats(try await client.send(HTTPRequest(url: server.url + "/stats")))
            #expect(stats.connections == 1)
            #expect(stats.maxInFlight == 1)
        }
    }
}
