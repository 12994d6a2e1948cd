import AutoTaintCore
import CurlHTTP
import FoundationEssentials

/// Reads the node's CPU usage from Prometheus: one instant query (`GET /api/v1/query`) per
/// call, with `prometheus.query` rendered for this node (see `PrometheusQuery`).
///
/// Every failure is no value with its own reason (see `PrometheusResponse` for what the
/// answer can say; the request itself gives `timeout`, `unreachable`, `tls_error`,
/// `connection_lost`, `request_failed`, `cancelled`); a template that cannot be
/// rendered gives `bad_query` on every call. The query is about CPU usage: the other
/// signals come only from /proc, so the memory and cpuContention signals get `not_from_prometheus`.
///
/// One `HTTPClient` (one libcurl handle) per sampler, so the connection is kept.
public struct PrometheusSampler: Sampler, Sendable {
    /// Sends one request; the real one is an `HTTPClient`, tests give canned answers.
    public typealias Transport = @Sendable (HTTPRequest) async throws -> HTTPResponse

    /// The rendered query, or why the template could not be rendered.
    public let query: Result<PrometheusQuery, PrometheusQueryError>
    private let request: HTTPRequest?
    private let staleAfter: Duration
    private let transport: Transport
    private let wallClock: @Sendable () -> Double

    /// A sampler that asks the Prometheus at `settings.url` about `node`.
    public init(_ settings: Config.Prometheus, node: String) {
        let transport: Transport
        do {
            let client = try HTTPClient(options: HTTPClientOptions(
                connectTimeout: settings.timeout, timeout: settings.timeout))
            transport = { request in try await client.send(request) }
        } catch {
            transport = { _ in throw error }
        }
        self.init(settings, node: node, transport: transport)
    }

    /// - Parameter wallClock: seconds since the epoch, to judge a sample's age.
    public init(
        _ settings: Config.Prometheus, node: String, transport: @escaping Transport,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        do throws(PrometheusQueryError) {
            let rendered = try PrometheusQuery(template: settings.query, node: node)
            query = .success(rendered)
            request = HTTPRequest(
                method: .get, url: Self.queryURL(base: settings.url, query: rendered.text),
                headers: ["Accept": "application/json", "User-Agent": "autotaint"],
                timeout: settings.timeout)
        } catch {
            query = .failure(error)
            request = nil
        }
        staleAfter = settings.staleAfter
        self.transport = transport
        self.wallClock = wallClock
    }

    public func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] {
        var results: [SignalKind: Result<Sample, NoSample>] = [:]
        for signal in signals {
            switch signal {
            case .cpu:
                results[.cpu] = await cpuPercent().map { Sample(percent: $0, source: .prometheus) }
            case .memory, .cpuContention:
                results[signal] = .failure(NoSample(
                    source: .prometheus, reason: "not_from_prometheus",
                    detail: "prometheus.query is about CPU usage; \(signal.rawValue) comes from /proc only"))
            }
        }
        return results
    }

    /// The CPU usage the query gives now, in percent of the whole node.
    public func cpuPercent() async -> Result<Double, NoSample> {
        guard let request else {
            return .failure(NoSample(source: .prometheus, reason: "bad_query", detail: query.failureDescription))
        }
        let response: HTTPResponse
        do {
            response = try await transport(request)
        } catch {
            return .failure(Self.requestFailure(error))
        }
        return PrometheusResponse.value(
            status: response.status, body: response.body, now: wallClock(), staleAfter: staleAfter)
    }

    /// `base` (any trailing `/` dropped) + `/api/v1/query?query=…`, percent-encoded.
    static func queryURL(base: String, query: String) -> String {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return "\(trimmed)/api/v1/query?query=\(percentEncoded(query))"
    }

    /// Every byte but RFC 3986's unreserved characters as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF")
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                encoded += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
            }
        }
        return encoded
    }

    static func requestFailure(_ error: any Error) -> NoSample {
        let reason: String
        switch error {
        case let curl as CurlError:
            switch curl.kind {
            case .timedOut: reason = "timeout"
            case .couldNotConnect, .couldNotResolveHost: reason = "unreachable"
            case .tls: reason = "tls_error"
            case .connectionLost: reason = "connection_lost"
            case .other: reason = "request_failed"
            }
        case is CancellationError:
            reason = "cancelled"
        default:
            reason = "request_failed"
        }
        return NoSample(source: .prometheus, reason: reason, detail: "\(error)")
    }
}

extension Result where Failure: CustomStringConvertible {
    fileprivate var failureDescription: String {
        if case let .failure(error) = self { return error.description }
        return ""
    }
}
