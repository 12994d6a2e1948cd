extension Duration {
    /// Parses Go's `time.ParseDuration` syntax as Kubernetes uses it: a sequence of
    /// decimal numbers, each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), as in
    /// `500ms`, `1.5s`, `1m30s`; a bare `0` is zero. Negative durations are refused,
    /// since nothing in the config may be negative. Resolution is one nanosecond.
    public init(kubernetes text: String) throws(KubernetesDurationError) {
        var rest = Substring(text)
        if rest.first == "+" { rest.removeFirst() }
        guard !rest.isEmpty else { throw .empty }
        guard rest.first != "-" else { throw .negative }
        guard rest != "0" else {
            self = .zero
            return
        }
        var nanoseconds: Int128 = 0
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix(while: { !($0.isASCII && ($0.isNumber || $0 == ".")) })
            rest = rest.dropFirst(unit.count)
            guard !unit.isEmpty else { throw .missingUnit(afterNumber: String(number)) }
            guard let unitNanoseconds = Self.nanosecondsPerUnit[String(unit)] else {
                throw .unknownUnit(String(unit))
            }
            guard !number.isEmpty else { throw .missingNumber(beforeUnit: String(unit)) }
            guard let value = Self.nanoseconds(number, times: unitNanoseconds) else {
                throw .malformedNumber(String(number))
            }
            nanoseconds += value
            guard nanoseconds <= Int128(Int64.max) else { throw .outOfRange }
        }
        self = .nanoseconds(Int64(nanoseconds))
    }

    /// The duration in seconds, for arithmetic with Unix times and for metrics.
    public var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }

    /// Whole milliseconds, rounded towards zero, for arithmetic on periods.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// To the nearest millisecond, for durations in log lines (`970ms`, `31.8s` as `31s800ms`).
    public var roundedToMilliseconds: Duration {
        let (seconds, attoseconds) = components
        let milliseconds = (Double(attoseconds) / 1e15).rounded()
        return .seconds(seconds) + .milliseconds(Int64(milliseconds))
    }

    /// The shortest text `init(kubernetes:)` reads back as this duration, largest unit
    /// first with zero parts left out: `30s`, `2m`, `1h30m`, `1s500ms`, `0s`.
    /// Anything below a nanosecond is dropped.
    public var kubernetesText: String {
        let (seconds, attoseconds) = components
        let total = Int128(seconds) * 1_000_000_000 + Int128(attoseconds / 1_000_000_000)
        var remainder = total.magnitude
        var text = total < 0 ? "-" : ""
        for (unit, size) in Self.formattingUnits where remainder >= size {
            text += "\(remainder / size)\(unit)"
            remainder %= size
        }
        return total == 0 ? "0s" : text
    }

    private static let nanosecondsPerUnit: [String: Int128] = [
        "ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
        "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    private static let formattingUnits: [(String, UInt128)] = [
        ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
        ("ms", 1_000_000), ("us", 1_000), ("ns", 1),
    ]

    /// `number` (ASCII digits and dots) times the unit, in whole nanoseconds; fractions of
    /// a nanosecond are truncated, as Go does. Nil unless `number` has at least one digit
    /// and at most one dot.
    private static func nanoseconds(_ number: Substring, times unit: Int128) -> Int128? {
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(parts[0].isEmpty && fraction.isEmpty), !fraction.contains(".") else { return nil }
        let whole = parts[0].drop(while: { $0 == "0" })
        // 20 significant digits exceed any Int64 nanosecond count; capping the digits read
        // keeps the Int128 arithmetic from overflowing.
        guard whole.count <= 20 else { return Int128(Int64.max) + 1 }
        let fractionDigits = fraction.prefix(18)
        let wholeValue = Int128(whole) ?? 0
        let fractionValue = Int128(fractionDigits) ?? 0
        var scale: Int128 = 1
        for _ in fractionDigits { scale *= 10 }
        return wholeValue * unit + fractionValue * unit / scale
    }
}
