import AutoTaintCore

/// Where the agent's decisions go: the Node on the API server, or only the log in a dry
/// run. The agent loop owns its updater and calls it from one task.
public protocol NodeUpdater {
    /// Reads what the Node already carries, before the first tick, and returns the
    /// signals whose own taint is already on it, so a restart in pressure adopts the
    /// taint instead of removing and re-adding it.
    mutating func start(_ config: Config) async -> Set<SignalKind>

    /// Brings the agent's own taints and conditions on the Node in line with `view`.
    mutating func update(to view: DesiredNodeView, _ config: Config, at now: Instant) async

    /// On shutdown: removes own taints (when the config says so) and reports `stopped`.
    mutating func stop(_ stopped: [ConditionReport], _ config: Config) async
}
