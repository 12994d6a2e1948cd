import FoundationEssentials
@testable import KubeClient
import LibFuzzerDriver

/// Fuzz target: the input as a body from the API server, decoded as each thing the
/// agent reads: a Node (GET), a watch event line, a Status (an error body) and any JSON
/// value. A decoded Node's taints must write back as the same taints (the agent PATCHes
/// them back, keeping fields it does not know).
LibFuzzer.run { bytes in
    let body = Data(bytes)
    let decoder = JSONDecoder()
    if let node = try? decoder.decode(Node.self, from: body) {
        checkTaintsRoundTrip(node.taints)
    }
    switch try? decoder.decode(WatchEvent.self, from: body) {
    case .node(_, let node): checkTaintsRoundTrip(node.taints)
    case .error(let status): _ = status.summary
    case .bookmark, nil: break
    }
    if let status = try? decoder.decode(KubeStatus.self, from: body) {
        _ = status.summary
    }
    _ = try? decoder.decode(JSONValue.self, from: body)
}

private func checkTaintsRoundTrip(_ taints: [Taint]) {
    let written: Data
    do {
        written = try JSONEncoder().encode(taints)
    } catch {
        finding("taints \(taints) do not encode: \(error)")
    }
    let reread = try? JSONDecoder().decode([Taint].self, from: written)
    require(reread == taints, "taints \(taints) read back as \(String(describing: reread))")
}
