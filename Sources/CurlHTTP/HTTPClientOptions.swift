/// Where a PEM certificate or key comes from: a file (read by libcurl on each new
/// connection, so a rotated file is picked up) or bytes in memory (kubeconfig `*-data`).
public enum PEMSource: Sendable, Equatable {
    case file(path: String)
    case data([UInt8])
}

/// How to trust the server and how to prove who we are; used for `https` URLs only.
public struct TLSOptions: Sendable, Equatable {
    /// The only CA the server's certificate may chain to; nil trusts the system's CAs.
    public var certificateAuthority: PEMSource?
    /// Client certificate and its key, for servers that require one (both or neither).
    public var clientCertificate: PEMSource?
    public var clientKey: PEMSource?
    /// Accept any server certificate and host name. Only when the user asked for it
    /// (kubeconfig `insecure-skip-tls-verify`).
    public var insecureSkipTLSVerify: Bool

    public init(
        certificateAuthority: PEMSource? = nil,
        clientCertificate: PEMSource? = nil,
        clientKey: PEMSource? = nil,
        insecureSkipTLSVerify: Bool = false
    ) {
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }
}

/// The settings of one endpoint, fixed for the life of an `HTTPClient`.
public struct HTTPClientOptions: Sendable, Equatable {
    public var tls: TLSOptions
    /// Longest time to set up a connection, TCP and TLS handshake included.
    public var connectTimeout: Duration
    /// Longest time for a whole request, from connecting to the last byte of the body,
    /// unless the request sets its own. Durations round up to whole milliseconds, at least 1.
    public var timeout: Duration

    public init(tls: TLSOptions = TLSOptions(), connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30)) {
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}
