/// Why a text is not a Kubernetes-style duration. Descriptions are written to follow
/// `"TEXT" is not a duration: `, so they name the offending part and what is allowed.
public enum KubernetesDurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case negative
    /// A unit with no number before it, e.g. `s` or `1h.m`.
    case missingNumber(beforeUnit: String)
    /// Digits and dots that do not make a decimal number, e.g. `1.2.3` or `.`.
    case malformedNumber(String)
    /// A number with no unit after it, e.g. `30` (only a bare `0` may omit the unit).
    case missingUnit(afterNumber: String)
    case unknownUnit(String)
    /// More than Go's `time.Duration` holds (about 292 years).
    case outOfRange

    public var description: String {
        switch self {
        case .empty: "it is empty"
        case .negative: "it is negative"
        case .missingNumber(let unit): "\"\(unit)\" has no number before it"
        case .malformedNumber(let number): "\"\(number)\" is not a decimal number"
        case .missingUnit(let number): "\"\(number)\" has no unit; \(Self.unitsHint)"
        case .unknownUnit(let unit): "\"\(unit)\" is not a unit; \(Self.unitsHint)"
        case .outOfRange: "it is longer than the longest duration (about 292 years)"
        }
    }

    private static let unitsHint = "use ns, us, ms, s, m or h, e.g. 500ms, 30s, 1m30s"
}
