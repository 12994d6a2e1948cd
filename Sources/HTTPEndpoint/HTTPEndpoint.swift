import CMicroHTTPD
import CMicroHTTPDShim
import Glibc
import Synchronization

/// A tiny HTTP/1.1 server for a few fixed GET routes (`/metrics`, `/healthz`, `/readyz`),
/// over libmicrohttpd: one internal polling thread answers every connection, no thread
/// per connection, nothing else to run.
///
/// Each route is a `@Sendable` closure called on that thread; it must be quick and must
/// not block (it reads shared state under a lock and returns). An unknown path gets 404,
/// any method but GET or HEAD gets 405 with `Allow: GET, HEAD`.
///
/// The server listens from `init` until `stop()` (or deinit); `port` is the bound port,
/// so port 0 picks a free one.
public final class HTTPEndpoint: Sendable {
    /// A route's answer.
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]

        public init(status: Int, contentType: String, body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }

        /// A `text/plain` answer; a newline is added.
        public static func text(_ status: Int, _ text: String) -> Response {
            Response(status: status, contentType: "text/plain; charset=utf-8", body: Array((text + "\n").utf8))
        }
    }

    public typealias Route = @Sendable () -> Response

    /// The port listened on (the chosen one when asked for port 0).
    public let port: Int
    /// What was bound, e.g. `127.0.0.1:9469` or `[::]:9469`.
    public let boundAddress: String
    /// The daemon and the routes it calls, until `stop()`; the routes are retained for
    /// the daemon (it holds a raw pointer to them) and released once it has stopped.
    private let running: Mutex<(daemon: OpaquePointer, routes: Unmanaged<Routes>)?>

    /// Listens on `address`: `host:port`, `[v6]:port` or `:port` (all interfaces, IPv6
    /// and IPv4 where the node has IPv6, else IPv4). A host name binds its first address.
    public init(address: String, routes: [String: Route], connectionLimit: Int = 16) throws(HTTPEndpointError) {
        let (host, portNumber) = try Self.split(address)
        let (descriptor, bound) = try Listener.open(host: host, port: portNumber)
        let box = Unmanaged.passRetained(Routes(routes))
        guard let daemon = cmhd_start_daemon(descriptor, accessHandler, box.toOpaque(), UInt32(connectionLimit), 10) else {
            box.release()
            close(descriptor)
            throw .cannotStart(address: address)
        }
        port = bound.port
        boundAddress = bound.text
        running = Mutex((daemon, box))
    }

    /// Stops listening, closes open connections and waits for the polling thread to end;
    /// no route is called after it returns. Idempotent.
    public func stop() {
        guard let (daemon, routes) = running.withLock({ state in defer { state = nil }; return state }) else { return }
        MHD_stop_daemon(daemon)  // joins the polling thread, closes the listening socket
        routes.release()
    }

    deinit { stop() }

    /// `host` (brackets removed, "" for all interfaces) and port of a listen address.
    static func split(_ address: String) throws(HTTPEndpointError) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port)
        else { throw .badAddress(address) }
        var host = address[..<colon]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { throw .badAddress(address) }
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            throw .badAddress(address)  // an IPv6 address must be bracketed
        }
        return (String(host), port)
    }
}

public enum HTTPEndpointError: Error, Equatable, CustomStringConvertible {
    case badAddress(String)
    case cannotResolve(host: String, reason: String)
    /// `errno` from socket/bind/listen, e.g. EADDRINUSE.
    case cannotListen(address: String, errno: Int32)
    case cannotStart(address: String)

    public var description: String {
        switch self {
        case let .badAddress(address): "\"\(address)\" is not [host]:port"
        case let .cannotResolve(host, reason): "cannot resolve \(host): \(reason)"
        case let .cannotListen(address, code): "cannot listen on \(address): \(String(cString: strerror(code)))"
        case let .cannotStart(address): "libmicrohttpd could not start on \(address)"
        }
    }

    public var addressInUse: Bool {
        if case let .cannotListen(_, code) = self { return code == EADDRINUSE }
        return false
    }
}

/// The routes, as the daemon's callback sees them: immutable, so reading them from the
/// polling thread needs no lock.
final class Routes: Sendable {
    let table: [String: HTTPEndpoint.Route]
    init(_ table: [String: HTTPEndpoint.Route]) { self.table = table }

    func answer(method: String, path: String) -> (HTTPEndpoint.Response, allow: Bool) {
        guard method == "GET" || method == "HEAD" else {
            return (.text(405, "method \(method) not allowed: GET or HEAD only"), true)
        }
        guard let route = table[path] else { return (.text(404, "not found: \(path)"), false) }
        return (route(), false)
    }
}

/// libmicrohttpd's access handler: called on the polling thread once a request's headers
/// are in. Every request is answered at once (GET has no body; for other methods the
/// 405 goes out before any body is read, and libmicrohttpd then closes the connection).
private let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, _, _, _ in
    guard let cls, let connection, let url, let method else { return .NO }
    let routes = Unmanaged<Routes>.fromOpaque(cls).takeUnretainedValue()
    let (answer, allow) = routes.answer(method: String(cString: method), path: String(cString: url))
    var body = answer.body
    // MUST_COPY: libmicrohttpd keeps its own copy, freed with the response.
    guard let response = body.withUnsafeMutableBytes({
        MHD_create_response_from_buffer($0.count, $0.baseAddress, .RESPMEM_MUST_COPY)
    }) else { return .NO }
    defer { MHD_destroy_response(response) }  // reference-counted: freed once sent
    _ = MHD_add_response_header(response, "Content-Type", answer.contentType)
    _ = MHD_add_response_header(response, "Cache-Control", "no-store")
    if allow { _ = MHD_add_response_header(response, "Allow", "GET, HEAD") }
    return MHD_queue_response(connection, UInt32(answer.status), response)
}

/// The listening socket, made here rather than by libmicrohttpd so that a failure says
/// why (EADDRINUSE, …) and IPv6 dual stack is under control.
enum Listener {
    static func open(host: String, port: Int) throws(HTTPEndpointError) -> (Int32, (port: Int, text: String)) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = host.isEmpty
            ? getaddrinfo(nil, String(port), &hints, &list)
            : getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw .cannotResolve(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var candidates: [UnsafeMutablePointer<addrinfo>] = []
        var next: UnsafeMutablePointer<addrinfo>? = list
        while let entry = next {
            candidates.append(entry)
            next = entry.pointee.ai_next
        }
        // All interfaces: the IPv6 wildcard with IPV6_V6ONLY off takes IPv4 too; where
        // the node has no IPv6 its socket() fails and the IPv4 wildcard follows.
        if host.isEmpty { candidates.sort { $0.pointee.ai_family == AF_INET6 && $1.pointee.ai_family != AF_INET6 } }
        var lastError = EADDRNOTAVAIL
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        for entry in candidates {
            let info = entry.pointee
            let descriptor = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue)
                                    | Int32(SOCK_NONBLOCK.rawValue), info.ai_protocol)
            guard descriptor >= 0 else { lastError = errno; continue }
            var on: Int32 = 1
            var off: Int32 = 0
            _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if info.ai_family == AF_INET6 && host.isEmpty {
                _ = setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
            }
            guard bind(descriptor, info.ai_addr, info.ai_addrlen) == 0, listen(descriptor, 64) == 0 else {
                lastError = errno
                close(descriptor)
                continue
            }
            return (descriptor, describe(descriptor, fallbackPort: port))
        }
        throw .cannotListen(address: shown, errno: lastError)
    }

    /// The bound port and address, from the socket itself.
    private static func describe(_ descriptor: Int32, fallbackPort: Int) -> (port: Int, text: String) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { return (fallbackPort, ":\(fallbackPort)") }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
            return (Int(UInt16(bigEndian: address.sin_port)), "\(string(text)):\(Int(UInt16(bigEndian: address.sin_port)))")
        case AF_INET6:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
            return (Int(UInt16(bigEndian: address.sin6_port)), "[\(string(text))]:\(Int(UInt16(bigEndian: address.sin6_port)))")
        default:
            return (fallbackPort, ":\(fallbackPort)")
        }
    }

    private static func string(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
