/// Items waiting for their deadlines, earliest first, and in the order they came among
/// equal deadlines. A handful at most (the tick, a backoff, a shutdown bound), so a sorted
/// array.
struct TimerQueue<Deadline: Comparable, Item> {
    private var entries: [(deadline: Deadline, item: Item)] = []

    var nextDeadline: Deadline? { entries.first?.deadline }

    mutating func add(_ item: Item, at deadline: Deadline) {
        let index = entries.firstIndex { $0.deadline > deadline } ?? entries.endIndex
        entries.insert((deadline, item), at: index)
    }

    /// Moves the items due at `now` to the end of `due`, earliest first.
    mutating func removeDue(at now: Deadline, into due: inout [Item]) {
        let end = entries.firstIndex { $0.deadline > now } ?? entries.endIndex
        // A closure, not `\.item`: a key path of a generic type is built at run time, on
        // every call (a third of a tick's instructions).
        due.append(contentsOf: entries[..<end].lazy.map { $0.item })
        entries.removeFirst(end)
    }

    /// Removes and returns the first item that `matches`, if any.
    mutating func remove(where matches: (Item) -> Bool) -> Item? {
        guard let index = entries.firstIndex(where: { matches($0.item) }) else { return nil }
        return entries.remove(at: index).item
    }
}
