import NIOCore

extension JetStream {
    /// Creates (or confirms) a work-queue stream: each message goes to one consumer and is
    /// removed once acknowledged.
    @discardableResult
    public nonisolated(nonsending) func createWorkQueue(name: String, subjects: [String], storage: StorageType = .file, replicas: Int = 1,
                                maxAge: Duration = .zero) async throws -> StreamInfo {
        try await createStream(StreamConfig(name: name, subjects: subjects, retention: .workQueue, maxAge: maxAge,
                                            storage: storage, replicas: replicas))
    }

    /// Creates (or confirms, when the settings match) a durable pull consumer.
    @discardableResult
    public nonisolated(nonsending) func createPullConsumer(stream: String, durable: String, filterSubject: String? = nil,
                                   ackWait: Duration = .seconds(30), maxDeliver: Int = -1,
                                   maxAckPending: Int? = nil) async throws -> ConsumerInfo {
        try await createConsumer(stream: stream, config: ConsumerConfig(
            durableName: durable, deliverPolicy: .all, ackPolicy: .explicit, ackWait: ackWait,
            maxDeliver: maxDeliver, filterSubject: filterSubject, maxAckPending: maxAckPending))
    }

    /// Fetches up to `batch` messages from a pull consumer. Returns at once with what is
    /// available; when nothing is, waits up to `expires` for the first message to arrive.
    /// Returns an empty array when none arrived in time.
    public nonisolated(nonsending) func fetch(stream: String, consumer: String, batch: Int = 1, expires: Duration = .seconds(5)) async throws -> [JetStreamMessage] {
        try Self.validateName(stream)
        try Self.validateName(consumer)
        let available = try await pull(stream: stream, consumer: consumer, body: "{\"batch\":\(batch),\"no_wait\":true}", want: batch, wait: timeout)
        if !available.isEmpty { return available }
        // Ask for one message with an expiry: no message is left promised to a request we no longer read.
        return try await pull(stream: stream, consumer: consumer, body: "{\"batch\":1,\"expires\":\(expires.nanoseconds)}",
                              want: 1, wait: expires + .seconds(1))
    }

    private nonisolated(nonsending) func pull(stream: String, consumer: String, body: String, want: Int, wait: Duration) async throws -> [JetStreamMessage] {
        let inbox = connection.newInbox()
        let sub = try connection.subscribeSync(inbox)
        defer { try? sub.unsubscribe() }
        try connection.publish("\(prefix).CONSUMER.MSG.NEXT.\(stream).\(consumer)", payload: ByteBuffer(string: body), reply: inbox)
        let deadline = Task {
            try? await Task.sleep(for: wait)
            try? sub.unsubscribe()
        }
        defer { deadline.cancel() }
        var out: [JetStreamMessage] = []
        for await m in sub {
            if let status = m.statusCode {
                switch status {
                case 404, 408: return out  // no (more) messages / request expired
                case 409:
                    if out.isEmpty, let text = m.statusDescription, text.lowercased().contains("consumer deleted") {
                        throw NATSError.consumerFailed("pull consumer \(consumer) was deleted")
                    }
                    return out
                case 100: continue
                default:
                    if out.isEmpty {
                        throw NATSError.jetStream(JetStreamAPIError(code: status, errCode: 0, description: m.statusDescription ?? "pull failed"))
                    }
                    return out
                }
            }
            out.append(JetStreamMessage(message: m, connection: connection))
            if out.count >= want { return out }
        }
        return out
    }
}
