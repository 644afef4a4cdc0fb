import NIOCore

/// A message delivered to a subscription or as a reply.
public struct NATSMessage: Sendable {
    /// Subject the message was published to.
    public var subject: String
    /// Reply subject, if the publisher expects an answer.
    public var reply: String?
    /// Headers, present only for messages published with headers (HMSG).
    public var headers: NATSHeaders?
    /// The payload bytes.
    public var payload: ByteBuffer

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(subject: String, reply: String? = nil, headers: NATSHeaders? = nil, payload: ByteBuffer) {
        self.subject = subject
        self.reply = reply
        self.headers = headers
        self.payload = payload
    }

    /// Status code of the `NATS/1.0` header line (100 heartbeat, 404, 408, 503 no responders...).
    public var statusCode: Int? { headers?.statusCode }
    /// Status description of the `NATS/1.0` header line.
    public var statusDescription: String? { headers?.statusDescription }
    /// The payload as bytes.
    public var bytes: [UInt8] { Array(payload.readableBytesView) }
    /// The payload decoded as UTF-8.
    public var string: String { String(buffer: payload) }
}
