import CurlHTTP
import Foundation
import Testing
@testable import KubeClient

/// A fresh directory to put kubeconfigs and service account files in.
private func scratchDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kubeclient-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func writeKubeconfig(_ path: String, server: String) throws {
    let text = """
        clusters: [{name: c, cluster: {server: "\(server)"}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        current-context: x
        """
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

@Test func theArgumentComesFirst() throws {
    let directory = try scratchDirectory()
    try writeKubeconfig(directory + "/arg", server: "https://arg:1")
    try writeKubeconfig(directory + "/env", server: "https://env:1")
    let environment = ["KUBECONFIG": directory + "/env", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]
    #expect(try KubeCredentials.resolve(kubeconfig: directory + "/arg", environment: environment)?.server == "https://arg:1")
}

@Test func theFirstFileOfKUBECONFIGComesNext() throws {
    let directory = try scratchDirectory()
    try writeKubeconfig(directory + "/one", server: "https://one:1")
    try writeKubeconfig(directory + "/home/.kube/config", server: "https://home:1")
    let environment = ["KUBECONFIG": ":\(directory)/one:\(directory)/two", "HOME": directory + "/home",
                       "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]
    #expect(try KubeCredentials.resolve(kubeconfig: nil, environment: environment)?.server == "https://one:1")
}

@Test func inAPodTheServiceAccountIsUsed() throws {
    let directory = try scratchDirectory()
    try "tok\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
    try "ca".write(toFile: directory + "/ca.crt", atomically: true, encoding: .utf8)
    try writeKubeconfig(directory + "/home/.kube/config", server: "https://home:1")
    let environment = ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443", "HOME": directory + "/home"]
    let read = try KubeCredentials.resolve(kubeconfig: nil, environment: environment, serviceAccountDirectory: directory)
    #expect(read == KubeCredentials(
        server: "https://[fd00::1]:443", tls: TLSOptions(certificateAuthority: .file(path: directory + "/ca.crt")),
        authentication: .tokenFile(path: directory + "/token"), origin: "the pod's service account"
    ))
}

@Test func aPodWithoutTokenIsAnError() throws {
    let directory = try scratchDirectory()
    let environment = ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]
    #expect(throws: KubeCredentialsError(
        "in-cluster service account: token \(directory)/token: cannot read: No such file or directory"
    )) {
        try KubeCredentials.resolve(kubeconfig: nil, environment: environment, serviceAccountDirectory: directory)
    }
}

@Test func theHomeKubeconfigComesLast() throws {
    let directory = try scratchDirectory()
    try writeKubeconfig(directory + "/.kube/config", server: "https://home:1")
    let read = try KubeCredentials.resolve(kubeconfig: nil, environment: ["HOME": directory], serviceAccountDirectory: directory)
    #expect(read?.server == "https://home:1")
}

@Test func nothingAtAllIsNoCredentials() throws {
    let directory = try scratchDirectory()
    #expect(try KubeCredentials.resolve(kubeconfig: nil, environment: ["HOME": directory], serviceAccountDirectory: directory)
        == nil)
}

@Test func aNamedKubeconfigThatIsMissingIsAnError() throws {
    let directory = try scratchDirectory()
    try writeKubeconfig(directory + "/.kube/config", server: "https://home:1")
    #expect(throws: KubeCredentialsError("kubeconfig \(directory)/nope: cannot read: No such file or directory")) {
        try KubeCredentials.resolve(kubeconfig: directory + "/nope", environment: ["HOME": directory])
    }
}
