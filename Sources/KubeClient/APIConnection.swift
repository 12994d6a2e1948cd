import CoreMetrics
import CurlHTTP
import FoundationEssentials

/// One API server: URLs, the headers every request carries, the bearer token with its
/// one retry after a 401, the server's `Retry-After` held for every request
/// (`ServerPause`), and failures turned into `KubeError`s.
///
/// Requests share one libcurl handle (connection and TLS session kept); the watch runs on
/// the client's streaming handle so it never holds a request up.
final class APIConnection: Sendable {
    private let http: HTTPClient
    private let server: String
    private let userAgent: String
    private let token: BearerToken
    private let metrics: KubeRequestMetrics
    private let pause = ServerPause()

    init(credentials: KubeCredentials, userAgent: String, settings: KubeAPISettings,
         metrics: any MetricsFactory, log: @escaping @Sendable (String) -> Void) throws(CurlError) {
        http = try HTTPClient(options: HTTPClientOptions(
            tls: credentials.tls, connectTimeout: settings.connectTimeout, timeout: settings.requestTimeout
        ))
        server = credentials.server
        self.userAgent = userAgent
        token = BearerToken(credentials.authentication, rereadInterval: settings.tokenRereadInterval, log: log)
        self.metrics = KubeRequestMetrics(factory: metrics)
    }

    /// The 2xx response to `request`; any other status is thrown as its `KubeError`.
    func send(_ request: APIRequest) async throws(KubeError) -> HTTPResponse {
        try pause.check(request)
        let response = try await authorized(request) { try await http.send($0) } status: { $0.status }
        guard (200..<300).contains(response.status) else {
            throw refusal(KubeError(status: response.status, headers: response.headers, body: response.body,
                                    verb: request.verb, resource: request.resource))
        }
        return response
    }

    /// `error`, after starting the pause its `Retry-After` asks for.
    private func refusal(_ error: KubeError) -> KubeError {
        pause.record(error)
        return error
    }

    /// `send`, then the body decoded as `T` (`.undecodable` when it is not one).
    func fetch<T: Decodable>(_ type: T.Type, _ request: APIRequest) async throws(KubeError) -> T {
        let response = try await send(request)
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw KubeError(undecodable: response.body, error: error, verb: request.verb, resource: request.resource)
        }
    }

    /// A 2xx response whose body is still arriving (a watch); any other status is read to
    /// its end (at most 64 KiB) and thrown as its `KubeError`.
    func stream(_ request: APIRequest) async throws(KubeError) -> StreamingResponse {
        try pause.check(request)
        let response = try await authorized(request) { try await http.stream($0) } status: { $0.status }
        guard (200..<300).contains(response.status) else {
            var body: [UInt8] = []
            do {
                for try await chunk in response.body {
                    body += chunk
                    if body.count >= 64 * 1024 { break }
                }
            } catch {
                // A failure body cut short still says something; the status is what counts.
            }
            throw refusal(KubeError(status: response.status, headers: response.headers, body: body,
                                    verb: request.verb, resource: request.resource))
        }
        return response
    }

    /// Runs `attempt` with the current token, and once more with a re-read one when the
    /// server answered 401 and the token file now holds a different token. Each exchange
    /// is counted by verb and status (0: no HTTP answer).
    private func authorized<Response>(
        _ request: APIRequest,
        _ attempt: (HTTPRequest) async throws -> Response,
        status: (Response) -> Int
    ) async throws(KubeError) -> Response {
        let used = token.current()
        do {
            let first = try await counted(request) { try await attempt(httpRequest(request, token: used)) } status: { status($0) }
            guard status(first) == 401, let renewed = token.renewed(after: used) else { return first }
            return try await counted(request) { try await attempt(httpRequest(request, token: renewed)) } status: { status($0) }
        } catch {
            throw KubeError(transport: error, verb: request.verb, resource: request.resource)
        }
    }

    private func counted<Response>(
        _ request: APIRequest, _ exchange: () async throws -> Response, status: (Response) -> Int
    ) async throws -> Response {
        do {
            let response = try await exchange()
            metrics.count(verb: request.verb, code: status(response))
            return response
        } catch {
            metrics.count(verb: request.verb, code: 0)
            throw error
        }
    }

    private func httpRequest(_ request: APIRequest, token: String?) -> HTTPRequest {
        var headers: HTTPHeaders = ["Accept": "application/json", "User-Agent": userAgent]
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let contentType = request.contentType { headers.add(name: "Content-Type", value: contentType) }
        return HTTPRequest(method: request.method, url: server + request.path, headers: headers,
                           body: request.body, timeout: request.timeout)
    }
}
