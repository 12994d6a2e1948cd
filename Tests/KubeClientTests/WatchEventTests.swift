import Foundation
import Testing
@testable import KubeClient

private func event(_ text: String) throws -> WatchEvent {
    try JSONDecoder().decode(WatchEvent.self, from: Data(text.utf8))
}

@Test func modifiedCarriesTheNode() throws {
    let line = #"{"type":"MODIFIED","object":{"kind":"Node","metadata":{"name":"n1","uid":"u","resourceVersion":"9"}}}"#
    guard case .node(.modified, let node) = try event(line) else { Issue.record("not a node event"); return }
    #expect(node.resourceVersion == "9")
}

@Test func bookmarkCarriesOnlyAResourceVersion() throws {
    let line = #"{"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"12","creationTimestamp":null}}}"#
    guard case .bookmark(let version) = try event(line) else { Issue.record("not a bookmark"); return }
    #expect(version == "12")
}

@Test func errorCarriesTheStatus() throws {
    let line = #"{"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"too old resource version: 5 (9)","reason":"Expired","code":410}}"#
    guard case .error(let status) = try event(line) else { Issue.record("not an error"); return }
    #expect(status.code == 410)
    #expect(status.summary == "too old resource version: 5 (9)")
}

@Test func unknownTypeIsRefused() {
    #expect(throws: DecodingError.self) { try event(#"{"type":"SURPRISE","object":{}}"#) }
}
