/// A Node as the API serves it (`GET /api/v1/nodes/NAME`, watch events); every member
/// this client does not model is skipped, and absent lists and maps read as empty.
extension Node: Decodable {
    private enum Member: String, CodingKey {
        case metadata, spec, status
    }

    private struct Metadata: Decodable {
        var name: String
        var uid: String
        var resourceVersion: String
        var annotations: [String: String]?
    }

    private struct Spec: Decodable {
        var taints: [Taint]?
    }

    private struct Status: Decodable {
        var conditions: [NodeCondition]?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Member.self)
        let metadata = try container.decode(Metadata.self, forKey: .metadata)
        self.init(
            name: metadata.name,
            uid: metadata.uid,
            resourceVersion: metadata.resourceVersion,
            annotations: metadata.annotations ?? [:],
            taints: try container.decodeIfPresent(Spec.self, forKey: .spec)?.taints ?? [],
            conditions: try container.decodeIfPresent(Status.self, forKey: .status)?.conditions ?? []
        )
    }
}

/// `{"metadata":{"resourceVersion":RV},"items":[…]}` of a Node LIST.
struct NodeList: Decodable {
    struct Metadata: Decodable {
        var resourceVersion: String?
    }

    var metadata: Metadata
    var items: [Node]
}
