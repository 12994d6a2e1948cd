import AgentExecutor

/// Runs `operation` for at most `limit`; nil when the limit came first (the operation is
/// then cancelled, which aborts an HTTP transfer in flight).
func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await ExecutorClock().sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
