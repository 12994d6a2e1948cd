import CurlHTTP
import Foundation
import Testing
@testable import KubeClient

/// A kubeconfig with one cluster, one user and one context, `cluster` and `user` being
/// the members of those (indented by four spaces).
private func kubeconfig(cluster: String, user: String, context: String = "cluster: c\n    user: u",
                        current: String = "current-context: ctx") -> String {
    """
    apiVersion: v1
    kind: Config
    clusters:
    - name: c
      cluster:
        \(cluster)
    users:
    - name: u
      user:
        \(user)
    contexts:
    - name: ctx
      context:
        \(context)
    \(current)
    """
}

private let server = "server: https://10.0.0.1:6443"
private let pemText = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
private let pemBase64 = Data(pemText.utf8).base64EncodedString()

private func credentials(_ text: String, path: String = "/etc/kube/config") throws(KubeCredentialsError) -> KubeCredentials {
    try Kubeconfig.credentials(yaml: text, path: path)
}

struct KubeconfigCase: Sendable, CustomTestStringConvertible {
    let name: String
    let cluster: String
    let user: String
    let tls: TLSOptions
    let authentication: KubeCredentials.Authentication
    var testDescription: String { name }
}

@Test(arguments: [
    KubeconfigCase(name: "inline token, absolute CA", cluster: "\(server)\n    certificate-authority: /pki/ca.crt",
                   user: "token: abc", tls: TLSOptions(certificateAuthority: .file(path: "/pki/ca.crt")),
                   authentication: .token("abc")),
    KubeconfigCase(name: "relative CA and token file", cluster: "\(server)\n    certificate-authority: pki/ca.crt",
                   user: "tokenFile: tok", tls: TLSOptions(certificateAuthority: .file(path: "/etc/kube/pki/ca.crt")),
                   authentication: .tokenFile(path: "/etc/kube/tok")),
    KubeconfigCase(name: "CA data", cluster: "\(server)\n    certificate-authority-data: \(pemBase64)",
                   user: "token: abc", tls: TLSOptions(certificateAuthority: .data(Array(pemText.utf8))),
                   authentication: .token("abc")),
    KubeconfigCase(name: "insecure", cluster: "\(server)\n    insecure-skip-tls-verify: true",
                   user: "token: abc", tls: TLSOptions(insecureSkipTLSVerify: true), authentication: .token("abc")),
    KubeconfigCase(name: "token file wins over token", cluster: server, user: "token: abc\n    tokenFile: /t",
                   tls: TLSOptions(), authentication: .tokenFile(path: "/t")),
    KubeconfigCase(name: "client certificate files", cluster: server,
                   user: "client-certificate: c.crt\n    client-key: /k/c.key",
                   tls: TLSOptions(clientCertificate: .file(path: "/etc/kube/c.crt"), clientKey: .file(path: "/k/c.key")),
                   authentication: .none),
    KubeconfigCase(name: "client certificate data", cluster: server,
                   user: "client-certificate-data: \(pemBase64)\n    client-key-data: \(pemBase64)",
                   tls: TLSOptions(clientCertificate: .data(Array(pemText.utf8)), clientKey: .data(Array(pemText.utf8))),
                   authentication: .none),
    KubeconfigCase(name: "no credentials", cluster: server, user: "{}", tls: TLSOptions(), authentication: .none),
])
func kubeconfigVariants(_ example: KubeconfigCase) throws {
    let read = try credentials(kubeconfig(cluster: example.cluster, user: example.user))
    #expect(read == KubeCredentials(server: "https://10.0.0.1:6443", tls: example.tls, authentication: example.authentication,
                                    origin: "kubeconfig /etc/kube/config (context ctx)"))
}

@Test func aBareFileNameKeepsRelativePathsAsTheyAre() throws {
    let read = try credentials(kubeconfig(cluster: "\(server)\n    certificate-authority: ca.crt", user: "token: t"), path: "config")
    #expect(read.tls.certificateAuthority == .file(path: "ca.crt"))
}

@Test func aTrailingSlashLeavesTheServer() throws {
    #expect(try credentials(kubeconfig(cluster: "server: https://h:1/prefix/", user: "token: t")).server == "https://h:1/prefix")
}

@Test func aContextWithoutUserMeansNoToken() throws {
    #expect(try credentials(kubeconfig(cluster: server, user: "token: t", context: "cluster: c")).authentication == .none)
}

@Test(arguments: [
    BrokenKubeconfig(kubeconfig(cluster: server, user: "token: t", current: ""), "current-context is not set"),
    BrokenKubeconfig(kubeconfig(cluster: server, user: "token: t", current: "current-context: other"), #"current-context "other" is not among the contexts"#),
    BrokenKubeconfig(kubeconfig(cluster: server, user: "token: t", context: "user: u"), #"context "ctx" names no cluster"#),
    BrokenKubeconfig(kubeconfig(cluster: server, user: "token: t", context: "cluster: x\n    user: u"),
        #"cluster "x" of context "ctx" is not among the clusters"#),
    BrokenKubeconfig(kubeconfig(cluster: server, user: "token: t", context: "cluster: c\n    user: x"),
        #"user "x" of context "ctx" is not among the users"#),
    BrokenKubeconfig(kubeconfig(cluster: "insecure-skip-tls-verify: true", user: "token: t"), #"cluster "c" has no server"#),
    BrokenKubeconfig(kubeconfig(cluster: "\(server)\n    insecure-skip-tls-verify: maybe", user: "token: t"),
        #"cluster "c": insecure-skip-tls-verify must be true or false, not "maybe""#),
    BrokenKubeconfig(kubeconfig(cluster: "\(server)\n    certificate-authority: a\n    certificate-authority-data: \(pemBase64)", user: "token: t"),
        #"cluster "c" has both certificate-authority and certificate-authority-data; keep one"#),
    BrokenKubeconfig(kubeconfig(cluster: "\(server)\n    certificate-authority-data: '%%%'", user: "token: t"),
        #"cluster "c": certificate-authority-data is not base64"#),
    BrokenKubeconfig(kubeconfig(cluster: server, user: "client-certificate: c.crt"), #"user "u" has a client certificate or a client key but not both"#),
    BrokenKubeconfig(kubeconfig(cluster: server, user: "exec:\n      command: aws"),
        #"user "u" uses exec credentials, which autotaint does not support; use a token, a token file or a client certificate"#),
    BrokenKubeconfig("", "the file is empty"),
    // The end of a one-line file without a final line break is on line 1 (libyaml says 2;
    // the config fuzz target found that).
    BrokenKubeconfig("a: [", "not valid YAML: line 1, column 5: did not find expected node content (while parsing a flow node starting on line 1)"),
])
func brokenKubeconfigsSayWhatIsWrong(_ example: BrokenKubeconfig) {
    #expect(throws: KubeCredentialsError("kubeconfig /etc/kube/config: \(example.problem)")) { try credentials(example.text) }
}

struct BrokenKubeconfig: Sendable, CustomTestStringConvertible {
    let text: String
    let problem: String
    init(_ text: String, _ problem: String) {
        self.text = text
        self.problem = problem
    }
    var testDescription: String { problem }
}

@Test func credentialsNeverShowTheToken() throws {
    let read = try credentials(kubeconfig(cluster: server, user: "token: s3cret"))
    #expect(!"\(read)".contains("s3cret"))
    #expect(!String(reflecting: read).contains("s3cret"))
}
