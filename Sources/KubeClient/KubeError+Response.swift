import CurlHTTP
import FoundationEssentials

extension KubeError.Kind {
    /// What a non-2xx HTTP status means to a caller (see the response-code table in
    /// docs/kubernetes-api.md).
    init(status: Int) {
        switch status {
        case 400: self = .badRequest
        case 401: self = .unauthorized
        case 403: self = .forbidden
        case 404: self = .notFound
        case 409: self = .conflict
        case 415: self = .unsupportedMediaType
        case 422: self = .invalid
        case 429: self = .throttled
        case 500...599: self = .serverError(status)
        default: self = .unexpectedStatus(status)
        }
    }

    /// No answer came at all (refused, reset, timed out): the server, or the way to it, is
    /// gone, and hearing from it again ends the wait. A 5xx or a 4xx is an answer about
    /// this request, and keeps its backoff.
    public var isNoAnswer: Bool { self == .transport }

    /// Whether a write that failed this way may still have been applied: no answer, a
    /// server error (a 504 after the write was stored) or an answer that could not be
    /// read. A 4xx, 409 and 429 included, means the write was refused.
    public var mayHaveBeenApplied: Bool {
        switch self {
        case .transport, .serverError, .undecodable, .unexpectedStatus: true
        case .badRequest, .unauthorized, .forbidden, .notFound, .conflict, .unsupportedMediaType, .invalid, .throttled: false
        }
    }
}

extension KubeError {
    /// A non-2xx answer: its kind from the status, its message from the `Status` body (or
    /// the start of whatever body came), `retryAfter` from `Retry-After`.
    init(status: Int, headers: HTTPHeaders, body: [UInt8], verb: String, resource: String) {
        let decoded = try? JSONDecoder().decode(KubeStatus.self, from: Data(body))
        let message = decoded.map(\.summary).flatMap { $0.isEmpty ? nil : $0 }
            ?? "HTTP \(status)" + (body.isEmpty ? "" : ": " + Self.excerpt(of: body))
        let seconds = headers.retryAfterSeconds ?? decoded?.details?.retryAfterSeconds
        self.init(
            kind: Kind(status: status), verb: verb, resource: resource, message: message,
            retryAfter: seconds.map { .seconds($0) }
        )
    }

    /// No HTTP answer at all, in libcurl's words.
    init(transport error: any Error, verb: String, resource: String) {
        let message = switch error {
        case let curl as CurlError: "\(curl.message) (curl error \(curl.code))"
        case is CancellationError: "cancelled"
        default: String(describing: error)
        }
        self.init(kind: .transport, verb: verb, resource: resource, message: message)
    }

    /// A 2xx whose body is not the object asked for.
    init(undecodable body: [UInt8], error: any Error, verb: String, resource: String) {
        self.init(
            kind: .undecodable, verb: verb, resource: resource,
            message: "the response is not a valid object (\(error)); it starts: \(Self.excerpt(of: body))"
        )
    }

    /// The first 200 bytes of a body as printable text, for a log line.
    private static func excerpt(of body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        let printable = String(text.unicodeScalars.map { $0.value < 0x20 || $0 == "\u{FFFD}" ? "." : Character($0) })
        return body.count > 200 ? printable + "…" : printable
    }
}
