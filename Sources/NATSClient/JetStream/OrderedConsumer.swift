import NIOCore

/// Settings of an ordered consumer.
public struct OrderedConsumerOptions: Sendable {
    /// Only messages whose subject matches (wildcards allowed).
    public var filterSubject: String?
    /// Where delivery starts the first time; later (re)creations resume after the last message seen.
    public var deliverPolicy: DeliverPolicy
    /// Deliver headers only (payload size goes in `Nats-Msg-Size`).
    public var headersOnly: Bool
    /// Server heartbeat interval while idle; three missed heartbeats recreate the consumer.
    public var idleHeartbeat: Duration

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(filterSubject: String? = nil, deliverPolicy: DeliverPolicy = .all, headersOnly: Bool = false, idleHeartbeat: Duration = .seconds(5)) {
        self.filterSubject = filterSubject
        self.deliverPolicy = deliverPolicy
        self.headersOnly = headersOnly
        self.idleHeartbeat = idleHeartbeat
    }
}

/// What the ordered-consumer driver reports.
enum OrderedEvent: Sendable {
    /// A consumer incarnation was created with this many messages pending.
    case created(numPending: UInt64)
    case message(JetStreamMessage)
}

/// An ordered consumer: an ephemeral push consumer that delivers a stream's messages in order
/// with no gaps and no duplicates. It is recreated, resuming after the last stream sequence
/// seen, when a gap or sequence mismatch shows, when heartbeats stop, and after a reconnect.
public final class OrderedConsumer: AsyncSequence, Sendable {
    public typealias Element = JetStreamMessage

    let events: AsyncThrowingStream<OrderedEvent, Error>
    private let task: Task<Void, Never>

    init(js: JetStream, stream: String, options: OrderedConsumerOptions) {
        let (events, continuation) = AsyncThrowingStream<OrderedEvent, Error>.makeStream()
        self.events = events
        let driver = OrderedConsumerDriver(js: js, stream: stream, options: options, output: continuation)
        let task = Task { await driver.run() }
        self.task = task
        continuation.onTermination = { _ in task.cancel() }
    }

    deinit { task.cancel() }

    /// Stops the consumer; the sequence ends.
    public func stop() { task.cancel() }

    /// Iterates the sequence; keeps it running while in use.
    public struct AsyncIterator: AsyncIteratorProtocol {
        /// Keeps the consumer running while iterated, even when the sequence itself is released.
        let owner: OrderedConsumer
        var base: AsyncThrowingStream<OrderedEvent, Error>.Iterator
        public mutating func next() async throws -> JetStreamMessage? {
            while let event = try await base.next() {
                if case .message(let m) = event { return m }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: self, base: events.makeAsyncIterator()) }
}

/// Runs one ordered consumer; all state lives in the single `run()` task.
final class OrderedConsumerDriver: @unchecked Sendable {
    private enum Signal: Sendable {
        case message(NATSMessage, generation: Int)
        case reconnected
        case closed
        case tick
    }

    private let js: JetStream
    private let stream: String
    private let options: OrderedConsumerOptions
    private let output: AsyncThrowingStream<OrderedEvent, Error>.Continuation

    private var generation = 0
    private var subscription: NATSSubscription?
    private var consumerName: String?
    private var lastStreamSeq: UInt64 = 0
    private var lastConsumerSeq: UInt64 = 0
    private var lastActivity = ContinuousClock.now
    private var forwarders: [Task<Void, Never>] = []

    init(js: JetStream, stream: String, options: OrderedConsumerOptions, output: AsyncThrowingStream<OrderedEvent, Error>.Continuation) {
        self.js = js
        self.stream = stream
        self.options = options
        self.output = output
    }

    func run() async {
        let (signals, signal) = AsyncStream<Signal>.makeStream()
        let connection = js.connection
        let eventTask = Task {
            for await event in connection.events() {
                if event == .reconnected { signal.yield(.reconnected) }
                if event == .closed { signal.yield(.closed) }
            }
        }
        let heartbeat = options.idleHeartbeat
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                signal.yield(.tick)
            }
        }
        defer {
            eventTask.cancel()
            ticker.cancel()
            for f in forwarders { f.cancel() }
            cleanupCurrent()
        }
        var healthy = await recreate(signal)
        for await s in signals {
            if Task.isCancelled { break }
            switch s {
            case .closed:
                output.finish(throwing: NATSError.connectionClosed)
                return
            case .reconnected:
                healthy = await recreate(signal)
            case .tick:
                if !healthy || ContinuousClock.now - lastActivity > heartbeat * 3 {
                    healthy = await recreate(signal)
                }
            case .message(let m, let g):
                guard g == generation else { continue }
                lastActivity = .now
                if let status = m.statusCode {
                    if status == 100 {
                        if let reply = m.reply, !reply.isEmpty { try? connection.publish(reply, payload: ByteBuffer()) }
                        if let stalled = m.headers?["Nats-Consumer-Stalled"] { try? connection.publish(stalled, payload: ByteBuffer()) }
                        if let last = m.headers?["Nats-Last-Consumer"].flatMap(UInt64.init), last != lastConsumerSeq {
                            healthy = await recreate(signal)
                        }
                    } else {
                        healthy = await recreate(signal)
                    }
                    continue
                }
                let message = JetStreamMessage(message: m, connection: connection)
                guard let md = message.metadata else { continue }
                guard md.consumerSequence == lastConsumerSeq + 1 else {
                    healthy = await recreate(signal)
                    continue
                }
                lastConsumerSeq = md.consumerSequence
                lastStreamSeq = md.streamSequence
                output.yield(.message(message))
            }
        }
        output.finish()
    }

    /// Drops the current incarnation and creates a new consumer on a new inbox, resuming after
    /// the last stream sequence delivered. Returns false when creation failed (retried on tick).
    private func recreate(_ signal: AsyncStream<Signal>.Continuation) async -> Bool {
        cleanupCurrent()
        generation += 1
        let gen = generation
        let inbox = js.connection.newInbox()
        do {
            let sub = try js.connection.subscribeSync(inbox)
            subscription = sub
            forwarders.append(Task {
                for await m in sub { signal.yield(.message(m, generation: gen)) }
            })
            var config = ConsumerConfig(
                deliverPolicy: lastStreamSeq > 0 ? .byStartSequence(lastStreamSeq + 1) : options.deliverPolicy,
                ackPolicy: .none, maxDeliver: 1, filterSubject: options.filterSubject, deliverSubject: inbox,
                flowControl: true, idleHeartbeat: options.idleHeartbeat, headersOnly: options.headersOnly ? true : nil,
                memoryStorage: true, replicas: 1, inactiveThreshold: .seconds(300))
            config.description = "ordered consumer"
            let info = try await js.createConsumer(stream: stream, config: config)
            guard gen == generation else { return false }
            consumerName = info.name
            lastConsumerSeq = 0
            lastActivity = .now
            output.yield(.created(numPending: info.numPending))
            return true
        } catch NATSError.streamNotFound(let name) {
            output.finish(throwing: NATSError.streamNotFound(name))
            return false
        } catch {
            js.connection.logger.debug("ordered consumer create failed", metadata: ["stream": "\(stream)", "error": "\(error)"])
            lastActivity = .now
            // Retry soon (the server may still be starting JetStream), not only on the next heartbeat tick.
            forwarders.append(Task {
                try? await Task.sleep(for: .milliseconds(250))
                if !Task.isCancelled { signal.yield(.tick) }
            })
            return false
        }
    }

    private func cleanupCurrent() {
        try? subscription?.unsubscribe()
        subscription = nil
        if let name = consumerName {
            let js = self.js
            let stream = self.stream
            Task { try? await js.deleteConsumer(stream: stream, name: name) }
        }
        consumerName = nil
        // The old incarnation's forwarder and any pending retry are obsolete.
        for f in forwarders { f.cancel() }
        forwarders.removeAll()
    }
}

extension JetStream {
    /// Starts an ordered consumer on `stream`.
    public func orderedConsumer(stream: String, options: OrderedConsumerOptions = OrderedConsumerOptions()) throws -> OrderedConsumer {
        try Self.validateName(stream)
        return OrderedConsumer(js: self, stream: stream, options: options)
    }
}
