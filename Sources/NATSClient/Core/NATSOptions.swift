import Logging
import NIOCore
import NIOPosix

/// Connection settings. Durations are Swift `Duration`s; sizes are bytes.
public struct NATSOptions: Sendable {
    /// Server URLs tried in order: `nats://host:port`, `nats://[fd00::1]:4222`, `host:port`.
    public var servers: [String]
    /// User for user/password authentication.
    public var user: String?
    /// Password for user/password authentication (never logged).
    public var password: String?
    /// Token for token authentication (never logged).
    public var token: String?
    /// Client name shown in the server's monitoring.
    public var name: String?
    /// Interval between keep-alive PINGs.
    public var pingInterval: Duration
    /// Unanswered keep-alive PINGs after which the connection is considered stale and re-dialled.
    public var maxPingsOutstanding: Int
    /// Timeout for the TCP connect plus the INFO/CONNECT handshake.
    public var connectTimeout: Duration
    /// First wait between reconnect attempts; doubles per failed round, with jitter.
    public var reconnectWait: Duration
    /// Upper bound of the reconnect backoff.
    public var reconnectWaitMax: Duration
    /// Reconnect attempts before the connection closes for good; nil retries forever.
    public var maxReconnectAttempts: Int?
    /// Bytes of publishes buffered while disconnected; beyond it `publish` throws.
    public var reconnectBufferSize: Int
    /// Whether the server echoes this connection's own publishes to its subscriptions.
    public var echo: Bool
    /// Logger for connection events (secrets are never logged).
    public var logger: Logger
    /// Event loops to run on; the shared singleton group when nil.
    public var eventLoopGroup: (any EventLoopGroup)?

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(
        servers: [String] = ["nats://127.0.0.1:4222"],
        user: String? = nil,
        password: String? = nil,
        token: String? = nil,
        name: String? = nil,
        pingInterval: Duration = .seconds(120),
        maxPingsOutstanding: Int = 2,
        connectTimeout: Duration = .seconds(2),
        reconnectWait: Duration = .milliseconds(250),
        reconnectWaitMax: Duration = .seconds(5),
        maxReconnectAttempts: Int? = nil,
        reconnectBufferSize: Int = 8 * 1024 * 1024,
        echo: Bool = true,
        logger: Logger = Logger(label: "nats", factory: { _ in SwiftLogNoOpLogHandler() }),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) {
        self.servers = servers
        self.user = user
        self.password = password
        self.token = token
        self.name = name
        self.pingInterval = pingInterval
        self.maxPingsOutstanding = maxPingsOutstanding
        self.connectTimeout = connectTimeout
        self.reconnectWait = reconnectWait
        self.reconnectWaitMax = reconnectWaitMax
        self.maxReconnectAttempts = maxReconnectAttempts
        self.reconnectBufferSize = reconnectBufferSize
        self.echo = echo
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
    }
}

/// A parsed server address.
struct ServerAddress: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    var user: String?
    var password: String?

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `nats://[user:pass@]host[:port]`, `[v6]:port` or `host:port` (default port 4222).
    static func parse(_ url: String) throws -> ServerAddress {
        var rest = Substring(url.trimmingCharacters(in: " \t"))
        if let r = rest.range(of: "://") {
            let scheme = rest[..<r.lowerBound].lowercased()
            guard scheme == "nats" else { throw NATSError.invalidServerURL(url) }
            rest = rest[r.upperBound...]
        }
        while rest.last == "/" { rest = rest.dropLast() }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let cred = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = cred.firstIndex(of: ":") {
                user = String(cred[..<colon])
                password = String(cred[cred.index(after: colon)...])
            } else {
                user = String(cred)
            }
        }
        var host: Substring
        var portText: Substring?
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { throw NATSError.invalidServerURL(url) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw NATSError.invalidServerURL(url) }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
            if host.contains(":") { throw NATSError.invalidServerURL(url) }
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw NATSError.invalidServerURL(url) }
        var port = 4222
        if let p = portText {
            guard let v = Int(p), (1...65535).contains(v) else { throw NATSError.invalidServerURL(url) }
            port = v
        }
        return ServerAddress(host: String(host), port: port, user: user, password: password)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
    var timeAmount: TimeAmount { .nanoseconds(nanoseconds) }
}
