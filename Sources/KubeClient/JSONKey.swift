/// Any JSON object member name as a coding key, for objects whose member names are not all
/// known in advance.
struct JSONKey: CodingKey, ExpressibleByStringLiteral {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) {
        stringValue = name
    }

    init(stringValue: String) {
        self.init(stringValue)
    }

    init?(intValue: Int) {
        nil
    }

    init(stringLiteral name: String) {
        self.init(name)
    }
}
