/// Every failure the client reports; each description is one line saying what was wrong.
public enum NATSError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The server sent a line the client cannot parse (the line, truncated).
    case protocolError(String)
    /// The server refused the credentials (user/password or token).
    case authorizationViolation
    /// The message is larger than the server's `max_payload`.
    case maxPayloadExceeded(size: Int, max: Int)
    /// The connection is closed (by `close()`, `drain()` or after giving up reconnecting).
    case connectionClosed
    /// No reply or PONG arrived within the timeout.
    case timeout
    /// A request was published to a subject nobody subscribes to.
    case noResponders
    /// The server sent `-ERR` with this text.
    case serverError(String)
    /// No server in the list could be reached.
    case connectionFailed(String)
    /// A server URL in the options cannot be parsed.
    case invalidServerURL(String)
    /// A subject is empty or contains whitespace.
    case invalidSubject(String)
    /// Publishes buffered while reconnecting would exceed `reconnectBufferSize`.
    case reconnectBufferExceeded(size: Int, max: Int)
    /// The JetStream API answered with an error.
    case jetStream(JetStreamAPIError)
    /// The JetStream API answered with something that is not the expected JSON.
    case invalidResponse(String)
    /// `KeyValue.create` found a live value under the key.
    case keyExists(key: String)
    /// `KeyValue.update` expected one revision but the key is at another.
    case wrongLastRevision(expected: UInt64, actual: UInt64?)
    /// A bucket name outside `[-_a-zA-Z0-9]+`.
    case invalidBucketName(String)
    /// A key outside `[-/_=.a-zA-Z0-9]+`, or with a leading/trailing dot.
    case invalidKey(String)
    /// The key-value bucket does not exist.
    case bucketNotFound(String)
    /// A JetStream stream does not exist.
    case streamNotFound(String)
    /// An ordered consumer or watcher could not be (re)created.
    case consumerFailed(String)

    /// Free-text description.
    public var description: String {
        switch self {
        case .protocolError(let line):
            return "nats: protocol error: cannot parse server line \"\(line)\""
        case .authorizationViolation:
            return "nats: authorization violation: the server rejected the user/password or token"
        case .maxPayloadExceeded(let size, let max):
            return "nats: message of \(size) bytes exceeds the server's max_payload of \(max) bytes"
        case .connectionClosed:
            return "nats: connection closed"
        case .timeout:
            return "nats: timed out waiting for the server"
        case .noResponders:
            return "nats: no responders are subscribed to the request subject"
        case .serverError(let text):
            return "nats: server error: \(text)"
        case .connectionFailed(let text):
            return "nats: could not connect: \(text)"
        case .invalidServerURL(let url):
            return "nats: invalid server URL \"\(url)\": expected nats://host:port (IPv6 as nats://[addr]:port)"
        case .invalidSubject(let s):
            return "nats: invalid subject \"\(s)\": must be non-empty without whitespace"
        case .reconnectBufferExceeded(let size, let max):
            return "nats: reconnect buffer full: \(size) bytes pending would exceed reconnectBufferSize \(max)"
        case .jetStream(let e):
            return "nats: jetstream: \(e.description) (code \(e.code), err_code \(e.errCode))"
        case .invalidResponse(let text):
            return "nats: invalid jetstream response: \(text)"
        case .keyExists(let key):
            return "nats: kv: key \"\(key)\" already exists"
        case .wrongLastRevision(let expected, let actual):
            return "nats: kv: wrong last revision: expected \(expected), key is at \(actual.map(String.init) ?? "unknown")"
        case .invalidBucketName(let name):
            return "nats: kv: invalid bucket name \"\(name)\": allowed characters are [-_a-zA-Z0-9]"
        case .invalidKey(let key):
            return "nats: kv: invalid key \"\(key)\": allowed characters are [-/_=.a-zA-Z0-9], no leading or trailing dot"
        case .bucketNotFound(let name):
            return "nats: kv: bucket \"\(name)\" not found"
        case .streamNotFound(let name):
            return "nats: jetstream: stream \"\(name)\" not found"
        case .consumerFailed(let text):
            return "nats: jetstream consumer: \(text)"
        }
    }
}

/// The error object of a JetStream API response.
public struct JetStreamAPIError: Codable, Sendable, Equatable, CustomStringConvertible {
    /// HTTP-like status code (400, 404, 503...).
    public var code: Int
    /// NATS-specific error code (10071 = wrong last sequence, 10059 = stream not found...).
    public var errCode: Int
    /// Human readable text from the server.
    public var description: String

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(code: Int, errCode: Int, description: String) {
        self.code = code
        self.errCode = errCode
        self.description = description
    }

    enum CodingKeys: String, CodingKey {
        case code
        case errCode = "err_code"
        case description
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decodeIfPresent(Int.self, forKey: .code) ?? 0
        errCode = try c.decodeIfPresent(Int.self, forKey: .errCode) ?? 0
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
    }
}
