import CCurlShim
import Dispatch

/// One libcurl easy handle, kept in its own multi handle, and the serial queue that runs
/// its transfers one after another.
///
/// Because every transfer reuses the same handles, a lane keeps its connection (in the
/// multi handle's cache) and its TLS session between requests. A transfer waits in
/// `curl_multi_poll`; `wakeUp()` ends that wait from any thread, which is how cancellation
/// takes effect at once (libcurl's progress callback runs only about once a second on an
/// idle connection, too late for a cancelled watch).
final class TransferLane: @unchecked Sendable {
    // @unchecked: `easy`, `multi` and `errorBuffer` are used only on `queue`, which is
    // serial, and in deinit; the one exception, `curl_multi_wakeup`, may be called from any
    // thread (libcurl documents it so).
    private let queue: DispatchQueue
    private let easy: UnsafeMutableRawPointer
    private let multi: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let options: HTTPClientOptions
    private let keepsConnections: Bool

    /// `keepsConnections` false: each transfer's connection is closed when it ends.
    init(label: String, options: HTTPClientOptions, keepsConnections: Bool = true) throws(CurlError) {
        let context = "creating the libcurl handles for \(label)"
        let global = CurlGlobal.initResult
        guard global == CURLE_OK else { throw CurlError(global, context: context) }
        guard let easy = curl_easy_init() else { throw CurlError(CURLE_FAILED_INIT, context: context) }
        guard let multi = curl_multi_init() else {
            curl_easy_cleanup(easy)
            throw CurlError(CURLE_FAILED_INIT, context: context)
        }
        self.easy = easy
        self.multi = multi
        self.options = options
        self.keepsConnections = keepsConnections
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        queue = DispatchQueue(label: label)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_multi_cleanup(multi)  // closes the cached connections
        errorBuffer.deallocate()
    }

    private static let pollCapMilliseconds: Int32 = 60_000

    /// Runs `work` on the lane's queue after everything submitted before it.
    func submit(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    /// Interrupts the running transfer's wait so it sees a cancellation at once; harmless
    /// when nothing runs (the next transfer's first wait merely returns early).
    func wakeUp() {
        _ = curl_multi_wakeup(multi)
    }

    /// Runs one transfer to its end on the lane's queue (call it from `submit`), handing the
    /// response to `sink`. Fails with `CancellationError` once `cancellation` is set, with
    /// `CurlError` when there is no complete response, except that a non-2xx status that
    /// arrived is the response, its body as far as it came.
    func perform(_ request: HTTPRequest, into sink: some ResponseSink, cancellation: TransferCancellation) -> Result<Void, any Error> {
        dispatchPrecondition(condition: .onQueue(queue))
        if cancellation.isCancelled { return .failure(CancellationError()) }
        let setup = TransferSetup(options: options, request: request, keepsConnection: keepsConnections)
        let receiver = ResponseReceiver(easy: easy, sink: sink)
        curl_easy_reset(easy)
        errorBuffer[0] = 0
        let code: CURLcode
        do {
            let headers = try setup.headerList()
            defer { curl_slist_free_all(headers) }
            try setup.apply(
                to: easy, headers: headers, errorBuffer: errorBuffer,
                receiver: Unmanaged.passUnretained(receiver).toOpaque()
            )
            code = try withExtendedLifetime(receiver) { () throws(CurlError) in try run(cancellation, setup.context) }
        } catch {
            return .failure(error)
        }
        if cancellation.isCancelled { return .failure(CancellationError()) }
        // A refusal that arrived is the answer, whatever libcurl says of the rest: an HTTP/2
        // server may answer a 401 or 403 before reading the request's body and then reset
        // the stream, which libcurl 7.88 reports as a partial transfer (curl error 18).
        guard code == CURLE_OK || receiver.deliverArrivedRefusal() else {
            let message = errorBuffer[0] == 0 ? String(cString: curl_easy_strerror(code)) : String(cString: errorBuffer)
            return .failure(CurlError(code, message: message, context: setup.context))
        }
        guard receiver.headComplete else {
            return .failure(CurlError(kind: .other, code: Int(CURLE_WEIRD_SERVER_REPLY.rawValue),
                                      message: "the response ended before its headers", context: setup.context))
        }
        return .success(())
    }

    /// Drives the easy handle until its transfer is done or cancelled; returns libcurl's
    /// result (a cancelled transfer is removed half-way, which closes its connection).
    private func run(_ cancellation: TransferCancellation, _ context: String) throws(CurlError) -> CURLcode {
        let added = curl_multi_add_handle(multi, easy)
        guard added == CURLM_OK else { throw CurlError(added, context: context) }
        defer { curl_multi_remove_handle(multi, easy) }
        var running: Int32 = 1
        while running > 0, !cancellation.isCancelled {
            var status = curl_multi_perform(multi, &running)
            if status == CURLM_OK, running > 0 {
                // Returns on socket activity, libcurl's own timers (it shortens the wait to
                // its next one: the connect and request timeouts), or a wakeUp(), which is
                // how a cancellation arrives. The cap is only a backstop: a 1 s cap woke a
                // quiet watch once a second for nothing.
                status = curl_multi_poll(multi, nil, 0, Self.pollCapMilliseconds, nil)
            }
            guard status == CURLM_OK else { throw CurlError(status, context: context) }
        }
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            if message.pointee.msg == CURLMSG_DONE { return message.pointee.data.result }
        }
        return CURLE_ABORTED_BY_CALLBACK  // cancelled before libcurl finished
    }
}
