import Foundation
import Synchronization
import Testing
@testable import KubeClient

/// Keeps what `nodeUpdates` yields, read in a task of its own, for polling.
private final class UpdateRecorder: Sendable {
    private let nodes = Mutex<[Node]>([])
    private let ended = Mutex(false)

    /// The task reading `updates`; cancel it to stop watching.
    func record(_ updates: AsyncStream<Node>) -> Task<Void, Never> {
        Task {
            for await node in updates { nodes.withLock { $0.append(node) } }
            ended.withLock { $0 = true }
        }
    }

    var received: [Node] { nodes.withLock { $0 } }
    var hasEnded: Bool { ended.withLock { $0 } }

    func saw(_ condition: (Node) -> Bool) -> Bool { received.contains(where: condition) }
}

/// A log closure that keeps its lines.
private final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var closure: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

private let quick = KubeAPISettings(initialBackoff: .milliseconds(200), maximumBackoff: .seconds(1))

private func watchRequests(_ fake: FakeAPIServer) async throws -> [[String: Any]] {
    try await fake.requests().filter { ($0["params"] as? [String: Any])?["watch"] as? String == "true" }
}

/// How often the agent (not kubectl) has read the node: the LIST by name a watch starts from.
private func nodeReads(_ fake: FakeAPIServer) async throws -> Int {
    try await fake.requests().filter {
        let params = $0["params"] as? [String: Any]
        return $0["user_agent"] as? String == "autotaint/test" && $0["method"] as? String == "GET"
            && $0["path"] as? String == "/api/v1/nodes" && params?["watch"] == nil
            && params?["fieldSelector"] as? String == "metadata.name=node-1"
    }.count
}

@Test func updatesFollowTheNodeThroughCompactionAndOutages() async throws {
    try await withFakeAPI { fake in
        let log = LogLines()
        let api = try fake.api(settings: quick, log: log.closure)
        let recorder = UpdateRecorder()
        let reading = recorder.record(api.nodeUpdates("node-1"))
        defer { reading.cancel() }

        #expect(await eventually { recorder.received.count == 1 })
        #expect(try await eventually { try await watchRequests(fake).count == 1 })
        let watch = try #require(try await watchRequests(fake).first)
        let params = watch["params"] as? [String: Any]
        #expect(params?["fieldSelector"] as? String == "metadata.name=node-1")
        #expect(params?["allowWatchBookmarks"] as? String == "true")
        // From the LIST's resourceVersion, the server's current one: never older than the Node's.
        let from = (params?["resourceVersion"] as? String).flatMap { Int($0) }
        let nodeVersion = recorder.received.first.flatMap { Int($0.resourceVersion) }
        #expect(from != nil && nodeVersion != nil && from! >= nodeVersion!)
        #expect(try await nodeReads(fake) == 1)

        _ = try await fake.kubectl("taint", "node", "node-1", "one.example.com/a=b:NoSchedule")
        #expect(await eventually { recorder.saw { $0.taints.contains { $0.key == "one.example.com/a" } } })

        // 410: while the watch cannot reconnect (503s), the node changes and the history is
        // compacted; the watch's resourceVersion is then too old and the node is read again.
        try await fake.fault(["method": "GET", "path": "^/api/v1/nodes$", "status": 503, "count": NSNull()])
        try await fake.admin(.post, "/down", ["seconds": 0.3])
        try await Task.sleep(for: .seconds(1))
        _ = try await fake.kubectl("taint", "node", "node-1", "two.example.com/a=b:NoSchedule")
        try await fake.admin(.post, "/compact")
        try await fake.admin(.delete, "/faults")
        #expect(await eventually { log.all.contains { $0.contains("expired") } })
        #expect(try await eventually {
            try await nodeReads(fake) == 2
        })
        #expect(await eventually { recorder.saw { $0.taints.contains { $0.key == "two.example.com/a" } } })

        // Unreachable for 2 s: the watch breaks, reconnects with backoff, misses nothing.
        try await fake.admin(.post, "/down", ["seconds": 2])
        try await Task.sleep(for: .milliseconds(2500))
        _ = try await fake.kubectl("taint", "node", "node-1", "three.example.com/a=b:NoSchedule")
        #expect(await eventually(within: .seconds(15)) { recorder.saw { $0.taints.contains { $0.key == "three.example.com/a" } } })
        #expect(log.all.contains { $0.contains("the watch of node node-1 failed") && $0.contains("(curl error 7)") })

        // Cancelled: the stream ends and so does the watch at the server: over HTTP/1.1 its
        // connection closes, over HTTP/2 its stream is reset (the connection may stay).
        #expect(try await fake.openWatches() == 1)
        reading.cancel()
        #expect(await eventually(within: .seconds(2)) { recorder.hasEnded })
        #expect(try await eventually(within: .seconds(3)) { try await fake.openWatches() == 0 })
        #expect(!log.all.contains { $0.contains("cancelled") })
    }
}

@Test func aWatchTheServerClosesIsRenewedFromTheLastResourceVersion() async throws {
    try await withFakeAPI { fake in
        try await fake.admin(.post, "/bookmark-interval", ["seconds": 0.5])
        var settings = quick
        settings.watchTimeout = .seconds(2)
        let api = try fake.api(settings: settings)
        let recorder = UpdateRecorder()
        let reading = recorder.record(api.nodeUpdates("node-1"))
        defer { reading.cancel() }

        #expect(try await eventually { try await watchRequests(fake).count >= 3 })
        let watches = try await watchRequests(fake)
        let versions = watches.compactMap { ($0["params"] as? [String: Any])?["resourceVersion"] as? String }
        #expect(versions.count == watches.count)
        // Only the first request reads the node; every later one resumes where the last ended.
        #expect(try await nodeReads(fake) == 1)
        _ = try await fake.kubectl("taint", "node", "node-1", "late.example.com/a=b:NoSchedule")
        #expect(await eventually { recorder.saw { $0.taints.contains { $0.key == "late.example.com/a" } } })
    }
}

@Test func failuresBackOffInsteadOfSpinning() async throws {
    try await withFakeAPI { fake in
        let log = LogLines()
        let api = try fake.api(settings: quick, log: log.closure)
        try await fake.fault(["method": "GET", "path": "/api/v1/nodes", "status": 500, "count": NSNull()])
        let recorder = UpdateRecorder()
        let reading = recorder.record(api.nodeUpdates("node-1"))
        defer { reading.cancel() }
        #expect(try await eventually { try await fake.requests().count >= 5 })
        // 200 ms doubling to 1 s, each wait at least a tenth of its period (the whole
        // period's jitter): a lower bound only, so a slow machine cannot fail this, and a
        // loop that spins always does.
        let starts = try await fake.requests().prefix(5).compactMap { $0["time"] as? Double }
        #expect(starts.count == 5)
        #expect(starts.last! - starts.first! >= 0.1 * (0.2 + 0.4 + 0.8 + 1.0) - 0.02, "\(starts)")
        #expect(recorder.received.isEmpty)
        #expect(log.all.first?.contains("cannot read node node-1") == true)
        try await fake.admin(.delete, "/faults")
        #expect(await eventually { recorder.received.count == 1 })
    }
}

@Test func aGarbledWatchIsLoggedAndResumed() async throws {
    try await withFakeAPI { fake in
        let log = LogLines()
        let api = try fake.api(settings: quick, log: log.closure)
        let recorder = UpdateRecorder()
        let reading = recorder.record(api.nodeUpdates("node-1"))
        defer { reading.cancel() }
        // The LIST the watch starts from shares the path: the fault goes in once it watches,
        // and a dropped connection makes the next request a resumed watch.
        #expect(try await eventually { try await watchRequests(fake).count == 1 })
        try await fake.fault(["method": "GET", "path": "^/api/v1/nodes$", "action": "garbage"])
        try await fake.admin(.post, "/down", ["seconds": 0.3])
        #expect(await eventually { log.all.contains { $0.contains("WATCH nodes/node-1: the response is not a valid object") } })
        #expect(try await eventually { try await watchRequests(fake).count == 3 })
        _ = try await fake.kubectl("taint", "node", "node-1", "after.example.com/a=b:NoSchedule")
        #expect(await eventually { recorder.saw { $0.taints.contains { $0.key == "after.example.com/a" } } })
    }
}
