import Synchronization

/// An HTTP(S) client for one endpoint, the Kubernetes API server or Prometheus, over libcurl.
///
/// Requests share one libcurl handle and run one at a time, in the order `send` was called,
/// on the client's own serial queue (never on Swift's cooperative threads); so the
/// connection and the TLS session are kept from one request to the next. Streams use a
/// second handle and queue, made on the first `stream` call, so a long watch does not hold
/// up requests; two streams on one client run one after the other. Safe to share between
/// tasks. Connections close when the client and its last transfer are gone.
public final class HTTPClient: Sendable {
    private let options: HTTPClientOptions
    private let requests: TransferLane
    private let streams = Mutex<TransferLane?>(nil)

    /// Fails only when libcurl cannot make its handles (out of memory).
    public init(options: HTTPClientOptions = HTTPClientOptions()) throws(CurlError) {
        self.options = options
        requests = try TransferLane(label: "CurlHTTP.requests", options: options)
    }

    /// Sends `request` and returns the whole response, whatever its status.
    ///
    /// Returns once the body is complete. Throws `CurlError` when no complete response came
    /// (timeout, refused, TLS failure, connection lost), `CancellationError` when the task
    /// is cancelled: a waiting request is dropped, a running one aborted at once. A status
    /// of 300 or more that arrived is returned even when the transfer then broke (an HTTP/2
    /// early answer and stream reset), with as much of its body as came.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let lane = requests
        let cancellation = TransferCancellation(lane: lane)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lane.submit {
                    let buffer = ResponseBuffer()
                    let result = lane.perform(request, into: buffer, cancellation: cancellation)
                    continuation.resume(with: result.map { buffer.response })
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Starts `request` and returns as soon as the response's status and headers are in;
    /// the body follows in `StreamingResponse.body`, for a non-2xx status too. Each stream
    /// has a connection of its own, closed when it ends: over HTTP/2 a stream cancelled
    /// half-way would otherwise stay open at the server (libcurl queues its reset until the
    /// connection is next used, and a watch's connection is not used again until the next
    /// watch).
    ///
    /// Throws like `send` until the head is in; after that, errors (a timeout of the whole
    /// stream included) end the body. Give a watch a `timeout` longer than its
    /// `timeoutSeconds`.
    public func stream(_ request: HTTPRequest) async throws -> StreamingResponse {
        let lane = try streamLane()
        let cancellation = TransferCancellation(lane: lane)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { waiter in
                lane.submit {
                    let delivery = StreamDelivery(waiter: waiter, onReaderGone: cancellation.cancel)
                    delivery.finish(lane.perform(request, into: delivery, cancellation: cancellation))
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    private func streamLane() throws(CurlError) -> TransferLane {
        try streams.withLock { lane throws(CurlError) in
            if let lane { return lane }
            let made = try TransferLane(label: "CurlHTTP.streams", options: options, keepsConnections: false)
            lane = made
            return made
        }
    }
}
