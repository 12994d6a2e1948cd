import AutoTaintCore
import Testing
import CurlHTTP
import Foundation
import Glibc
@testable import KubeClient

/// `Tests/e2e/fakeapi` running as a child process on 127.0.0.1 with one node, `node-1`,
/// for one test: its state directory, its admin interface and kubectl against it.
final class FakeAPIServer: @unchecked Sendable {
    // @unchecked: `process` is touched only by init and stop, which a test calls once.
    let stateDirectory: String
    let url: String
    let port: Int
    let adminURL: String
    private let process: Process
    private let admin: HTTPClient

    var kubeconfig: String { stateDirectory + "/kubeconfig" }
    var kubeconfigWithTokenFile: String { stateDirectory + "/kubeconfig-tokenfile" }

    /// Starts the server and waits (at most 15 s) until it has written its state.
    init() async throws {
        let e2e = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("e2e")
        stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("fakeapi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "fakeapi", "--port", "0", "--admin-port", "0",
                             "--state-dir", stateDirectory, "--node", "node-1"]
        process.currentDirectoryURL = e2e
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var state: [String: Any]?
        for _ in 0..<300 where state == nil {
            if let data = FileManager.default.contents(atPath: stateDirectory + "/server.json") {
                state = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            }
            if state == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let state, let url = state["url"] as? String, let port = state["port"] as? Int,
              let adminURL = state["admin_url"] as? String
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw FakeAPIError("fakeapi did not start within 15 s")
        }
        self.url = url
        self.port = port
        self.adminURL = adminURL
        admin = try HTTPClient(options: HTTPClientOptions(timeout: .seconds(10)))
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    /// A `KubeAPI` for the fake, reading `kubeconfig` (the inline-token one by default).
    func api(kubeconfig: String? = nil, settings: KubeAPISettings = KubeAPISettings(),
             log: @escaping @Sendable (String) -> Void = { _ in }) throws -> KubeAPI {
        let credentials = try #require(try KubeCredentials.resolve(kubeconfig: kubeconfig ?? self.kubeconfig, environment: [:]))
        return try KubeAPI(credentials: credentials, version: "test", settings: settings, log: log)
    }

    /// Calls the admin interface; the JSON answer.
    @discardableResult
    func admin(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> Any {
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) }
        let response = try await admin.send(HTTPRequest(
            method: method, url: adminURL + path, headers: ["Content-Type": "application/json"], body: bytes
        ))
        guard response.status == 200 else {
            throw FakeAPIError("admin \(path): HTTP \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: Data(response.body))
    }

    /// Makes the next `count` requests matching `method` and the path regex `path` fail as
    /// the admin interface's `/faults` describes.
    func fault(_ spec: [String: Any]) async throws {
        try await admin(.post, "/faults", spec)
    }

    /// The node as the fake stores it.
    func storedNode() async throws -> [String: Any] {
        try await admin(.get, "/nodes/node-1") as? [String: Any] ?? [:]
    }

    /// How many watches the fake is serving now.
    func openWatches() async throws -> Int {
        (try await admin(.get, "/watches") as? [String: Any])?["open"] as? Int ?? -1
    }

    /// The request log, oldest first, without the foreign writer's.
    func requests() async throws -> [[String: Any]] {
        try await admin(.get, "/requests") as? [[String: Any]] ?? []
    }

    /// kubectl against the fake (at most 30 s); its standard output.
    ///
    /// Waits for kubectl on a thread of its own: blocking one of Swift's cooperative threads
    /// (two on a 2-core machine) for a whole kubectl run stalls every other test's tasks,
    /// e.g. a retry loop's sleeps then end seconds late.
    func kubectl(_ arguments: String...) async throws -> String {
        let command = ["--kubeconfig", kubeconfig, "--cache-dir", stateDirectory + "/kubectl-cache",
                       "--request-timeout", "20s"] + arguments
        return try await onOwnThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
            process.arguments = command
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw FakeAPIError("kubectl \(arguments) exited with \(process.terminationStatus)") }
            return String(decoding: data, as: UTF8.self)
        }
    }
}

struct FakeAPIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking `work` on a new thread and waits for it without holding a cooperative thread.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result(catching: work)) }.start()
    }
}

/// Runs `body` with a fresh fake API server and stops the server afterwards, whatever happens.
func withFakeAPI<T>(_ body: (FakeAPIServer) async throws -> T) async throws -> T {
    let server = try await FakeAPIServer()
    defer { server.stop() }
    return try await body(server)
}

/// Polls `condition` every 50 ms until it holds or `limit` has passed; whether it held.
func eventually(within limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
