import HTTPEndpoint
import ServiceLifecycle

/// `/metrics`, `/healthz` and `/readyz` on `server.address`, as a swift-service-lifecycle
/// `Service`: the endpoint is already listening when the service is made (so a port in
/// use fails the start, and probes are answered during the start-up read of the Node);
/// `run` keeps it up until the graceful shutdown reaches it, then stops it. It is the
/// group's first service, so it is stopped last.
public struct MetricsServer: Service {
    private let endpoint: HTTPEndpoint

    public init(endpoint: HTTPEndpoint) {
        self.endpoint = endpoint
    }

    /// The three routes: the Prometheus text of `export` (with `process` read just before),
    /// and the verdicts of `health` (200 or 503, with a one-line reason).
    public static func routes(
        export: PrometheusExport, health: AgentHealth, process: ProcessStats
    ) -> [String: HTTPEndpoint.Route] {
        [
            "/metrics": {
                process.update()
                return HTTPEndpoint.Response(status: 200, contentType: PrometheusExport.contentType, body: export.render())
            },
            "/healthz": { answer(health.liveness()) },
            "/readyz": { answer(health.readiness()) },
        ]
    }

    static func answer(_ verdict: AgentHealth.Verdict) -> HTTPEndpoint.Response {
        .text(verdict.ok ? 200 : 503, verdict.message)
    }

    public func run() async throws {
        defer { endpoint.stop() }
        try? await gracefulShutdown()
    }
}
