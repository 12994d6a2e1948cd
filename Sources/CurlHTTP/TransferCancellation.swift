import Synchronization

/// Aborts one transfer from any thread: sets a flag the lane checks between waits, then
/// wakes the lane so the check happens at once.
final class TransferCancellation: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let lane: TransferLane

    init(lane: TransferLane) {
        self.lane = lane
    }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
        lane.wakeUp()
    }
}
