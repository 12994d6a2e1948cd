/// A complete response from `HTTPClient.send(_:)`.
///
/// Every status is a response, not an error: the caller decides what a 409 or a 503 means.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
