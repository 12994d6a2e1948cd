/// The `host[:port]` part of a URL or listen address, split but not resolved.
/// IPv6 hosts are bracketed (`[::1]:9090`); a host is a name or address made of
/// letters, digits, '-' and '.'. Ports are 1–65535.
struct HostPort {
    var host: Substring
    var port: Int?

    init?(_ text: Substring) {
        let portText: Substring?
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[...close]
            let afterHost = text[text.index(after: close)...]
            guard afterHost.isEmpty || afterHost.hasPrefix(":") else { return nil }
            portText = afterHost.isEmpty ? nil : afterHost.dropFirst()
            let address = host.dropFirst().dropLast()
            guard !address.isEmpty, address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else { return nil }
        }
        if let portText {
            guard portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let port = Int(portText), (1...65535).contains(port)
            else { return nil }
            self.port = port
        }
    }
}
