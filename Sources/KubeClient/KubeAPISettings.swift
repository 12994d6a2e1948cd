/// Timeouts and pacing of `KubeAPI`. The defaults are meant for production; tests shorten
/// them.
public struct KubeAPISettings: Sendable, Equatable {
    /// Longest time for one request, connecting included.
    public var requestTimeout: Duration
    /// Longest time to connect, TCP and TLS handshake included.
    public var connectTimeout: Duration
    /// The `timeoutSeconds` a watch asks for, give or take 10 % so that thousands of
    /// agents do not reconnect in step; the server then ends the watch and it is renewed.
    public var watchTimeout: Duration
    /// The watch's backoff period after a failed watch or GET: tripled on each further
    /// failure up to `maximumBackoff`, each wait jittered over the period from a tenth of it.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// How old a token read from a file may get before it is read again.
    public var tokenRereadInterval: Duration

    public init(
        requestTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5),
        watchTimeout: Duration = .seconds(300),
        initialBackoff: Duration = .seconds(1),
        maximumBackoff: Duration = .seconds(30),
        tokenRereadInterval: Duration = .seconds(60)
    ) {
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.watchTimeout = watchTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.tokenRereadInterval = tokenRereadInterval
    }
}
