import CurlHTTP
import FoundationEssentials
@testable import KubeClient
import LibFuzzerDriver

/// Fuzz target: the input as a body from the API server, decoded as each thing the
/// agent reads: a Node (GET), a watch event line, a Status and the error made of a
/// failure's body, and any JSON value; and, JSON being YAML too, as a kubeconfig file (read without opening the files
/// it names). A decoded Node's taints must write back as the same taints (the agent
/// PATCHes them back, keeping fields it does not know).
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
    // A failed request's error, as the agent logs it: the Status's message, or the start
    // of whatever body came.
    let error = KubeError(status: 422, headers: HTTPHeaders(), body: Array(bytes), verb: "PATCH", resource: "nodes/n1")
    require(!error.message.isEmpty, "no message for a 422 with body \(Array(bytes))")
    _ = try? decoder.decode(JSONValue.self, from: body)
    do throws(KubeCredentialsError) {
        let credentials = try Kubeconfig.credentials(yaml: String(decoding: bytes, as: UTF8.self), path: "/fuzz/kubeconfig")
        require(!credentials.server.isEmpty, "credentials without a server: \(credentials.origin)")
    } catch {
        _ = error.description
    }
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
