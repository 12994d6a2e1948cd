import CCurlShim

/// Where a transfer's response goes once libcurl has delivered it.
protocol ResponseSink: AnyObject {
    /// The final response's status and headers (1xx responses are skipped); at most once.
    func receiveHead(status: Int, headers: HTTPHeaders)
    /// The next piece of the body. Returning false aborts the transfer.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// The userdata of libcurl's header and write callbacks for one transfer: assembles header
/// lines into a head and passes head and body on to a sink.
///
/// Used only on the thread running the transfer; the lane keeps it alive until the end.
final class ResponseReceiver {
    private let easy: UnsafeMutableRawPointer
    private let sink: any ResponseSink
    private var headers = HTTPHeaders()
    private(set) var headComplete = false

    init(easy: UnsafeMutableRawPointer, sink: any ResponseSink) {
        self.easy = easy
        self.sink = sink
    }

    /// `CURLOPT_HEADERFUNCTION`: one whole line per call, a blank line ends each head.
    static func header(_ data: UnsafeMutablePointer<CChar>?, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
        let receiver = Unmanaged<ResponseReceiver>.fromOpaque(userdata!).takeUnretainedValue()
        receiver.receiveHeaderLine(String(decoding: UnsafeRawBufferPointer(start: data, count: count), as: UTF8.self))
        return count
    }

    /// `CURLOPT_WRITEFUNCTION`: the next piece of the (decoded) body.
    static func body(_ data: UnsafeMutablePointer<CChar>?, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
        let receiver = Unmanaged<ResponseReceiver>.fromOpaque(userdata!).takeUnretainedValue()
        return receiver.sink.receiveBody(UnsafeRawBufferPointer(start: data, count: count)) ? count : 0
    }

    /// After a failed transfer: whether a final status of 300 or more had arrived. Its head,
    /// as far as it came, then goes to the sink if the blank line ending it did not.
    /// A 2xx cut short is no answer: its body is what the caller needs.
    func deliverArrivedRefusal() -> Bool {
        guard status >= 300 else { return false }
        if !headComplete {
            headComplete = true
            sink.receiveHead(status: status, headers: headers)
        }
        return true
    }

    private var status: Int {
        var status = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return status
    }

    private func receiveHeaderLine(_ line: String) {
        guard !headComplete else { return }  // trailers after a chunked body
        if line.hasPrefix("HTTP/") {
            headers = HTTPHeaders()  // a new head starts (after a 1xx or a proxy's CONNECT answer)
        } else if let field = HTTPField(headerLine: line[...]) {
            headers.add(name: field.name, value: field.value)
        } else if line.trimmingHTTPWhitespace().isEmpty {
            let status = self.status
            guard status >= 200 else { return }
            headComplete = true
            sink.receiveHead(status: status, headers: headers)
        }
    }
}
