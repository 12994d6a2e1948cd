import CCurlShim

/// A request that got no complete HTTP response: libcurl's result code and its own words.
///
/// `kind` is what a caller branches on (retry after a timeout, report a TLS problem);
/// `code` and `message` are for logs. Cancellation is not a `CurlError`: a cancelled
/// request throws `CancellationError`.
public struct CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The connect timeout or the total timeout passed.
        case timedOut
        /// No connection: refused, unreachable.
        case couldNotConnect
        case couldNotResolveHost
        /// Handshake, verification, certificate or key problems.
        case tls
        /// The connection broke: nothing received, send or receive failed, body cut short.
        case connectionLost
        case other
    }

    public var kind: Kind
    /// libcurl's `CURLcode` (28 is a timeout, 7 a failed connect); negative for a
    /// `CURLMcode` from the loop that drives the transfer.
    public var code: Int
    /// libcurl's error buffer, or its generic text for `code` when the buffer is empty.
    public var message: String
    /// What was being done, e.g. `GET https://10.0.0.1:6443/api/v1/nodes/n1`.
    public var context: String

    public init(kind: Kind, code: Int, message: String, context: String) {
        self.kind = kind
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String { "\(context): \(message) (curl error \(code))" }
}

extension CurlError {
    init(_ code: CURLcode, message: String, context: String) {
        self.init(kind: Kind(code), code: Int(code.rawValue), message: message, context: context)
    }

    init(_ code: CURLcode, context: String) {
        self.init(code, message: String(cString: curl_easy_strerror(code)), context: context)
    }

    init(_ code: CURLMcode, context: String) {
        self.init(
            kind: .other, code: -Int(code.rawValue),
            message: String(cString: curl_multi_strerror(code)), context: context
        )
    }
}

extension CurlError.Kind {
    init(_ code: CURLcode) {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            self = .timedOut
        case CURLE_COULDNT_CONNECT:
            self = .couldNotConnect
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            self = .couldNotResolveHost
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
             CURLE_SSL_CLIENTCERT, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
             CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED:
            self = .tls
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE,
             CURLE_HTTP2, CURLE_HTTP2_STREAM:
            self = .connectionLost
        default:
            self = .other
        }
    }
}
