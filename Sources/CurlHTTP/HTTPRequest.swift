/// The HTTP methods the agent sends.
public enum HTTPMethod: String, Sendable, Equatable {
    case get = "GET"
    case post = "POST"
    case put = "PUT"
    case patch = "PATCH"
    case delete = "DELETE"
}

/// One request for `HTTPClient.send(_:)` or `HTTPClient.stream(_:)`.
///
/// `url` is absolute (`https://host:port/path?query`) and already percent-encoded. Header
/// names and values must not contain line breaks; such a request fails with `CurlError`.
/// A body goes out exactly as given, with the `Content-Type` the headers name (none when
/// they name none).
public struct HTTPRequest: Sendable, Equatable {
    public var method: HTTPMethod
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]?
    /// Replaces `HTTPClientOptions.timeout` for this request, e.g. for a long watch.
    public var timeout: Duration?

    public init(
        method: HTTPMethod = .get,
        url: String,
        headers: HTTPHeaders = [:],
        body: [UInt8]? = nil,
        timeout: Duration? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}
