import Foundation
import Synchronization
import Testing
@testable import KubeClient

private func tokenFile(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kubeclient-token-\(UUID().uuidString)").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Test func aTokenFileIsReadOnceAMinuteAtMost() throws {
    let path = try tokenFile("one\n")
    let token = BearerToken(.tokenFile(path: path), rereadInterval: .seconds(60), log: { _ in })
    #expect(token.current() == "one")
    try "two".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(token.current() == "one")
}

@Test func aStaleTokenIsReadAgain() throws {
    let path = try tokenFile(" one ")
    let token = BearerToken(.tokenFile(path: path), rereadInterval: .zero, log: { _ in })
    #expect(token.current() == "one")
    try "two".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(token.current() == "two")
}

@Test func after401OnlyADifferentTokenIsWorthARetry() throws {
    let path = try tokenFile("one")
    let token = BearerToken(.tokenFile(path: path), rereadInterval: .seconds(60), log: { _ in })
    #expect(token.renewed(after: token.current()) == nil)
    try "two".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(token.renewed(after: "one") == "two")
    #expect(token.current() == "two")
}

@Test func aTokenFromTheKubeconfigNeverChanges() {
    let token = BearerToken(.token("fixed"), rereadInterval: .zero, log: { _ in })
    #expect(token.current() == "fixed")
    #expect(token.renewed(after: "fixed") == nil)
    #expect(BearerToken(.none, rereadInterval: .zero, log: { _ in }).current() == nil)
}

@Test func aFailedReadKeepsTheLastTokenAndSaysWhyWithoutIt() throws {
    let path = try tokenFile("secret-one")
    let logged = Mutex<[String]>([])
    let token = BearerToken(.tokenFile(path: path), rereadInterval: .zero, log: { line in logged.withLock { $0.append(line) } })
    #expect(token.current() == "secret-one")
    try FileManager.default.removeItem(atPath: path)
    #expect(token.current() == "secret-one")
    let lines = logged.withLock { $0 }
    #expect(lines.count == 1)
    #expect(lines.allSatisfy { $0.contains("No such file or directory") && !$0.contains("secret") })
}
