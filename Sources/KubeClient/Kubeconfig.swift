import AutoTaintCore
import CurlHTTP
import FoundationEssentials
import YAML

/// Reads the `current-context` of a kubeconfig file into credentials, as kubectl would:
/// the context's cluster (`server`, `certificate-authority(-data)`,
/// `insecure-skip-tls-verify`) and user (`token`, `tokenFile`,
/// `client-certificate(-data)` + `client-key(-data)`). Relative paths are relative to
/// the file's directory. Exec and auth-provider plugins are refused: the agent runs them
/// nowhere.
enum Kubeconfig {
    static func credentials(fromFile path: String) throws(KubeCredentialsError) -> KubeCredentials {
        let text: String
        do {
            text = try FileContents.text(of: path)
        } catch {
            throw KubeCredentialsError("kubeconfig \(error)")
        }
        return try credentials(yaml: text, path: path)
    }

    /// `path` names the file in errors and anchors relative paths.
    static func credentials(yaml text: String, path: String) throws(KubeCredentialsError) -> KubeCredentials {
        let fail = { (problem: String) in KubeCredentialsError("kubeconfig \(path): \(problem)") }
        let parsed: YAMLNode?
        do {
            parsed = try YAMLNode.parse(text)
        } catch {
            throw fail("not valid YAML: \(error)")
        }
        guard let root = parsed else { throw fail("the file is empty") }
        guard let contextName = root["current-context"]?.text, !contextName.isEmpty else {
            throw fail("current-context is not set")
        }
        guard let context = root["contexts"]?.entry(named: contextName) else {
            throw fail("current-context \"\(contextName)\" is not among the contexts")
        }
        guard let clusterName = context["context"]?["cluster"]?.text, !clusterName.isEmpty else {
            throw fail("context \"\(contextName)\" names no cluster")
        }
        guard let cluster = root["clusters"]?.entry(named: clusterName) else {
            throw fail("cluster \"\(clusterName)\" of context \"\(contextName)\" is not among the clusters")
        }
        let reader = KubeconfigReader(directory: directory(of: path), fail: fail)
        var tls = try reader.clusterTLS(cluster["cluster"], name: clusterName)
        guard let server = cluster["cluster"]?["server"]?.text, !server.isEmpty else {
            throw fail("cluster \"\(clusterName)\" has no server")
        }
        var authentication = KubeCredentials.Authentication.none
        if let userName = context["context"]?["user"]?.text, !userName.isEmpty {
            guard let user = root["users"]?.entry(named: userName) else {
                throw fail("user \"\(userName)\" of context \"\(contextName)\" is not among the users")
            }
            authentication = try reader.userAuthentication(user["user"], name: userName, tls: &tls)
        }
        return KubeCredentials(
            server: server, tls: tls, authentication: authentication,
            origin: "kubeconfig \(path) (context \(contextName))"
        )
    }

    /// The directory part of `path` with its slash, "" for a bare file name.
    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }
}

/// The member readers of `Kubeconfig`, sharing the file's directory and its error wording.
private struct KubeconfigReader {
    let directory: String
    let fail: (String) -> KubeCredentialsError

    func clusterTLS(_ cluster: YAMLNode?, name: String) throws(KubeCredentialsError) -> TLSOptions {
        var tls = TLSOptions()
        tls.certificateAuthority = try pem(cluster, "certificate-authority", of: "cluster \"\(name)\"")
        switch cluster?["insecure-skip-tls-verify"]?.text {
        case nil, "false", "False", "FALSE": break
        case "true", "True", "TRUE": tls.insecureSkipTLSVerify = true
        case let other?: throw fail("cluster \"\(name)\": insecure-skip-tls-verify must be true or false, not \"\(other)\"")
        }
        return tls
    }

    func userAuthentication(_ user: YAMLNode?, name: String, tls: inout TLSOptions) throws(KubeCredentialsError) -> KubeCredentials.Authentication {
        let owner = "user \"\(name)\""
        for plugin in ["exec", "auth-provider"] where user?[plugin] != nil {
            throw fail("\(owner) uses \(plugin) credentials, which autotaint does not support; use a token, a token file or a client certificate")
        }
        tls.clientCertificate = try pem(user, "client-certificate", of: owner)
        tls.clientKey = try pem(user, "client-key", of: owner)
        if (tls.clientCertificate == nil) != (tls.clientKey == nil) {
            throw fail("\(owner) has a client certificate or a client key but not both")
        }
        // As client-go: a token file wins over an inline token, since only the file rotates.
        if let file = user?["tokenFile"]?.text, !file.isEmpty {
            return .tokenFile(path: resolved(file))
        }
        if let token = user?["token"]?.text, !token.isEmpty {
            return .token(token)
        }
        return .none
    }

    /// `member` as a file path (relative to the kubeconfig) or `member-data` as base64 PEM.
    private func pem(_ mapping: YAMLNode?, _ member: String, of owner: String) throws(KubeCredentialsError) -> PEMSource? {
        let path = mapping?[member]?.text.flatMap { $0.isEmpty ? nil : $0 }
        let data = mapping?["\(member)-data"]?.text.flatMap { $0.isEmpty ? nil : $0 }
        switch (path, data) {
        case (nil, nil):
            return nil
        case (let path?, nil):
            return .file(path: resolved(path))
        case (nil, let data?):
            guard let bytes = Data(base64Encoded: data, options: .ignoreUnknownCharacters), !bytes.isEmpty else {
                throw fail("\(owner): \(member)-data is not base64")
            }
            return .data(Array(bytes))
        case (_?, _?):
            throw fail("\(owner) has both \(member) and \(member)-data; keep one")
        }
    }

    private func resolved(_ path: String) -> String {
        path.hasPrefix("/") ? path : directory + path
    }
}
