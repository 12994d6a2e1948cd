/// Where a sample came from; shown in logs, condition messages and metrics.
public enum SampleSource: String, Equatable, Sendable {
    case proc
    case prometheus
}
