import CurlHTTP
import FoundationEssentials

/// One API operation: what goes where, and how an error names it (`PATCH nodes/n1/status`).
struct APIRequest: Sendable {
    /// GET, PATCH, POST, or WATCH for the streaming GET.
    var verb: String
    var method: HTTPMethod
    /// From `/api/v1`, percent-encoded, query included.
    var path: String
    /// For messages: `nodes/NAME`, `nodes/NAME/status`, `events`.
    var resource: String
    var body: [UInt8]?
    var contentType: String?
    /// Only for the watch, which outlives the usual request timeout.
    var timeout: Duration?

    init(verb: String, method: HTTPMethod = .get, path: String, resource: String,
         body: [UInt8]? = nil, contentType: String? = nil, timeout: Duration? = nil) {
        self.verb = verb
        self.method = method
        self.path = path
        self.resource = resource
        self.body = body
        self.contentType = contentType
        self.timeout = timeout
    }

    /// A request sending `body` as JSON: a PATCH when `verb` says so, a POST otherwise.
    /// Only a non-finite number in a taint's `otherFields` could fail to encode: a caller's
    /// bug, reported like a 400 rather than sent.
    init(verb: String, path: String, resource: String, json body: some Encodable, contentType: String) throws(KubeError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(body))
        } catch {
            throw KubeError(kind: .badRequest, verb: verb, resource: resource, message: "cannot encode the body: \(error)")
        }
        self.init(verb: verb, method: verb == "PATCH" ? .patch : .post, path: path, resource: resource,
                  body: bytes, contentType: contentType)
    }

    static let strategicMergePatch = "application/strategic-merge-patch+json"
}
