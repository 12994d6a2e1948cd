import Foundation
import Glibc
import Testing
@testable import KubeClient

@Test func eventIsAboutTheNodeAndNamedLikeClientGo() throws {
    let time = timespec(tv_sec: 1_767_225_600, tv_nsec: 123_456_789)  // 2026-01-01T00:00:00Z
    let body = EventBody(NodeEvent(reason: "TaintAdded", message: "CPU high", kind: .warning),
                         about: Node(name: "node-1", uid: "u-1", resourceVersion: "5"), at: time)
    let json = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(body))
    let expected = """
        {"apiVersion":"v1","kind":"Event","metadata":{"name":"node-1.\(String(1_767_225_600_123_456_789, radix: 16))","namespace":"default"},
         "involvedObject":{"kind":"Node","name":"node-1","uid":"u-1","apiVersion":"v1","namespace":""},
         "reason":"TaintAdded","message":"CPU high","type":"Warning","source":{"component":"autotaint","host":"node-1"},
         "firstTimestamp":"2026-01-01T00:00:00Z","lastTimestamp":"2026-01-01T00:00:00Z","count":1,
         "reportingComponent":"autotaint","reportingInstance":"node-1"}
        """
    #expect(json == (try JSONDecoder().decode(JSONValue.self, from: Data(expected.utf8))))
}

@Test func nodeWithoutUIDIsReferredToByName() {
    let body = EventBody(NodeEvent(reason: "R", message: "m"), about: Node(name: "n", uid: "", resourceVersion: "1"))
    #expect(body.involvedObject.uid == "n")
}
