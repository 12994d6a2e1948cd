/// What the agent does with the API server, and nothing more: its own Node, that Node's
/// status, and Events about it. Each call is one request (plus one retry after a 401
/// with a re-read token); retrying on other errors is the caller's decision, so a tick
/// never waits out a long outage.
public protocol NodeAPI: Sendable {
    func getNode(_ name: String) async throws(KubeError) -> Node

    /// The Node now and after every change: a GET, then a watch from its
    /// resourceVersion, re-listed on 410 and reconnected with backoff until the task is
    /// cancelled. Errors are logged by the implementation, never thrown into the stream.
    func nodeUpdates(_ name: String) -> AsyncStream<Node>

    /// Replaces `spec.taints` with `taints` if the Node is still at `resourceVersion`
    /// (strategic-merge patch carrying `metadata.resourceVersion`); 409 otherwise.
    func patchTaints(_ name: String, _ taints: [Taint], resourceVersion: String) async throws(KubeError) -> Node

    /// Merges `conditions` by type into `status.conditions` (PATCH on `/status`).
    func patchConditions(_ name: String, _ conditions: [NodeCondition]) async throws(KubeError) -> Node

    func postEvent(_ event: NodeEvent, about node: Node) async throws(KubeError)
}

/// A failed API call, with what a person needs to act on it: the verb, the resource,
/// the HTTP status and the server's message.
public struct KubeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case badRequest             // 400: our bug; no retry
        case unauthorized           // 401 even after re-reading the token
        case forbidden              // 403: RBAC or admission said no
        case notFound               // 404: the Node is gone
        case conflict               // 409: resourceVersion moved; re-read and rebuild
        case unsupportedMediaType   // 415: our bug
        case invalid                // 422: the object was refused; log the causes
        case throttled              // 429: wait `retryAfter`
        case serverError(Int)       // 5xx
        case unexpectedStatus(Int)
        case undecodable            // 2xx with a body that is not what was asked for
        case transport              // no HTTP answer: refused, reset, TLS, timeout
    }

    public var kind: Kind
    public var verb: String
    public var resource: String
    public var message: String
    /// From `Retry-After` on 429 (and 503), when the server sent one.
    public var retryAfter: Duration?

    public init(kind: Kind, verb: String, resource: String, message: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.verb = verb
        self.resource = resource
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(verb) \(resource): \(message)" }
}
