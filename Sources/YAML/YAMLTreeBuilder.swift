/// Assembles a node tree from parse events, one document at most.
/// Aliases are refused rather than resolved: resolving can expand exponentially or loop,
/// and a config file has no need for them. Explicit tags are refused because they
/// would change what a scalar means without the reader of the file noticing.
struct YAMLTreeBuilder {
    /// A collection whose end event has not arrived yet.
    private enum OpenNode {
        case sequence([YAMLNode], mark: YAMLMark)
        case mapping([YAMLMappingEntry], pendingKey: YAMLNode?, mark: YAMLMark)
    }

    private var open: [OpenNode] = []
    private var documentCount = 0
    private(set) var root: YAMLNode?

    mutating func consume(_ event: YAMLEvent) throws(YAMLError) {
        switch event {
        case .documentStart(let mark):
            documentCount += 1
            guard documentCount == 1 else {
                throw YAMLError(at: mark, "a second YAML document starts here; the file must hold exactly one")
            }
        case .documentEnd:
            break
        case .scalar(let text, let style, let tag, let mark):
            try refuse(tag, at: mark)
            add(.scalar(text, style: style, mark: mark))
        case .alias(let anchor, let mark):
            throw YAMLError(at: mark, "aliases (*\(anchor)) are not supported; write the value out")
        case .sequenceStart(let tag, let mark):
            try refuse(tag, at: mark)
            open.append(.sequence([], mark: mark))
        case .mappingStart(let tag, let mark):
            try refuse(tag, at: mark)
            open.append(.mapping([], pendingKey: nil, mark: mark))
        case .sequenceEnd, .mappingEnd:
            // libyaml guarantees start/end events pair up, so there is always an open node.
            switch open.removeLast() {
            case .sequence(let items, let mark): add(.sequence(items, mark: mark))
            case .mapping(let entries, _, let mark): add(.mapping(entries, mark: mark))
            }
        }
    }

    private func refuse(_ tag: String?, at mark: YAMLMark) throws(YAMLError) {
        if let tag { throw YAMLError(at: mark, "tags (\(tag)) are not supported; remove the tag") }
    }

    private mutating func add(_ node: YAMLNode) {
        guard let parent = open.popLast() else {
            root = node
            return
        }
        switch parent {
        case .sequence(var items, let mark):
            items.append(node)
            open.append(.sequence(items, mark: mark))
        case .mapping(var entries, let key?, let mark):
            entries.append(YAMLMappingEntry(key: key, value: node))
            open.append(.mapping(entries, pendingKey: nil, mark: mark))
        case .mapping(let entries, nil, let mark):
            open.append(.mapping(entries, pendingKey: node, mark: mark))
        }
    }
}
