import Glibc
import HTTPEndpoint
import Synchronization
import Testing

@Suite struct HTTPEndpointTests {
    static let routes: [String: HTTPEndpoint.Route] = [
        "/hello": { .text(200, "hello") },
        "/busy": { HTTPEndpoint.Response(status: 503, contentType: "text/plain", body: Array("busy\n".utf8)) },
        "/big": { HTTPEndpoint.Response(status: 200, contentType: "application/octet-stream",
                                         body: Array(repeating: UInt8(ascii: "x"), count: 300_000)) },
    ]

    @Test func getOnPortZeroAnswersWithTheRoute() throws {
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        defer { endpoint.stop() }
        #expect(endpoint.port > 0)
        #expect(endpoint.boundAddress == "127.0.0.1:\(endpoint.port)")
        let answer = try RawHTTP.request("GET", "/hello", port: endpoint.port)
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(answer.body == "hello\n")
        let busy = try RawHTTP.request("GET", "/busy", port: endpoint.port)
        #expect(busy.status == 503)
        #expect(busy.body == "busy\n")
    }

    @Test func aQueryStringDoesNotChangeTheRoute() throws {
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        defer { endpoint.stop() }
        #expect(try RawHTTP.request("GET", "/hello?x=1", port: endpoint.port).status == 200)
    }

    @Test func unknownPathsGet404() throws {
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        defer { endpoint.stop() }
        let answer = try RawHTTP.request("GET", "/nope", port: endpoint.port)
        #expect(answer.status == 404)
        #expect(answer.body.contains("/nope"))
    }

    @Test(arguments: ["POST", "PUT", "DELETE", "PATCH"])
    func otherMethodsGet405(method: String) throws {
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        defer { endpoint.stop() }
        let answer = try RawHTTP.request(method, "/hello", port: endpoint.port, body: "a=1")
        #expect(answer.status == 405)
        #expect(answer.headers["allow"] == "GET, HEAD")
    }

    @Test func headGetsTheHeadersOnly() throws {
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        defer { endpoint.stop() }
        let answer = try RawHTTP.request("HEAD", "/hello", port: endpoint.port)
        #expect(answer.status == 200)
        #expect(answer.body.isEmpty)
    }

    @Test func aLargeBodyArrivesWhole() throws {
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        defer { endpoint.stop() }
        let answer = try RawHTTP.request("GET", "/big", port: endpoint.port)
        #expect(answer.status == 200)
        #expect(answer.body.utf8.count == 300_000)
    }

    @Test func concurrentRequestsAreAllAnswered() async throws {
        let calls = Atomic<Int>(0)
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: [
            "/count": {
                let n = calls.add(1, ordering: .relaxed).newValue
                return .text(200, "call \(n)")
            },
        ])
        defer { endpoint.stop() }
        let port = endpoint.port
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask { try RawHTTP.request("GET", "/count", port: port).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.count == 50)
        #expect(statuses.allSatisfy { $0 == 200 })
        #expect(calls.load(ordering: .relaxed) == 50)
    }

    @Test func aPortInUseIsReportedAsSuch() throws {
        let first = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        defer { first.stop() }
        #expect {
            _ = try HTTPEndpoint(address: "127.0.0.1:\(first.port)", routes: Self.routes)
        } throws: { error in
            (error as? HTTPEndpointError)?.addressInUse == true
        }
    }

    @Test func stopClosesTheListenerAndFreesThePort() throws {
        let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: Self.routes)
        let port = endpoint.port
        endpoint.stop()
        endpoint.stop()  // idempotent
        // Refused: an open listening socket would still accept into its backlog.
        #expect(throws: RawHTTP.Failure.self) { try RawHTTP.request("GET", "/hello", port: port) }
        let again = try HTTPEndpoint(address: "127.0.0.1:\(port)", routes: Self.routes)
        again.stop()
    }

    @Test func startingAndStoppingManyTimesLeaksNoDescriptor() async {
        // In a child process of its own (an exit test): in this one, other tests open and
        // close descriptors in parallel, so only there can the count be exact.
        await #expect(processExitsWith: .success) {
            let before = HTTPEndpointTests.openDescriptors()
            for _ in 0..<100 {
                let endpoint = try HTTPEndpoint(address: "127.0.0.1:0", routes: HTTPEndpointTests.routes)
                _ = try RawHTTP.request("GET", "/hello", port: endpoint.port)
                endpoint.stop()
            }
            // A few for what the first cycle sets up once (libmicrohttpd, the resolver).
            if HTTPEndpointTests.openDescriptors() > before + 5 { exit(1) }
        }
    }

    @Test func ipv6LoopbackInBrackets() throws {
        // Skipped where the machine has no IPv6 loopback.
        guard let endpoint = try? HTTPEndpoint(address: "[::1]:0", routes: Self.routes) else { return }
        defer { endpoint.stop() }
        #expect(endpoint.boundAddress == "[::1]:\(endpoint.port)")
        #expect(try RawHTTP.request("GET", "/hello", port: endpoint.port, host: "::1").status == 200)
    }

    @Test func anEmptyHostListensOnAllInterfaces() throws {
        let endpoint = try HTTPEndpoint(address: ":0", routes: Self.routes)
        defer { endpoint.stop() }
        #expect(try RawHTTP.request("GET", "/hello", port: endpoint.port).status == 200)
    }

    @Test(arguments: ["9469", "::1:80", "[::1:80", "host:99999", "host:x", "[]:80"])
    func badAddressesAreRejected(address: String) {
        #expect(throws: HTTPEndpointError.self) { _ = try HTTPEndpoint(address: address, routes: Self.routes) }
    }

    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count
    }
}

/// A blocking HTTP/1.1 client over a plain socket: one request with `Connection: close`,
/// the answer read to EOF. Enough to test the server without any HTTP library.
enum RawHTTP {
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    struct Failure: Error { var what: String }

    /// `connect(2)` to a `sockaddr_in` or `sockaddr_in6`.
    private static func connectSocket<Address>(_ descriptor: Int32, to address: inout Address) -> Int32 {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
    }

    static func request(_ method: String, _ path: String, port: Int, host: String = "127.0.0.1",
                        body: String? = nil) throws -> Answer {
        let v6 = host.contains(":")
        let descriptor = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(what: "socket") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            connected = connectSocket(descriptor, to: &address)
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            connected = connectSocket(descriptor, to: &address)
        }
        guard connected == 0 else { throw Failure(what: "connect: errno \(errno)") }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        if let body { text += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw Failure(what: "send")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else {
                if errno == ECONNRESET, !received.isEmpty { break }
                throw Failure(what: "recv: errno \(errno)")
            }
            received += buffer[..<count]
        }
        return try parse(received)
    }

    static func parse(_ bytes: [UInt8]) throws -> Answer {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.firstRange(of: "\r\n\r\n") else { throw Failure(what: "no header end in \(text)") }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(what: "bad status line") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        var body = String(text[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return Answer(status: status, headers: headers, body: body)
    }

    static func dechunk(_ text: String) -> String {
        var rest = Substring(text)
        var out = ""
        while let lineEnd = rest.firstRange(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = rest.utf8.index(lineEnd.upperBound, offsetBy: 0)
            let end = rest.utf8.index(start, offsetBy: size)
            out += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return out
    }
}
