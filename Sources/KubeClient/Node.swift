import AutoTaintCore

/// The parts of a Node the agent reads. Only taints are ever written back, and those
/// keep every field they came with.
public struct Node: Sendable, Equatable {
    public var name: String
    public var uid: String
    public var resourceVersion: String
    public var annotations: [String: String]
    public var taints: [Taint]
    public var conditions: [NodeCondition]

    public init(
        name: String, uid: String, resourceVersion: String, annotations: [String: String] = [:],
        taints: [Taint] = [], conditions: [NodeCondition] = []
    ) {
        self.name = name
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.annotations = annotations
        self.taints = taints
        self.conditions = conditions
    }
}

/// A taint as the API has it. Fields this client does not know are kept in
/// `otherFields` and encoded again unchanged, so writing the list back never loses what
/// another writer put there.
public struct Taint: Sendable, Equatable, TaintFields {
    public var key: String
    /// nil when the API object has no `value` (the API server reads that as "").
    public var rawValue: String?
    public var effect: String
    /// RFC 3339; the API server sets it for NoExecute taints.
    public var timeAdded: String?
    public var otherFields: [String: JSONValue]

    public var value: String { rawValue ?? "" }

    public init(key: String, value: String?, effect: String, timeAdded: String? = nil,
                otherFields: [String: JSONValue] = [:]) {
        self.key = key
        rawValue = value
        self.effect = effect
        self.timeAdded = timeAdded
        self.otherFields = otherFields
    }

    public init(_ spec: TaintSpec) {
        self.init(key: spec.key, value: spec.value, effect: spec.effect.rawValue)
    }
}

/// A Node condition. Optional fields left nil are omitted from a strategic-merge patch,
/// so the server keeps what it had (how `lastTransitionTime` survives a heartbeat).
public struct NodeCondition: Sendable, Equatable, Codable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastHeartbeatTime: String?
    public var lastTransitionTime: String?

    public init(type: String, status: String, reason: String? = nil, message: String? = nil,
                lastHeartbeatTime: String? = nil, lastTransitionTime: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastHeartbeatTime = lastHeartbeatTime
        self.lastTransitionTime = lastTransitionTime
    }
}

/// An Event about the agent's own Node (namespace `default`, involvedObject the Node).
public struct NodeEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case normal = "Normal"
        case warning = "Warning"
    }

    public var reason: String
    public var message: String
    public var kind: Kind

    public init(reason: String, message: String, kind: Kind = .normal) {
        self.reason = reason
        self.message = message
        self.kind = kind
    }
}
