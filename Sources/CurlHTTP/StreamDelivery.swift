/// Hands a streaming response to its reader: the head to the task waiting in
/// `HTTPClient.stream(_:)`, then each piece of the body to the `StreamingResponse.body` stream.
final class StreamDelivery: ResponseSink {
    /// Until the head is in: the waiting task, and the body stream to give it. Not kept
    /// after that, so that the reader dropping the stream terminates it.
    private var waiting: (waiter: CheckedContinuation<StreamingResponse, any Error>, body: AsyncThrowingStream<[UInt8], any Error>)?
    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation

    /// `onReaderGone` runs, on any thread, when the reader cancels or drops the body.
    init(waiter: CheckedContinuation<StreamingResponse, any Error>, onReaderGone: @escaping @Sendable () -> Void) {
        let (body, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        continuation.onTermination = { termination in
            if case .cancelled = termination { onReaderGone() }
        }
        waiting = (waiter, body)
        self.continuation = continuation
    }

    func receiveHead(status: Int, headers: HTTPHeaders) {
        guard let (waiter, body) = waiting else { return }
        waiting = nil
        waiter.resume(returning: StreamingResponse(status: status, headers: headers, body: body))
    }

    /// False once the reader has gone: then the transfer stops.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if case .terminated = continuation.yield(Array(bytes)) { return false }
        return true
    }

    /// Ends the body; a transfer that failed before its head fails the waiting task instead.
    func finish(_ result: Result<Void, any Error>) {
        switch result {
        case .success:
            continuation.finish()
        case .failure(let error):
            waiting?.waiter.resume(throwing: error)
            continuation.finish(throwing: error)
        }
        waiting = nil
    }
}
