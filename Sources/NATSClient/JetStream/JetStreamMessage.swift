import NIOCore

/// Delivery facts parsed from a JetStream message's `$JS.ACK...` reply subject.
public struct JetStreamMetadata: Sendable, Equatable {
    /// The stream name.
    public var stream: String
    /// The consumer name.
    public var consumer: String
    /// How many times this message was delivered (1 the first time).
    public var delivered: UInt64
    /// Sequence in the stream.
    public var streamSequence: UInt64
    /// Sequence in the consumer.
    public var consumerSequence: UInt64
    /// Nanoseconds since 1970 when the message was stored.
    public var timestampNanos: Int64
    /// Messages still pending for the consumer after this one.
    public var pending: UInt64

    /// Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (and the
    /// newer form with domain and account hash).
    public init?(replySubject: String) {
        let tokens = replySubject.split(separator: ".", omittingEmptySubsequences: false)
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        let base = tokens.count == 9 ? 2 : 4
        guard tokens.count >= base + 7,
              let delivered = UInt64(tokens[base + 2]), let sseq = UInt64(tokens[base + 3]),
              let cseq = UInt64(tokens[base + 4]), let ts = Int64(tokens[base + 5]),
              let pending = UInt64(tokens[base + 6])
        else { return nil }
        stream = String(tokens[base])
        consumer = String(tokens[base + 1])
        self.delivered = delivered
        streamSequence = sseq
        consumerSequence = cseq
        timestampNanos = ts
        self.pending = pending
    }
}

/// A message delivered by a JetStream consumer, with acknowledgement methods.
public struct JetStreamMessage: Sendable {
    /// The underlying message (subject, headers, payload).
    public let message: NATSMessage
    /// Delivery facts, when the reply subject is a JetStream ack subject.
    public let metadata: JetStreamMetadata?
    let connection: NATSConnection

    init(message: NATSMessage, connection: NATSConnection) {
        self.message = message
        self.metadata = message.reply.flatMap(JetStreamMetadata.init(replySubject:))
        self.connection = connection
    }

    /// The subject.
    public var subject: String { message.subject }
    /// The headers, if any.
    public var headers: NATSHeaders? { message.headers }
    /// The payload.
    public var payload: ByteBuffer { message.payload }

    /// Acknowledges the message (fire-and-forget).
    public func ack() throws { try reply("+ACK") }

    /// Acknowledges and waits for the server to confirm it.
    public nonisolated(nonsending) func ackSync(timeout: Duration = .seconds(5)) async throws {
        guard let subject = message.reply else { return }
        _ = try await connection.request(subject, payload: ByteBuffer(string: "+ACK"), timeout: timeout)
    }

    /// Asks for redelivery, after `delay` when given.
    public func nak(delay: Duration? = nil) throws {
        if let delay {
            try reply("-NAK {\"delay\":\(delay.nanoseconds)}")
        } else {
            try reply("-NAK")
        }
    }

    /// Tells the server never to redeliver this message.
    public func term() throws { try reply("+TERM") }

    /// Resets the ack timer: work on the message is still in progress.
    public func inProgress() throws { try reply("+WPI") }

    private func reply(_ body: String) throws {
        guard let subject = message.reply else { return }
        try connection.publish(subject, payload: ByteBuffer(string: body))
    }
}
