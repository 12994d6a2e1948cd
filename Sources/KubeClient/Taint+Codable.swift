/// A taint reads and writes every field it came with: the known ones by name, the rest
/// through `otherFields`, so a list written back is the list that was read.
extension Taint: Codable {
    private static let knownFields: Set<String> = ["key", "value", "effect", "timeAdded"]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        var otherFields: [String: JSONValue] = [:]
        for field in container.allKeys where !Self.knownFields.contains(field.stringValue) {
            otherFields[field.stringValue] = try container.decode(JSONValue.self, forKey: field)
        }
        self.init(
            key: try container.decode(String.self, forKey: "key"),
            value: try container.decodeIfPresent(String.self, forKey: "value"),
            effect: try container.decode(String.self, forKey: "effect"),
            timeAdded: try container.decodeIfPresent(String.self, forKey: "timeAdded"),
            otherFields: otherFields
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(key, forKey: "key")
        try container.encodeIfPresent(rawValue, forKey: "value")
        try container.encode(effect, forKey: "effect")
        try container.encodeIfPresent(timeAdded, forKey: "timeAdded")
        for (name, value) in otherFields.sorted(by: { $0.key < $1.key }) {
            try container.encode(value, forKey: JSONKey(name))
        }
    }
}
