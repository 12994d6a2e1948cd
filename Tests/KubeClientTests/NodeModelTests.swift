import Foundation
import Testing
@testable import KubeClient

/// The JSON a decoded-then-encoded value stands for, compared as JSON values so member
/// order and escaping do not matter.
private func json(_ bytes: some DataProtocol) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
}

private func encoded(_ value: some Encodable) throws -> JSONValue {
    try json(JSONEncoder().encode(value))
}

@Test func taintWithoutValueReadsAsEmpty() {
    #expect(Taint(key: "k", value: nil, effect: "NoSchedule").value == "")
}

@Test(arguments: [
    #"{"key":"example.com/gpu","value":"a","effect":"NoExecute","timeAdded":"2026-01-02T03:04:05Z","futureField":{"x":[1,2.5,null,true]},"other":"s"}"#,
    #"{"key":"k","effect":"NoSchedule"}"#,
    #"{"key":"k","value":"","effect":"PreferNoSchedule"}"#,
])
func taintSurvivesARoundTrip(text: String) throws {
    let taint = try JSONDecoder().decode(Taint.self, from: Data(text.utf8))
    #expect(try encoded(taint) == json(Data(text.utf8)))
}

@Test func taintKeepsUnknownFieldsAndTimeAdded() throws {
    let text = #"{"key":"k","value":"v","effect":"NoExecute","timeAdded":"2026-01-02T03:04:05Z","x":7}"#
    let taint = try JSONDecoder().decode(Taint.self, from: Data(text.utf8))
    #expect(taint == Taint(key: "k", value: "v", effect: "NoExecute", timeAdded: "2026-01-02T03:04:05Z",
                           otherFields: ["x": .integer(7)]))
}

@Test func taintWithoutValueIsEncodedWithoutOne() throws {
    #expect(try encoded(Taint(key: "k", value: nil, effect: "NoSchedule"))
        == .object(["key": .string("k"), "effect": .string("NoSchedule")]))
}

@Test func conditionOmitsNilFields() throws {
    let condition = NodeCondition(type: "CPUPressure", status: "True", reason: "CPUUsageHigh")
    #expect(try encoded(condition)
        == .object(["type": .string("CPUPressure"), "status": .string("True"), "reason": .string("CPUUsageHigh")]))
}

@Test func nodeDecodesWhatTheAgentReads() throws {
    let text = """
        {"kind":"Node","apiVersion":"v1",
         "metadata":{"name":"n1","uid":"u-1","resourceVersion":"42","annotations":{"a":"b"},"labels":{"x":"y"}},
         "spec":{"podCIDR":"10.0.0.0/24","taints":[{"key":"k","value":"v","effect":"NoSchedule"}]},
         "status":{"capacity":{"cpu":"4"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady",
           "message":"ok","lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}
        """
    let node = try JSONDecoder().decode(Node.self, from: Data(text.utf8))
    #expect(node == Node(
        name: "n1", uid: "u-1", resourceVersion: "42", annotations: ["a": "b"],
        taints: [Taint(key: "k", value: "v", effect: "NoSchedule")],
        conditions: [NodeCondition(type: "Ready", status: "True", reason: "KubeletReady", message: "ok",
                                   lastHeartbeatTime: "2026-01-01T00:00:00Z", lastTransitionTime: "2026-01-01T00:00:00Z")]
    ))
}

@Test func nodeWithoutListsHasEmptyOnes() throws {
    let text = #"{"metadata":{"name":"n1","uid":"u","resourceVersion":"1"},"spec":{}}"#
    #expect(try JSONDecoder().decode(Node.self, from: Data(text.utf8)) == Node(name: "n1", uid: "u", resourceVersion: "1"))
}

@Test func nodeWithoutResourceVersionIsRefused() {
    #expect(throws: DecodingError.self) {
        try JSONDecoder().decode(Node.self, from: Data(#"{"metadata":{"name":"n1","uid":"u"}}"#.utf8))
    }
}

@Test func taintsPatchCarriesTheResourceVersionAndAnEmptyList() throws {
    #expect(try encoded(TaintsPatch(taints: [], resourceVersion: "7"))
        == .object(["metadata": .object(["resourceVersion": .string("7")]), "spec": .object(["taints": .array([])])]))
}

@Test func conditionsPatchGoesUnderStatus() throws {
    let patch = ConditionsPatch(conditions: [NodeCondition(type: "CPUPressure", status: "False")])
    #expect(try encoded(patch) == json(Data(#"{"status":{"conditions":[{"type":"CPUPressure","status":"False"}]}}"#.utf8)))
}
