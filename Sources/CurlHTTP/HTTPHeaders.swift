/// One header field, name and value without surrounding white space.
public struct HTTPField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Parses one received header line (`Name: value`, line break optional); nil for a
    /// status line, a blank line or anything without a colon.
    init?(headerLine line: Substring) {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let name = line[..<colon].trimmingHTTPWhitespace()
        guard !name.isEmpty, !name.contains(" ") else { return nil }
        self.name = String(name)
        self.value = String(line[line.index(after: colon)...].trimmingHTTPWhitespace())
    }
}

/// Header fields in the order they were given or received; lookups ignore the case of
/// names (HTTP/2 delivers them in lower case).
public struct HTTPHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [HTTPField]

    public init(_ fields: [HTTPField] = []) {
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { HTTPField(name: $0.0, value: $0.1) }
    }

    public mutating func add(name: String, value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    /// The value of the first field called `name`, ignoring case.
    public subscript(name: String) -> String? {
        fields.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    public var contentType: String? { self["Content-Type"] }

    /// `Retry-After` when it is a number of seconds, which is what the Kubernetes API server
    /// and Prometheus send; nil when absent or given as an HTTP date (read it with the
    /// subscript then).
    public var retryAfterSeconds: Int? {
        self["Retry-After"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
    }
}

extension StringProtocol {
    func trimmingHTTPWhitespace() -> SubSequence {
        // "\r\n" is one Character in Swift.
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r\n" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }),
              let last = lastIndex(where: { !isSpace($0) })
        else { return self[endIndex...] }
        return self[first...last]
    }

    func equalsIgnoringASCIICase(_ other: some StringProtocol) -> Bool {
        utf8.elementsEqual(other.utf8) { a, b in
            a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A)
        }
    }
}
