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

/// The DaemonSet's `status.desiredNumberScheduled`.
struct DaemonSetStatusOnly: Decodable {
    struct Status: Decodable {
        var desiredNumberScheduled: Int?
    }

    var status: Status?
}
