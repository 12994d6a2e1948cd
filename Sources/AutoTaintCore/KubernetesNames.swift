/// The name syntaxes the API server enforces (apimachinery's validation package), checked
/// here so a bad taint key is an error at startup instead of a 422 on every PATCH.
enum KubernetesNames {
    static let dnsSubdomainRule =
        "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"
    static let nameRule =
        "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"

    /// Why `key` is not a qualified name (`[prefix/]name`, as taint keys are), or nil.
    static func qualifiedNameProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return isName(parts[0]) ? nil : "it must be \(nameRule)"
        case 2 where !isDNSSubdomain(parts[0]):
            return "the prefix before '/' must be a DNS subdomain: \(dnsSubdomainRule)"
        case 2:
            return isName(parts[1]) ? nil : "the name after '/' must be \(nameRule)"
        default:
            return "it has more than one '/'"
        }
    }

    /// Label values (and so taint values) are names that may also be empty.
    static func isLabelValue(_ value: String) -> Bool {
        value.isEmpty || isName(Substring(value))
    }

    /// `prefix` is `kubernetes.io` or `k8s.io` or a subdomain of either, which Kubernetes
    /// keeps for itself (`node.kubernetes.io/…` taints belong to the node lifecycle controller).
    static func isReservedPrefix(_ prefix: Substring) -> Bool {
        ["kubernetes.io", "k8s.io"].contains { prefix == $0 || prefix.hasSuffix("." + $0) }
    }

    static func isDNSSubdomain(_ name: some StringProtocol) -> Bool {
        let isLowerAlphanumeric = { (c: Character) in c.isASCII && (c.isLowercase || c.isNumber) }
        return (1...253).contains(name.count) && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            guard let first = $0.first, let last = $0.last else { return false }
            return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
                && $0.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
        }
    }

    private static func isName(_ name: Substring) -> Bool {
        let isAlphanumeric = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber) }
        guard let first = name.first, let last = name.last, name.count <= 63 else { return false }
        return isAlphanumeric(first) && isAlphanumeric(last)
            && name.allSatisfy { isAlphanumeric($0) || "-_.".contains($0) }
    }
}
