import AutoTaintCore
import FoundationEssentials

/// Turns the answer to one instant query (`GET /api/v1/query`) into one usage value, or
/// into the reason there is none. Never guesses a number: anything but exactly one recent,
/// finite value in range is no value.
///
/// Reasons (stable metric labels): `query_error` (Prometheus said `"status":"error"`),
/// `http_status` (a non-2xx status without a Prometheus error body, e.g. from a proxy),
/// `garbage_body` (not a Prometheus query response), `unsupported_result` (a matrix, a
/// string, or a series without a float value), `empty_result`, `multiple_series`,
/// `nan_value`, `infinite_value`, `out_of_range`, `stale_sample`, `clock_skew`.
public enum PrometheusResponse {
    /// How far the sample's timestamp may be ahead of this node's clock before the two
    /// clocks are taken to disagree too much to judge the sample's age.
    public static let allowedFutureSkew: Double = 5
    /// How far outside 0–100 a percentage may be and still be taken (and clamped):
    /// `rate()` over a window with jittery scrape times can overshoot slightly.
    public static let allowedOvershoot: Double = 1

    /// - Parameters:
    ///   - now: this node's wall clock, in seconds since the epoch.
    ///   - staleAfter: a sample older than this is no value.
    public static func value(
        status: Int, body: [UInt8], now: Double, staleAfter: Duration
    ) -> Result<Double, NoSample> {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(body))
        } catch {
            if !(200..<300).contains(status) {
                return failure("http_status", "HTTP \(status): \(excerpt(body))")
            }
            return failure("garbage_body", "not a Prometheus query response (\(decodingProblem(error))): \(excerpt(body))")
        }
        guard envelope.status == "success" else {
            let kind = envelope.errorType.map { "\($0): " } ?? ""
            return failure("query_error", "HTTP \(status) \(envelope.status) \(kind)\(envelope.error ?? "no error text")")
        }
        guard (200..<300).contains(status) else {
            return failure("http_status", "HTTP \(status) with a success body: \(excerpt(body))")
        }
        guard let data = envelope.data else {
            return failure("garbage_body", "status success without data: \(excerpt(body))")
        }
        let pair: SamplePair
        switch data.result {
        case let .scalar(scalar):
            pair = scalar
        case let .vector(series):
            guard let only = series.first else {
                return failure("empty_result", "the query matched no series")
            }
            guard series.count == 1 else {
                let shown = series.prefix(3).map { labelText($0.metric) }.joined(separator: ", ")
                return failure("multiple_series",
                               "the query returned \(series.count) series, one is needed (aggregate it, or narrow the matchers): \(shown)\(series.count > 3 ? ", …" : "")")
            }
            guard let value = only.value else {
                return failure("unsupported_result", "series \(labelText(only.metric)) has no float value (a native histogram?)")
            }
            pair = value
        case let .other(type):
            return failure("unsupported_result", "result type \(type); an instant vector with one series or a scalar is needed")
        }
        return check(pair, now: now, staleAfter: staleAfter)
    }

    private static func check(_ pair: SamplePair, now: Double, staleAfter: Duration) -> Result<Double, NoSample> {
        let value: Double
        switch pair.value {
        case "NaN":
            return failure("nan_value", "the query gave NaN (e.g. a rate over too few samples, or 0/0)")
        case "+Inf", "-Inf", "Inf":
            return failure("infinite_value", "the query gave \(pair.value)")
        default:
            guard let number = Double(pair.value) else {
                return failure("garbage_body", "sample value \"\(pair.value.prefix(40))\" is not a number")
            }
            guard number.isFinite else {
                return failure(number.isNaN ? "nan_value" : "infinite_value", "the query gave \(pair.value)")
            }
            value = number
        }
        // The sample's time is Prometheus's clock, `now` this node's: comparing them is
        // sound because Prometheus and the nodes it scrapes are NTP-synced (its own
        // scraping and `rate()` already rely on that); a few seconds ahead are forgiven.
        let age = now - pair.time
        if age > staleAfter.secondsValue {
            return failure("stale_sample", "the sample is \(secondsText(age)) old; staleAfter is \(staleAfter.kubernetesText)")
        }
        if age < -allowedFutureSkew {
            return failure("clock_skew",
                           "the sample is \(secondsText(-age)) ahead of this node's clock; are both NTP-synced?")
        }
        guard value >= -allowedOvershoot, value <= 100 + allowedOvershoot else {
            return failure("out_of_range", "the query gave \(value), not a percentage of the node's CPU (0–100)")
        }
        return .success(min(max(value, 0), 100))
    }

    private static func failure(_ reason: String, _ detail: String) -> Result<Double, NoSample> {
        .failure(NoSample(source: .prometheus, reason: reason, detail: detail))
    }

    private static func excerpt(_ body: [UInt8]) -> String {
        let limit = 200
        if body.isEmpty { return "empty body" }
        let text = String(decoding: body.prefix(limit), as: UTF8.self)
            .map { $0.isNewline ? " " : String($0) }.joined()
        return body.count > limit ? text + "…" : text
    }

    private static func decodingProblem(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted: "not JSON"
        case let DecodingError.keyNotFound(key, _): "no \(key.stringValue)"
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            "unexpected \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "unreadable"
        }
    }

    private static func labelText(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    private static func secondsText(_ seconds: Double) -> String {
        "\((seconds * 10).rounded() / 10)s"
    }
}

// MARK: - The response's JSON

private struct Envelope: Decodable {
    var status: String
    var data: ResultData?
    var errorType: String?
    var error: String?
}

private struct ResultData: Decodable {
    var result: QueryResult

    enum CodingKeys: String, CodingKey { case resultType, result }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .resultType)
        switch type {
        case "vector": result = .vector(try container.decode([Series].self, forKey: .result))
        case "scalar": result = .scalar(try container.decode(SamplePair.self, forKey: .result))
        default: result = .other(type)
        }
    }
}

private enum QueryResult {
    case vector([Series])
    case scalar(SamplePair)
    case other(String)
}

private struct Series: Decodable {
    var metric: [String: String]
    var value: SamplePair?
}

/// `[1712345678.123, "42.5"]`: the time in seconds since the epoch, the value as text
/// (Prometheus writes `NaN`, `+Inf`, `-Inf` that way).
private struct SamplePair: Decodable {
    var time: Double
    var value: String

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        time = try container.decode(Double.self)
        value = try container.decode(String.self)
    }
}
