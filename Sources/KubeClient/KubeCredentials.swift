import CurlHTTP

/// Where the API server is and how to prove who we are to it, resolved once at start
/// (`KubeCredentials.resolve`) and handed to `KubeAPI`.
///
/// Its descriptions never contain a token, so it may be logged as a whole.
public struct KubeCredentials: Sendable, Equatable, CustomStringConvertible {
    /// How requests carry an identity besides a TLS client certificate.
    public enum Authentication: Sendable, Equatable, CustomStringConvertible {
        /// A client certificate (in `tls`) or nothing.
        case none
        /// A token written into the kubeconfig; it never changes.
        case token(String)
        /// A token file, re-read at most once a minute and at once after a 401, because
        /// projected service account tokens rotate.
        case tokenFile(path: String)

        public var description: String {
            switch self {
            case .none: "no token"
            case .token: "a token from the kubeconfig"
            case .tokenFile(let path): "the token in \(path)"
            }
        }
    }

    /// `https://host:port`, possibly with a path prefix; no trailing slash.
    public var server: String
    public var tls: TLSOptions
    public var authentication: Authentication
    /// What they were read from, e.g. `kubeconfig /root/.kube/config (context kind-kind)`.
    public var origin: String

    public init(server: String, tls: TLSOptions = TLSOptions(), authentication: Authentication = .none, origin: String) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.tls = tls
        self.authentication = authentication
        self.origin = origin
    }

    public var description: String {
        let certificate = tls.clientCertificate == nil ? "" : ", a client certificate"
        return "\(server) from \(origin) with \(authentication)\(certificate)"
    }
}

/// Why no credentials could be had; the description names the file and what is wrong.
public struct KubeCredentialsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
