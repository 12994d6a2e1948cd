/// The body the API server sends with a failure (kind `Status`), read for the message an
/// operator sees: `message`, and for 422 the `details.causes`.
struct KubeStatus: Decodable, Sendable, Equatable {
    struct Cause: Decodable, Sendable, Equatable {
        var reason: String?
        var message: String?
        var field: String?
    }

    struct Details: Decodable, Sendable, Equatable {
        var causes: [Cause]?
        var retryAfterSeconds: Int?
    }

    var message: String?
    var reason: String?
    var code: Int?
    var details: Details?

    /// The message, followed by each cause it does not already spell out (the API server
    /// usually folds the causes of a 422 into its message, not always).
    var summary: String {
        var text = message ?? reason ?? ""
        for cause in details?.causes ?? [] {
            let described = [cause.field, cause.message].compactMap { $0 }.joined(separator: ": ")
            guard let detail = cause.message, !text.contains(detail) else { continue }
            text += text.isEmpty ? described : "; \(described)"
        }
        return text
    }
}
