import Foundation
import Testing
import AutoTaintCore
@testable import KubeClient

/// `object` (from JSONSerialization) as a `JSONValue`, to compare it with what we encode.
private func jsonValue(_ object: Any?) throws -> JSONValue {
    guard let object else { return .null }
    let data = try JSONSerialization.data(withJSONObject: object, options: .fragmentsAllowed)
    return try JSONDecoder().decode(JSONValue.self, from: data)
}

private func encoded(_ value: some Encodable) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
}

/// The error `call` throws, nil when it succeeds.
private func failure<T>(_ call: () async throws(KubeError) -> T) async -> KubeError? {
    do {
        _ = try await call()
        return nil
    } catch {
        return error
    }
}

@Test func getReadsTheNode() async throws {
    try await withFakeAPI { fake in
        let node = try await fake.api().getNode("node-1")
        let stored = try await fake.storedNode()
        let metadata = stored["metadata"] as? [String: Any]
        #expect(node.name == "node-1")
        #expect(node.uid == metadata?["uid"] as? String)
        #expect(node.resourceVersion == metadata?["resourceVersion"] as? String)
        #expect(node.conditions.contains { $0.type == "Ready" && $0.status == "True" })
        let request = try await fake.requests().last
        #expect(request?["user_agent"] as? String == "autotaint/test")
    }
}

@Test func taintsAreReplacedAtTheResourceVersionRead() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        let node = try await api.getNode("node-1")
        let taints = [
            Taint(key: "foreign.example.com/a", value: nil, effect: "NoExecute", timeAdded: "2026-01-01T00:00:00Z"),
            Taint(key: "autotaint.dev/cpu-pressure", value: "true", effect: "NoSchedule"),
        ]
        let patched = try await api.patchTaints("node-1", taints, resourceVersion: node.resourceVersion)
        #expect(patched.taints == taints)
        #expect(patched.resourceVersion != node.resourceVersion)
        let stored = try await fake.storedNode()
        #expect(try jsonValue((stored["spec"] as? [String: Any])?["taints"]) == encoded(taints))

        let cleared = try await api.patchTaints("node-1", [], resourceVersion: patched.resourceVersion)
        #expect(cleared.taints.isEmpty)
        let request = try await fake.requests().last
        #expect(request?["content_type"] as? String == "application/strategic-merge-patch+json")
        #expect(try jsonValue(JSONSerialization.jsonObject(with: Data((request?["body"] as? String ?? "").utf8)))
            == encoded(TaintsPatch(taints: [], resourceVersion: patched.resourceVersion)))
    }
}

@Test func aStaleResourceVersionIsAConflict() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        let node = try await api.getNode("node-1")
        _ = try await fake.kubectl("taint", "node", "node-1", "other.example.com/x=y:NoSchedule")
        let error = await failure { () async throws(KubeError) in
            try await api.patchTaints("node-1", [Taint(key: "autotaint.dev/cpu", value: "true", effect: "NoSchedule")],
                                      resourceVersion: node.resourceVersion)
        }
        #expect(error?.kind == .conflict)
        #expect(error?.message.contains("the object has been modified") == true)
        let stored = try await fake.storedNode()
        #expect(try jsonValue((stored["spec"] as? [String: Any])?["taints"])
            == .array([.object(["key": .string("other.example.com/x"), "value": .string("y"), "effect": .string("NoSchedule")])]))
    }
}

@Test func aBadTaintIsInvalidAndSaysWhy() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        let node = try await api.getNode("node-1")
        let error = await failure { () async throws(KubeError) in
            try await api.patchTaints("node-1", [Taint(key: "bad key!", value: "true", effect: "NoSchedule")],
                                      resourceVersion: node.resourceVersion)
        }
        #expect(error?.kind == .invalid)
        #expect(error?.message.contains("spec.taints[0].key") == true)
        #expect(error?.message.contains("name part must consist of alphanumeric characters") == true)
    }
}

@Test func conditionsMergeByTypeAndLeaveReadyAlone() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        let before = try await fake.storedNode()
        let ready = ((before["status"] as? [String: Any])?["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == "Ready" }
        let first = NodeCondition(type: "CPUPressure", status: "True", reason: "CPUUsageHigh", message: "CPU 93% >= 80%",
                                  lastHeartbeatTime: "2026-01-01T00:00:00Z", lastTransitionTime: "2026-01-01T00:00:00Z")
        _ = try await api.patchConditions("node-1", [first])
        // A heartbeat names no transition time: the one stored stays.
        let heartbeat = NodeCondition(type: "CPUPressure", status: "True", reason: "CPUUsageHigh", message: "CPU 95% >= 80%",
                                      lastHeartbeatTime: "2026-01-01T00:05:00Z")
        let node = try await api.patchConditions("node-1", [heartbeat])
        var expected = heartbeat
        expected.lastTransitionTime = first.lastTransitionTime
        #expect(node.conditions.filter { $0.type == "CPUPressure" } == [expected])

        let after = try await fake.storedNode()
        let conditions = (after["status"] as? [String: Any])?["conditions"] as? [[String: Any]] ?? []
        #expect(try jsonValue(conditions.first { $0["type"] as? String == "Ready" }) == jsonValue(ready))
        #expect(conditions.count == 5)
        let request = try await fake.requests().last
        #expect(request?["path"] as? String == "/api/v1/nodes/node-1/status")
        #expect(request?["content_type"] as? String == "application/strategic-merge-patch+json")
    }
}

@Test func postedEventsAreListedByKubectl() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        let node = try await api.getNode("node-1")
        try await api.postEvent(NodeEvent(reason: "TaintAdded", message: "CPU 93% >= 80% for 30s (proc)"), about: node)
        try await api.postEvent(NodeEvent(reason: "TaintRemoved", message: "CPU back", kind: .warning), about: node)
        let listed = try JSONSerialization.jsonObject(with: Data(await fake.kubectl("get", "events", "-n", "default", "-o", "json").utf8))
        let items = (listed as? [String: Any])?["items"] as? [[String: Any]] ?? []
        #expect(items.count == 2)
        let event = try #require(items.first { $0["reason"] as? String == "TaintAdded" })
        let involved = event["involvedObject"] as? [String: Any]
        #expect(involved?["kind"] as? String == "Node")
        #expect(involved?["name"] as? String == "node-1")
        #expect(involved?["uid"] as? String == node.uid)
        #expect(involved?["apiVersion"] as? String == "v1")
        #expect(event["type"] as? String == "Normal")
        #expect(event["count"] as? Int == 1)
        #expect(event["reportingComponent"] as? String == "autotaint")
        #expect((event["source"] as? [String: Any])?["host"] as? String == "node-1")
        let name = (event["metadata"] as? [String: Any])?["name"] as? String ?? ""
        #expect(name.wholeMatch(of: /node-1\.[0-9a-f]+/) != nil)
        let timestamp = event["firstTimestamp"] as? String ?? ""
        #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil)
        #expect(event["lastTimestamp"] as? String == timestamp)
    }
}

@Test func throttlingCarriesRetryAfter() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        try await fake.fault(["method": "GET", "path": "/nodes/node-1$", "status": 429, "retry_after": 7])
        let error = await failure { () async throws(KubeError) in try await api.getNode("node-1") }
        #expect(error?.kind == .throttled)
        #expect(error?.retryAfter == .seconds(7))
    }
}

/// A 429 on the fleet guard's Lease PATCH holds back every request of the connection for
/// its Retry-After, a GET of the same Lease and a Node write included: none reaches the
/// server, each fails at once as throttled with the time left.
@Test func aRetryAfterHoldsBackEveryRequestOfTheConnection() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        try await fake.fault(["method": "PATCH", "path": "/leases/", "status": 429, "retry_after": 30])
        let throttled = await failure { () async throws(KubeError) in
            try await api.updateLease(namespace: "default", name: "autotaint-slot-0", resourceVersion: "1", labels: [:],
                                      LeaseSpec(holderIdentity: "node-1"))
        }
        #expect(throttled?.retryAfter == .seconds(30))
        let sent = try await fake.requests().count
        let lease = await failure { () async throws(KubeError) in try await api.lease(namespace: "default", name: "autotaint-slot-0") }
        let node = await failure { () async throws(KubeError) in try await api.getNode("node-1") }
        for error in [lease, node] {
            #expect(error?.kind == .throttled)
            #expect(error?.message.contains("not sent") == true)
            #expect(error.flatMap(\.retryAfter).map { $0 > .seconds(25) && $0 <= .seconds(30) } == true)
        }
        #expect(try await fake.requests().count == sent)
    }
}

@Test func aServerErrorIsOne() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        try await fake.fault(["method": "PATCH", "path": "/status$", "status": 500])
        let error = await failure { () async throws(KubeError) in try await api.patchConditions("node-1", [NodeCondition(type: "X", status: "True")]) }
        #expect(error?.kind == .serverError(500))
        #expect(error?.description.hasPrefix("PATCH nodes/node-1/status: ") == true)
    }
}

@Test func aGarbageBodyIsUndecodable() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        try await fake.fault(["method": "GET", "path": "/nodes/node-1$", "action": "garbage"])
        let error = await failure { () async throws(KubeError) in try await api.getNode("node-1") }
        #expect(error?.kind == .undecodable)
    }
}

@Test func aTruncatedBodyIsATransportError() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        try await fake.fault(["method": "GET", "path": "/nodes/node-1$", "action": "truncate"])
        let error = await failure { () async throws(KubeError) in try await api.getNode("node-1") }
        #expect(error?.kind == .transport)
    }
}

@Test func aHangPastTheTimeoutIsATransportError() async throws {
    try await withFakeAPI { fake in
        try await fake.fault(["method": "GET", "path": "/nodes/node-1$", "action": "hang", "seconds": 5])
        let api = try fake.api(settings: KubeAPISettings(requestTimeout: .seconds(1)))
        let started = ContinuousClock.now
        let error = await failure { () async throws(KubeError) in try await api.getNode("node-1") }
        #expect(error?.kind == .transport)
        #expect(error?.message.contains("curl error 28") == true)
        #expect(started.duration(to: .now) < .seconds(3))
    }
}

@Test func aRotatedTokenFileIsReadAgainAfter401() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api(kubeconfig: fake.kubeconfigWithTokenFile)
        _ = try await api.getNode("node-1")
        try await fake.admin(.post, "/tokens/rotate", [:])
        _ = try await api.getNode("node-1")
        let statuses = try await fake.requests().compactMap { $0["status"] as? Int }
        #expect(statuses == [200, 401, 200])
    }
}

@Test func aRotatedInlineTokenIsUnauthorizedAfterOneRequest() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        try await fake.admin(.post, "/tokens/rotate", [:])
        let error = await failure { () async throws(KubeError) in try await api.getNode("node-1") }
        #expect(error?.kind == .unauthorized)
        #expect(try await fake.requests().count == 1)
    }
}

@Test func aRefusedConnectionIsATransportError() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        // Down for longer than any stall of a busy machine between these two lines.
        try await fake.admin(.post, "/down", ["seconds": 120])
        let error = await failure { () async throws(KubeError) in try await api.getNode("node-1") }
        #expect(error?.kind == .transport)
        #expect(error?.message.contains("curl error 7") == true)
    }
}

/// What the fleet guard reads of its DaemonSet, from the fake's DaemonSet as kubectl shows it.
@Test func theDaemonSetCountsAreReadFromItsStatusAndSpec() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        let counts = try await api.daemonSetCounts(namespace: "default", daemonSet: "autotaint")
        #expect(counts == DaemonSetCounts(desired: 1, ready: 1, available: 1, updated: 1, generation: 1,
                                          observedGeneration: 1, rollingUpdate: true, maxUnavailable: .count(1),
                                          templateGeneration: 1))
        let missing = await failure { () async throws(KubeError) in
            try await api.daemonSetCounts(namespace: "default", daemonSet: "nope")
        }
        #expect(missing?.kind == .notFound)
        #expect(missing?.resource == "daemonsets/nope")
    }
}

/// A template change bumps the generation; a foreground deletion sets deletionTimestamp and
/// keeps the object, a background one removes it: what a stopping agent decides on.
@Test func theDaemonSetsGenerationAndDeletionAreRead() async throws {
    try await withFakeAPI { fake in
        let api = try fake.api()
        _ = try await fake.admin(.post, "/daemonsets", ["name": "autotaint", "image": "autotaint:0.2.0"])
        let updated = try await api.daemonSetCounts(namespace: "default", daemonSet: "autotaint")
        #expect((updated.generation, updated.templateGeneration, updated.deleting) == (2, 2, false))
        // Another part of the spec changed, not the template: only the generation moves.
        _ = try await fake.admin(.post, "/daemonsets", ["name": "autotaint", "generation": 3, "templateGeneration": 2])
        let edited = try await api.daemonSetCounts(namespace: "default", daemonSet: "autotaint")
        #expect((edited.generation, edited.templateGeneration) == (3, 2))
        _ = try await fake.admin(.delete, "/daemonsets?namespace=default&name=autotaint&propagation=Foreground")
        #expect(try await api.daemonSetCounts(namespace: "default", daemonSet: "autotaint").deleting)
        _ = try await fake.admin(.delete, "/daemonsets?namespace=default&name=autotaint")
        let gone = await failure { () async throws(KubeError) in
            try await api.daemonSetCounts(namespace: "default", daemonSet: "autotaint")
        }
        #expect(gone?.kind == .notFound)
    }
}

/// A DaemonSet mid-rollout as the API server serves it: a percentage maxUnavailable, and
/// the omitempty counts (numberAvailable, updatedNumberScheduled) absent at 0.
@Test func daemonSetFieldsDecodeAPercentageAndAbsentCounts() throws {
    let json = """
        {"metadata":{"name":"autotaint","generation":3},
         "spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"10%","maxSurge":0}}},
         "status":{"currentNumberScheduled":20,"numberMisscheduled":0,"desiredNumberScheduled":20,
                   "numberReady":0,"observedGeneration":3,"numberUnavailable":20}}
        """
    let fields = try JSONDecoder().decode(DaemonSetFleetFields.self, from: Data(json.utf8))
    #expect(fields.counts == DaemonSetCounts(desired: 20, ready: 0, available: 0, updated: 0, generation: 3,
                                             observedGeneration: 3, rollingUpdate: true, maxUnavailable: .percent(10)))
    let onDelete = try JSONDecoder().decode(DaemonSetFleetFields.self, from: Data(#"{"spec":{"updateStrategy":{"type":"OnDelete"}}}"#.utf8))
    #expect(onDelete.counts?.rollingUpdate == false)
    let nonsense = try JSONDecoder().decode(DaemonSetFleetFields.self, from: Data(
        #"{"spec":{"updateStrategy":{"rollingUpdate":{"maxUnavailable":"ten"}}}}"#.utf8))
    #expect(nonsense.counts == nil)
}
