import Glibc

/// A `TaskExecutor` with one thread of its own, which also keeps the timers of
/// `ExecutorClock`.
///
/// The agent runs on it from `main` (`withTaskExecutorPreference`), so a quiet tick costs
/// one thread wake-up: the thread sleeps until the loop's next tick, or until a job comes
/// from another thread (an HTTP answer, a watch event, a signal), and then runs the jobs
/// one after another: the loop's tick, and NodeSync's work when the tick has some. On the
/// global executor the same tick took three hand-offs between Dispatch's threads, and once
/// a Dispatch worker had run, the pool's monitor woke every second for good
/// (docs/performance.md). Nothing run on it blocks: HTTP transfers run on their lanes'
/// threads and /metrics on libmicrohttpd's; their answers come back here as jobs.
public final class SingleThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: every stored `var` is read and written with `lock` held only.
    private struct Sleeper {
        let id: UInt64
        let continuation: UnsafeContinuation<Void, any Error>
    }

    private var ready: [UnownedJob] = []
    private var sleepers = TimerQueue<ContinuousClock.Instant, Sleeper>()
    /// Sleeps cancelled before their continuation was registered.
    private var cancelledSleeps: Set<UInt64> = []
    private var lastSleepID: UInt64 = 0
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>

    /// The agent's executor; its thread starts on first use and lives as long as the process.
    public static let shared = SingleThreadExecutor()

    private init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
        wake = .allocate(capacity: 1)
        wake.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(wake, &attributes)
        pthread_condattr_destroy(&attributes)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            Unmanaged<SingleThreadExecutor>.fromOpaque(context!).takeRetainedValue().runJobs()
        }, Unmanaged.passRetained(self).toOpaque())
        precondition(started == 0, "cannot start the executor's thread: error \(started)")
        pthread_detach(thread)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        withLock { ready.append(job) }
        // Without a waiter (a job queued by a job, the usual case) this is no system call.
        pthread_cond_signal(wake)
    }

    /// Suspends the calling task until `deadline`, or throws `CancellationError` as soon as
    /// it is cancelled. The resumed task goes on on its own executor: this one's thread when
    /// it prefers this executor, without a hand-off.
    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = withLock {
            lastSleepID &+= 1
            return lastSleepID
        }
        // A cancellation that lands before the continuation is registered leaves its mark,
        // which lasts only as long as the sleep.
        defer { withLock { _ = cancelledSleeps.remove(id) } }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                let cancelled = withLock {
                    if cancelledSleeps.contains(id) { return true }
                    sleepers.add(Sleeper(id: id, continuation: continuation), at: deadline)
                    return false
                }
                if cancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    pthread_cond_signal(wake)
                }
            }
        } onCancel: {
            let sleeper = withLock {
                let sleeper = sleepers.remove { $0.id == id }
                if sleeper == nil { cancelledSleeps.insert(id) }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The thread's whole life: run the jobs that are ready, wake the sleepers that are
    /// due, and otherwise wait for the next deadline or a job queued from another thread.
    private func runJobs() -> Never {
        Self.nameThisThread("agent-executor")
        var jobs: [UnownedJob] = []
        var due: [Sleeper] = []
        pthread_mutex_lock(lock)
        while true {
            if sleepers.nextDeadline != nil { sleepers.removeDue(at: .now, into: &due) }
            if !ready.isEmpty || !due.isEmpty {
                swap(&jobs, &ready)
                pthread_mutex_unlock(lock)
                for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
                // Each resume queues its task's job on its executor: here, for the agent's.
                for sleeper in due { sleeper.continuation.resume() }
                jobs.removeAll(keepingCapacity: true)
                due.removeAll(keepingCapacity: true)
                pthread_mutex_lock(lock)
            } else if let deadline = sleepers.nextDeadline {
                var until = Self.monotonicTime(after: ContinuousClock.now.duration(to: deadline))
                pthread_cond_timedwait(wake, lock, &until)
            } else {
                pthread_cond_wait(wake, lock)
            }
        }
    }

    /// CLOCK_MONOTONIC `span` from now: the clock `wake` waits by. Deadlines are in
    /// ContinuousClock's (boot) time; the two differ only across a suspend of the machine,
    /// which makes the one wait it spans late.
    private static func monotonicTime(after span: Duration) -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        let (seconds, attoseconds) = span.components
        let nanoseconds = time.tv_nsec + Int(attoseconds / 1_000_000_000)
        time.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        time.tv_nsec = nanoseconds % 1_000_000_000
        return time
    }

    /// Names the calling thread in /proc/PID/task/TID/comm (pthread_setname_np does not
    /// import without _GNU_SOURCE), so per-thread figures say which thread is which.
    private static func nameThisThread(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        var bytes = Array(name.utf8)
        _ = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    private func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }
}

/// `ContinuousClock`'s time, with sleeps kept by `SingleThreadExecutor.shared`'s thread: a
/// task that runs on that executor wakes from one without another thread's help. Product
/// code sleeps on it rather than with `Task.sleep`, whose timers are Dispatch's (and wake a
/// Dispatch worker, which starts the pool's once-a-second monitor for good).
public struct ExecutorClock: Clock {
    public typealias Instant = ContinuousClock.Instant

    public init() {}

    public var now: Instant { .now }
    public var minimumResolution: Duration { ContinuousClock().minimumResolution }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await SingleThreadExecutor.shared.sleep(until: deadline)
    }
}
