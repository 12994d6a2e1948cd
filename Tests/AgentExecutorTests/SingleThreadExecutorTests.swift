import Glibc
import Synchronization
import Testing
@testable import AgentExecutor

private final class Order: Sendable {
    let ends = Mutex<[Int]>([])
}

/// The thread a job runs on.
private func threadID() -> pthread_t { pthread_self() }

@Test(.timeLimit(.minutes(1))) func tasksThatPreferTheExecutorRunOnItsOneThread() async {
    let executor = SingleThreadExecutor.shared
    let threads = await withTaskExecutorPreference(executor) {
        await withTaskGroup(of: pthread_t.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let before = threadID()
                    await Task.yield()
                    #expect(threadID() == before)
                    return before
                }
            }
            return await group.reduce(into: Set<pthread_t>()) { $0.insert($1) }
        }
    }
    #expect(threads.count == 1)
}

@Test(.timeLimit(.minutes(1))) func aSleepEndsNoEarlierThanItsDeadline() async throws {
    let clock = ExecutorClock()
    let deadline = clock.now.advanced(by: .milliseconds(50))
    try await withTaskExecutorPreference(SingleThreadExecutor.shared) {
        try await clock.sleep(until: deadline)
    }
    #expect(clock.now >= deadline)
}

/// Sleeps that overlap each end at their own deadline, not another's (the order among them
/// is TimerQueue's, tested there; here, how busy the machine is decides when each began).
@Test(.timeLimit(.minutes(1))) func overlappingSleepsEachEndNoEarlierThanTheirOwnDeadline() async throws {
    let clock = ExecutorClock()
    let start = clock.now
    let early = Order()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in [3, 2, 1, 0] {
            group.addTask {
                let deadline = start.advanced(by: .milliseconds(20 * (index + 1)))
                try await clock.sleep(until: deadline)
                if clock.now < deadline { early.ends.withLock { $0.append(index) } }
            }
        }
        try await group.waitForAll()
    }
    #expect(early.ends.withLock { $0 }.isEmpty)
}

@Test(.timeLimit(.minutes(1))) func cancellingASleepEndsItAtOnceWithCancellationError() async {
    let sleeping = Task {
        try await ExecutorClock().sleep(for: .seconds(3_600))
    }
    try? await Task.sleep(for: .milliseconds(20))
    sleeping.cancel()
    await #expect(throws: CancellationError.self) { try await sleeping.value }
}

@Test(.timeLimit(.minutes(1))) func aSleepOfAnAlreadyCancelledTaskThrowsWithoutWaiting() async {
    let sleeping = Task {
        withUnsafeCurrentTask { $0?.cancel() }
        try await ExecutorClock().sleep(for: .seconds(3_600))
    }
    await #expect(throws: CancellationError.self) { try await sleeping.value }
}

@Test(.timeLimit(.minutes(1))) func aSleepThatIsDueAlreadyEnds() async throws {
    let clock = ExecutorClock()
    try await clock.sleep(until: clock.now.advanced(by: .seconds(-1)))
}
