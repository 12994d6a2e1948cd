extension Duration {
    /// The value libcurl's `*_MS` options take: whole milliseconds, rounded up, at least 1
    /// (0 would mean "no timeout" to libcurl) and at most about 30 years.
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds >= 0, seconds < 1_000_000_000 else { return seconds < 0 ? 1 : 1_000_000_000_000 }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return max(1, Int(seconds) * 1000 + Int(fraction))
    }
}
