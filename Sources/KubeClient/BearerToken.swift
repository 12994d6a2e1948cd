import AutoTaintCore
import Synchronization

/// The bearer token requests carry. A token file is read when first needed, re-read when
/// the last read is older than `rereadInterval`, and at once after a 401, because
/// projected service account tokens rotate (client-go re-reads every minute too).
///
/// A failed re-read keeps the last good token and is logged; the token itself never is.
final class BearerToken: Sendable {
    private struct Cache {
        var token: String?
        var readAt: ContinuousClock.Instant
    }

    private let authentication: KubeCredentials.Authentication
    private let rereadInterval: Duration
    private let log: @Sendable (String) -> Void
    private let cache = Mutex<Cache?>(nil)

    init(_ authentication: KubeCredentials.Authentication, rereadInterval: Duration, log: @escaping @Sendable (String) -> Void) {
        self.authentication = authentication
        self.rereadInterval = rereadInterval
        self.log = log
    }

    /// The token for the next request; nil when the credentials have none.
    func current() -> String? {
        switch authentication {
        case .none: return nil
        case .token(let token): return token
        case .tokenFile(let path):
            return cache.withLock { cache in
                if let cached = cache, cached.readAt.duration(to: .now) < rereadInterval { return cached.token }
                return reread(path, into: &cache)
            }
        }
    }

    /// After the server refused `rejected`: re-reads the file now and returns the token
    /// when it is a different one, worth one more try; nil when there is nothing new.
    func renewed(after rejected: String?) -> String? {
        guard case .tokenFile(let path) = authentication else { return nil }
        let token = cache.withLock { reread(path, into: &$0) }
        return token == rejected ? nil : token
    }

    private func reread(_ path: String, into cache: inout Cache?) -> String? {
        let now = ContinuousClock.now
        do {
            var token = Substring(try FileContents.text(of: path))
            while token.last?.isWhitespace == true { token.removeLast() }
            while token.first?.isWhitespace == true { token.removeFirst() }
            guard !token.isEmpty else { throw FileReadError(path: path, reason: "the file is empty") }
            cache = Cache(token: String(token), readAt: now)
        } catch {
            log("cannot read the API token file, keeping the token read before (if any): \(error)")
            cache = Cache(token: cache?.token, readAt: now)
        }
        return cache?.token
    }
}
