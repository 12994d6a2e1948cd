import AgentExecutor
import AutoTaintCore
import FoundationEssentials

/// Follows one Node for `KubeAPI.nodeUpdates`: a LIST of it by name, then watches from the
/// list's resourceVersion, for as long as the consuming task lives.
///
/// Every way a watch ends leads back into the loop: closed by the server (its
/// `timeoutSeconds`) → watch again from the last resourceVersion seen (events and
/// bookmarks both move it); 410 → LIST again and watch from the fresh one; any failure →
/// log it and wait out the backoff. Only a watch that stayed open for a second resets the
/// backoff and may be renewed without waiting, so the loop never spins, whatever the
/// server does.
struct NodeWatcher: Sendable {
    let api: KubeAPI
    let name: String

    private struct Outcome {
        enum Ending {
            case closed
            case expired
            case failed(String)
        }

        var ending = Ending.closed
        var resourceVersion: String
        /// The watch stayed open for at least a second: the server is there and willing.
        var healthy = false
    }

    func updates() -> AsyncStream<Node> {
        // A consumer that fell behind needs only the newest Node.
        let (stream, continuation) = AsyncStream.makeStream(of: Node.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task(executorPreference: api.watchExecutor) {
            await follow(continuation)
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func follow(_ continuation: AsyncStream<Node>.Continuation) async {
        // Every agent's watch drops at the same moment when the API server restarts: the
        // whole period's jitter spreads their re-watches after it is back, and a period
        // that triples (1, 3, 9, 27, then 30 s) rather than doubles is wider when it comes
        // back. bench/reconnect_model.py, 10 s down, N = 50 to 200: the peak of re-watches
        // in a second averages 0.15 to 0.12 N (doubling 0.20 to 0.17 N, client-go's
        // reflector 0.25 to 0.20 N), every one back within 41 s.
        var backoff = RetryBackoff(base: api.settings.initialBackoff, cap: api.settings.maximumBackoff, spread: .full,
                                   growth: 3)
        var resourceVersion: String?
        while !Task.isCancelled {
            guard let from = resourceVersion else {
                do {
                    let listed = try await api.listNode(name)
                    continuation.yield(listed.node)
                    resourceVersion = listed.resourceVersion
                } catch {
                    report("cannot read node \(name): \(error)")
                    try? await ExecutorClock().sleep(for: backoff.delayAfterFailure(jitter: .random(in: 0..<1)))
                }
                continue
            }
            let outcome = await watch(from: from, continuation)
            resourceVersion = outcome.resourceVersion
            if outcome.healthy { backoff.recordSuccess() }
            switch outcome.ending {
            case .closed where outcome.healthy:
                continue
            case .closed:
                report("the watch of node \(name) closed at once")
            case .expired:
                report("the watch of node \(name) expired (resourceVersion \(outcome.resourceVersion) is too old); reading the node again")
                resourceVersion = nil
                if outcome.healthy { continue }
            case .failed(let problem):
                report("the watch of node \(name) failed: \(problem)")
            }
            try? await ExecutorClock().sleep(for: backoff.delayAfterFailure(jitter: .random(in: 0..<1)))
        }
    }

    /// One watch request, read to its end.
    private func watch(from resourceVersion: String, _ continuation: AsyncStream<Node>.Continuation) async -> Outcome {
        let started = ContinuousClock.now
        var outcome = Outcome(resourceVersion: resourceVersion)
        let seconds = max(1, Int(api.settings.watchTimeout.components.seconds) * Int.random(in: 90...110) / 100)
        let request = APIRequest(
            verb: "WATCH",
            path: "/api/v1/nodes?fieldSelector=metadata.name%3D\(name.percentEncoded)&watch=true"
                + "&resourceVersion=\(resourceVersion.percentEncoded)&allowWatchBookmarks=true&timeoutSeconds=\(seconds)",
            resource: "nodes/\(name)",
            // The server ends the watch; this only catches a connection that went silent.
            timeout: .seconds(seconds + 30)
        )
        do {
            let response = try await api.connection.stream(request)
            let decoder = JSONDecoder()
            for try await line in response.lines where !line.isEmpty {
                let event: WatchEvent
                do {
                    event = try decoder.decode(WatchEvent.self, from: Data(line))
                } catch {
                    throw KubeError(undecodable: line, error: error, verb: request.verb, resource: request.resource)
                }
                switch event {
                case .node(let change, let node):
                    outcome.resourceVersion = node.resourceVersion
                    if change == .deleted {
                        report("node \(name) was deleted")
                    } else {
                        continuation.yield(node)
                    }
                case .bookmark(let latest):
                    outcome.resourceVersion = latest
                case .error(let status) where status.code == 410:
                    outcome.ending = .expired
                case .error(let status):
                    outcome.ending = .failed("the server ended it: \(status.summary)")
                }
            }
        } catch let error as KubeError {
            outcome.ending = error.kind == .unexpectedStatus(410) ? .expired : .failed(error.description)
        } catch {
            // The body broke off: a reset, or the request timeout on a silent connection.
            outcome.ending = .failed(KubeError(transport: error, verb: request.verb, resource: request.resource).description)
        }
        outcome.healthy = started.duration(to: .now) >= .seconds(1)
        return outcome
    }

    /// Logs `message` unless the consumer has gone, which is no news.
    private func report(_ message: String) {
        if !Task.isCancelled { api.log(message) }
    }
}
