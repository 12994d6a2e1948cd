/// Collects a whole response in memory for `HTTPClient.send(_:)`.
final class ResponseBuffer: ResponseSink {
    private(set) var response = HTTPResponse(status: 0, headers: [:], body: [])

    func receiveHead(status: Int, headers: HTTPHeaders) {
        response.status = status
        response.headers = headers
    }

    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        response.body.append(contentsOf: bytes)
        return true
    }
}
