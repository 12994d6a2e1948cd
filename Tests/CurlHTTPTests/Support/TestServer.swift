import Foundation
import Glibc

/// `Fixtures/server.py` running as a child process on 127.0.0.1, for one test.
final class TestServer: Sendable {
    enum Security {
        case plain
        case tls
        case tlsRequiringClientCertificate
    }

    let url: String
    private let process: Process

    /// Starts the server and waits (at most 10 s) until it listens.
    init(_ security: Security = .plain) async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/server.py").path
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("curlhttp-port-\(UUID().uuidString)").path
        var arguments = [script, portFile]
        if security != .plain {
            let pki = try await TestPKI.shared()
            arguments += ["--cert", pki.serverCertificate, "--key", pki.serverKey]
            if security == .tlsRequiringClientCertificate { arguments += ["--client-ca", pki.caFile] }
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        try process.run()
        var port: String?
        for _ in 0..<500 where port == nil {
            port = try? String(contentsOfFile: portFile, encoding: .utf8)
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        try? FileManager.default.removeItem(atPath: portFile)
        guard let port else {
            process.terminate()
            throw TestSetupError("server.py did not start within 10 s")
        }
        url = "\(security == .plain ? "http" : "https")://127.0.0.1:\(port)"
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Runs `body` with a fresh server and stops the server afterwards, whatever happens.
@discardableResult
func withServer<T>(_ security: TestServer.Security = .plain, _ body: (TestServer) async throws -> T) async throws -> T {
    let server = try await TestServer(security)
    defer { server.stop() }
    return try await body(server)
}

/// A port on 127.0.0.1 that refuses connections: bound, never listening, kept until `close`.
struct RefusingPort: ~Copyable {
    let port: Int
    private let socket: Int32

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            if fd >= 0 { close(fd) }
            throw TestSetupError("cannot bind a port")
        }
        socket = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }
}
