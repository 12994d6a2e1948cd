import AutoTaintCore
import CurlHTTP
import Glibc

extension KubeCredentials {
    /// Where a pod's service account credentials are mounted.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The credentials to use, from the first of: `kubeconfig` (the `--kubeconfig`
    /// argument), `$KUBECONFIG` (its first file), the pod's service account
    /// (`KUBERNETES_SERVICE_HOST`/`_PORT` set), `$HOME/.kube/config`.
    ///
    /// nil when none of them is there at all. A source that is chosen but broken is an
    /// error, not a reason to try the next one: an operator who names a kubeconfig means
    /// that one. `environment` is the process environment; `serviceAccountDirectory` is
    /// replaceable for tests.
    public static func resolve(
        kubeconfig: String?,
        environment: [String: String],
        serviceAccountDirectory: String = serviceAccountDirectory
    ) throws(KubeCredentialsError) -> KubeCredentials? {
        if let kubeconfig, !kubeconfig.isEmpty {
            return try Kubeconfig.credentials(fromFile: kubeconfig)
        }
        if let list = environment["KUBECONFIG"],
           let first = list.split(separator: ":", omittingEmptySubsequences: true).first {
            return try Kubeconfig.credentials(fromFile: String(first))
        }
        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
           let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty {
            return try inCluster(host: host, port: port, directory: serviceAccountDirectory)
        }
        if let home = environment["HOME"], !home.isEmpty {
            let path = (home.hasSuffix("/") ? home : home + "/") + ".kube/config"
            if access(path, F_OK) == 0 {
                return try Kubeconfig.credentials(fromFile: path)
            }
        }
        return nil
    }

    /// What `resolve` looked for, for the message when it found nothing.
    public static let searched =
        "no --kubeconfig, $KUBECONFIG is not set, not in a pod (KUBERNETES_SERVICE_HOST is not set) "
        + "and there is no $HOME/.kube/config"

    /// The pod's service account, as client-go's `InClusterConfig`: the token file must be
    /// readable; `ca.crt` is used when it is there, the system's CAs otherwise.
    static func inCluster(host: String, port: String, directory: String) throws(KubeCredentialsError) -> KubeCredentials {
        let tokenPath = directory + "/token"
        do {
            _ = try FileContents.bytes(of: tokenPath)
        } catch {
            throw KubeCredentialsError("in-cluster service account: token \(error)")
        }
        let caPath = directory + "/ca.crt"
        let authority: PEMSource? = access(caPath, R_OK) == 0 ? .file(path: caPath) : nil
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeCredentials(
            server: "https://\(hostPart):\(port)",
            tls: TLSOptions(certificateAuthority: authority),
            authentication: .tokenFile(path: tokenPath),
            origin: "the pod's service account"
        )
    }
}
