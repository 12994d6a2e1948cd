import Testing
@testable import AgentExecutor

@Test func itemsComeOutEarliestFirstAndInArrivalOrderAmongEqualDeadlines() {
    var queue = TimerQueue<Int, String>()
    queue.add("c", at: 30)
    queue.add("a", at: 10)
    queue.add("b1", at: 20)
    queue.add("b2", at: 20)
    #expect(queue.nextDeadline == 10)
    var due: [String] = []
    queue.removeDue(at: 20, into: &due)
    #expect(due == ["a", "b1", "b2"])
    #expect(queue.nextDeadline == 30)
    queue.removeDue(at: 29, into: &due)
    #expect(due == ["a", "b1", "b2"])
    queue.removeDue(at: 30, into: &due)
    #expect(due == ["a", "b1", "b2", "c"])
    #expect(queue.nextDeadline == nil)
}

@Test func removingByItemLeavesTheOthersInOrder() {
    var queue = TimerQueue<Int, Int>()
    for (item, deadline) in [(1, 5), (2, 1), (3, 5), (4, 3)] { queue.add(item, at: deadline) }
    #expect(queue.remove { $0 == 3 } == 3)
    #expect(queue.remove { $0 == 3 } == nil)
    var due: [Int] = []
    queue.removeDue(at: .max, into: &due)
    #expect(due == [2, 4, 1])
}

/// Any sequence of additions drains in deadline order, stable among equals.
@Test(arguments: 0..<20) func drainingIsAStableSortByDeadline(seed: Int) {
    var generator = SplitMix(seed: UInt64(seed))
    var queue = TimerQueue<Int, Int>()
    var added: [(deadline: Int, item: Int)] = []
    for item in 0..<Int(generator.next() % 40) {
        let deadline = Int(generator.next() % 8)
        queue.add(item, at: deadline)
        added.append((deadline, item))
    }
    var due: [Int] = []
    queue.removeDue(at: 8, into: &due)
    let expected = added.enumerated().sorted { ($0.element.deadline, $0.offset) < ($1.element.deadline, $1.offset) }
        .map { $0.element.item }
    #expect(due == expected)
}

private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
