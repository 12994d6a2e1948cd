/// `{"metadata":{"resourceVersion":RV},"spec":{"taints":[...]}}`: the whole taint list
/// (it is atomic), written only if the Node is still at `RV`.
struct TaintsPatch: Encodable {
    struct Metadata: Encodable {
        var resourceVersion: String
    }

    struct Spec: Encodable {
        /// Encoded even when empty (`[]` removes every taint; an absent member would not).
        var taints: [Taint]
    }

    var metadata: Metadata
    var spec: Spec

    init(taints: [Taint], resourceVersion: String) {
        metadata = Metadata(resourceVersion: resourceVersion)
        spec = Spec(taints: taints)
    }
}

/// `{"status":{"conditions":[...]}}` for the status subresource: merged by `type`.
struct ConditionsPatch: Encodable {
    struct Status: Encodable {
        var conditions: [NodeCondition]
    }

    var status: Status

    init(conditions: [NodeCondition]) {
        status = Status(conditions: conditions)
    }
}
