/// One line of a watch stream, `{"type": ..., "object": ...}`, decoded in one pass with
/// the object read as what the type says it is.
enum WatchEvent: Decodable {
    enum Change: String {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    case node(Change, Node)
    /// Nothing changed up to this resourceVersion; the object carries only that.
    case bookmark(resourceVersion: String)
    /// The watch cannot go on: a Status, code 410 when its resourceVersion is too old.
    case error(KubeStatus)

    private enum Member: String, CodingKey {
        case type, object
    }

    private struct BookmarkObject: Decodable {
        struct Metadata: Decodable {
            var resourceVersion: String
        }

        var metadata: Metadata
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Member.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "BOOKMARK":
            self = .bookmark(resourceVersion: try container.decode(BookmarkObject.self, forKey: .object).metadata.resourceVersion)
        case "ERROR":
            self = .error(try container.decode(KubeStatus.self, forKey: .object))
        default:
            guard let change = Change(rawValue: type) else {
                throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown watch event type \(type)")
            }
            self = .node(change, try container.decode(Node.self, forKey: .object))
        }
    }
}
