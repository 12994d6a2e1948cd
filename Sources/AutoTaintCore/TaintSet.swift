/// A taint as the list arithmetic needs to see it. The API client's own taint type
/// conforms, so foreign taints travel through the arithmetic with every field they had.
public protocol TaintFields: Equatable {
    var key: String { get }
    /// An absent value reads as "", as the API server treats it.
    var value: String { get }
    var effect: String { get }
}

extension TaintFields {
    public func matches(_ spec: TaintSpec) -> Bool {
        key == spec.key && value == spec.value && effect == spec.effect.rawValue
    }
}

/// The taint list to write, and what it changes of ours.
public struct TaintPlan<Taint: TaintFields> {
    /// The whole list: `spec.taints` is atomic, so a write replaces it entirely.
    public var taints: [Taint]
    public var added: [TaintSpec]
    public var removed: [Taint]

    public var changesSomething: Bool { !added.isEmpty || !removed.isEmpty }
}

/// Taint list arithmetic that never touches a foreign taint.
public enum TaintSet {
    /// Rebuilds `current` so that of the taints whose key is one of `ownKeys` exactly
    /// `wanted` remain. Every other taint stays as it is, where it is; an own taint that
    /// is already right stays in place (no reordering, so no needless write); a missing
    /// one is appended. An own key with another value or effect (a hand-made one, or an
    /// old config's) is removed.
    public static func plan<Taint: TaintFields>(
        current: [Taint], ownKeys: Set<String>, wanted: [TaintSpec], make: (TaintSpec) -> Taint
    ) -> TaintPlan<Taint> {
        var taints: [Taint] = []
        var removed: [Taint] = []
        var present: [TaintSpec] = []
        for taint in current {
            guard ownKeys.contains(taint.key) else {
                taints.append(taint)
                continue
            }
            if let spec = wanted.first(where: { taint.matches($0) }), !present.contains(spec) {
                present.append(spec)
                taints.append(taint)
            } else {
                removed.append(taint)
            }
        }
        let added = wanted.filter { !present.contains($0) }
        taints += added.map(make)
        return TaintPlan(taints: taints, added: added, removed: removed)
    }
}

/// `key=value:Effect`, or `key:Effect` without a value, as kubectl writes a taint.
func taintText(key: String, value: String, effect: String) -> String {
    value.isEmpty ? "\(key):\(effect)" : "\(key)=\(value):\(effect)"
}

extension TaintFields {
    public var text: String { taintText(key: key, value: value, effect: effect) }
}

extension TaintSpec {
    public var text: String { taintText(key: key, value: value, effect: effect.rawValue) }
}
