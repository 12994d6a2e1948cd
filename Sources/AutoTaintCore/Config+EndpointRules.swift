extension Config {
    /// Rules for the names and addresses the agent talks to or listens on.
    var endpointViolations: [RuleViolation] {
        var found: [RuleViolation] = []
        if !nodeName.isEmpty && !KubernetesNames.isDNSSubdomain(nodeName) {
            found.append(RuleViolation("nodeName",
                "\"\(nodeName)\" must be empty (to use --node or $NODE_NAME) or a DNS subdomain: \(KubernetesNames.dnsSubdomainRule)"))
        }
        if sampling.source == .prometheus && prometheus.url.isEmpty {
            found.append(RuleViolation("sampling.source", "prometheus needs prometheus.url; set it, or use proc or auto"))
        }
        if !prometheus.url.isEmpty && !Self.isHTTPURL(prometheus.url) {
            found.append(RuleViolation("prometheus.url",
                "\"\(prometheus.url)\" must be an http:// or https:// URL with a host, e.g. http://prometheus.monitoring.svc:9090"))
        }
        if !server.address.isEmpty && HostPort(Substring(server.address))?.port == nil {
            found.append(RuleViolation("server.address",
                "\"\(server.address)\" must be empty (no server) or [host]:port with a port from 1 to 65535, e.g. \":9469\""))
        }
        return found
    }

    private static func isHTTPURL(_ url: String) -> Bool {
        guard !url.contains(where: \.isWhitespace),
              let scheme = ["http://", "https://"].first(where: url.hasPrefix)
        else { return false }
        let authority = url.dropFirst(scheme.count).prefix { !"/?#".contains($0) }
        return HostPort(authority).map { !$0.host.isEmpty } ?? false
    }
}
