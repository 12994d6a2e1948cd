import AutoTaintCore

/// A `coordination.k8s.io/v1` Lease, as far as the fleet guard's slots use one.
public struct Lease: Sendable, Equatable {
    public var name: String
    /// Empty for an object not yet created.
    public var resourceVersion: String
    public var labels: [String: String]
    public var spec: LeaseSpec

    public init(name: String, resourceVersion: String = "", labels: [String: String] = [:], spec: LeaseSpec) {
        self.name = name
        self.resourceVersion = resourceVersion
        self.labels = labels
        self.spec = spec
    }
}

/// A Lease's spec. Nil members are left out of a patch, so the server keeps them.
public struct LeaseSpec: Sendable, Equatable, Codable {
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int?
    /// MicroTime: RFC 3339 with 6 fraction digits, UTC (`MicroTime.text`).
    public var acquireTime: String?
    public var renewTime: String?
    public var leaseTransitions: Int?

    public init(holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: String? = nil,
                renewTime: String? = nil, leaseTransitions: Int? = nil) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }
}

extension Lease: Codable {
    private enum Member: String, CodingKey {
        case apiVersion, kind, metadata, spec
    }

    private struct Metadata: Codable {
        var name: String
        var resourceVersion: String?
        var labels: [String: String]?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Member.self)
        let metadata = try container.decode(Metadata.self, forKey: .metadata)
        self.init(name: metadata.name, resourceVersion: metadata.resourceVersion ?? "", labels: metadata.labels ?? [:],
                  spec: try container.decodeIfPresent(LeaseSpec.self, forKey: .spec) ?? LeaseSpec())
    }

    /// The object to create: no resourceVersion (the server assigns it).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Member.self)
        try container.encode("coordination.k8s.io/v1", forKey: .apiVersion)
        try container.encode("Lease", forKey: .kind)
        try container.encode(Metadata(name: name, resourceVersion: nil, labels: labels.isEmpty ? nil : labels),
                             forKey: .metadata)
        try container.encode(spec, forKey: .spec)
    }
}

/// `{"items":[…]}` of a Lease LIST.
struct LeaseList: Decodable {
    var items: [Lease]
}

/// `{"metadata":{"resourceVersion":RV,"labels":{…}},"spec":{…}}` as a merge patch: applied
/// only if the Lease is still at `RV` (409 otherwise), which is the whole lock. Labels left
/// out are kept.
struct LeasePatch: Encodable {
    struct Metadata: Encodable {
        var resourceVersion: String
        var labels: [String: String]?
    }

    var metadata: Metadata
    var spec: LeaseSpec

    init(resourceVersion: String, labels: [String: String], spec: LeaseSpec) {
        metadata = Metadata(resourceVersion: resourceVersion, labels: labels.isEmpty ? nil : labels)
        self.spec = spec
    }
}

/// What the agent reads of a DaemonSet (`DaemonSetCounts`); absent fields are 0, as Go
/// leaves an omitempty count out at 0.
struct DaemonSetFleetFields: Decodable {
    struct Metadata: Decodable {
        var generation: Int?
        var deletionTimestamp: String?
        var annotations: [String: String]?
    }

    struct Spec: Decodable {
        struct UpdateStrategy: Decodable {
            struct RollingUpdate: Decodable {
                var maxUnavailable: IntOrString?
            }

            var type: String?
            var rollingUpdate: RollingUpdate?
        }

        var updateStrategy: UpdateStrategy?
    }

    struct Status: Decodable {
        var desiredNumberScheduled: Int?
        var numberReady: Int?
        var numberAvailable: Int?
        var updatedNumberScheduled: Int?
        var observedGeneration: Int?
    }

    /// `3` or `"10%"`.
    enum IntOrString: Decodable {
        case int(Int)
        case string(String)

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let number = try? value.decode(Int.self) {
                self = .int(number)
            } else {
                self = .string(try value.decode(String.self))
            }
        }
    }

    var metadata: Metadata?
    var spec: Spec?
    var status: Status?

    /// The counts, or nil when maxUnavailable is neither a count nor a percentage.
    var counts: DaemonSetCounts? {
        let maxUnavailable: IntOrPercent? = switch spec?.updateStrategy?.rollingUpdate?.maxUnavailable {
        case nil: .count(1)  // the API server's default
        case let .int(count): .count(count)
        case let .string(text): IntOrPercent(text)
        }
        guard let maxUnavailable else { return nil }
        return DaemonSetCounts(
            desired: status?.desiredNumberScheduled ?? 0, ready: status?.numberReady ?? 0,
            available: status?.numberAvailable ?? 0, updated: status?.updatedNumberScheduled ?? 0,
            generation: metadata?.generation ?? 0, observedGeneration: status?.observedGeneration ?? 0,
            rollingUpdate: (spec?.updateStrategy?.type ?? "RollingUpdate") == "RollingUpdate",
            maxUnavailable: maxUnavailable, deleting: metadata?.deletionTimestamp != nil,
            templateGeneration: metadata?.annotations?["deprecated.daemonset.template.generation"].flatMap { Int($0) })
    }
}
