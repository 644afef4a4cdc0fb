/// The server's `INFO`: identity, limits and capabilities.
public struct ServerInfo: Codable, Sendable, Equatable {
    /// The server's unique id.
    public var serverID: String
    /// The server's configured name.
    public var serverName: String?
    /// Server version, e.g. `2.9.10`.
    public var version: String
    /// Protocol version the server speaks.
    public var proto: Int?
    /// Host the server listens on.
    public var host: String?
    /// Port the server listens on.
    public var port: Int?
    /// Whether the server understands headers (HPUB/HMSG).
    public var headers: Bool?
    /// Largest message (headers + payload) the server accepts.
    public var maxPayload: Int
    /// Whether JetStream is enabled.
    public var jetStream: Bool?
    /// Whether the server requires authentication.
    public var authRequired: Bool?
    /// Other cluster members' client URLs.
    public var connectURLs: [String]?
    /// The id the server gave this client.
    public var clientID: UInt64?
    /// This client's address as the server sees it.
    public var clientIP: String?
    /// Set when the server is about to shut down (lame duck mode).
    public var lameDuckMode: Bool?

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id"
        case serverName = "server_name"
        case version, proto, host, port, headers
        case maxPayload = "max_payload"
        case jetStream = "jetstream"
        case authRequired = "auth_required"
        case connectURLs = "connect_urls"
        case clientID = "client_id"
        case clientIP = "client_ip"
        case lameDuckMode = "ldm"
    }

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(serverID: String = "", version: String = "", maxPayload: Int = 1024 * 1024) {
        self.serverID = serverID
        self.version = version
        self.maxPayload = maxPayload
    }
}

/// Connection lifecycle events, delivered by `NATSConnection.events()`.
public enum NATSConnectionEvent: Sendable, Equatable {
    /// The first connection to a server succeeded.
    case connected
    /// The connection to the server was lost; the client is reconnecting.
    case disconnected
    /// A connection was established again; subscriptions were restored and buffered publishes sent.
    case reconnected
    /// The connection is closed for good.
    case closed
    /// The server reported an error (`-ERR`) that did not close the connection by itself.
    case serverError(String)
}
