import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A client connection to a NATS server, with automatic reconnect.
///
/// Publishing is synchronous and non-blocking: frames are appended to a buffer under a lock and
/// written in one batch when the event loop next turns, so a burst of publishes costs one syscall.
public final class NATSConnection: Sendable {
    let options: NATSOptions
    let servers: [ServerAddress]
    let group: any EventLoopGroup
    let logger: Logger
    /// Prefix of this connection's inboxes: `_INBOX.<nuid>`.
    let inboxPrefix: String
    let state: NIOLockedValueBox<ConnectionState>
    let allocator = ByteBufferAllocator()
    /// The event loop every channel of this connection runs on (stable across reconnects).
    /// Code that runs on it (e.g. an actor using `eventLoop.executor`) talks to the
    /// connection without any thread hop.
    public let eventLoop: any EventLoop

    private init(options: NATSOptions, servers: [ServerAddress]) {
        self.options = options
        self.servers = servers
        self.group = options.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.logger = options.logger
        self.inboxPrefix = "_INBOX." + NUID.next()
        self.eventLoop = self.group.next()
        self.state = NIOLockedValueBox(ConnectionState(allocator: ByteBufferAllocator()))
    }

    /// Connects to the first reachable server of `options.servers`.
    /// Throws `authorizationViolation` at once when credentials are refused (no retry).
    public static func connect(_ options: NATSOptions) async throws -> NATSConnection {
        guard !options.servers.isEmpty else { throw NATSError.invalidServerURL("") }
        let servers = try options.servers.map(ServerAddress.parse)
        let connection = NATSConnection(options: options, servers: servers)
        var lastError: Error = NATSError.connectionFailed("no servers")
        for (index, server) in servers.enumerated() {
            do {
                connection.state.withLockedValue { $0.currentServer = index }
                try await connection.establish(server)
                return connection
            } catch NATSError.authorizationViolation {
                await connection.close()
                throw NATSError.authorizationViolation
            } catch {
                connection.logger.debug("connect failed", metadata: ["server": "\(server)", "error": "\(error)"])
                lastError = error
            }
        }
        await connection.close()
        if let e = lastError as? NATSError { throw e }
        throw NATSError.connectionFailed("\(servers.map(\.description).joined(separator: ", ")): \(lastError)")
    }

    /// The INFO of the server currently (or last) connected to.
    public var serverInfo: ServerInfo { state.withLockedValue { $0.serverInfo } }

    /// Whether the connection is up right now (false while reconnecting or after close).
    public var isConnected: Bool { state.withLockedValue { $0.status == .connected } }

    /// Whether the connection is closed for good.
    public var isClosed: Bool { state.withLockedValue { $0.status == .closed } }

    /// The last error the server or the protocol reported, if any.
    public var lastError: NATSError? { state.withLockedValue { $0.lastError } }

    /// A new unique inbox subject for this connection.
    public func newInbox() -> String { inboxPrefix + "." + NUID.next() }

    /// A stream of lifecycle events from now on; it finishes after `.closed`.
    public func events() -> AsyncStream<NATSConnectionEvent> {
        let (stream, continuation) = AsyncStream<NATSConnectionEvent>.makeStream()
        let closed: Bool = state.withLockedValue { s in
            guard s.status != .closed else { return true }
            let id = s.nextEventID
            s.nextEventID += 1
            s.eventContinuations[id] = continuation
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLockedValue { $0.eventContinuations.removeValue(forKey: id) }
            }
            return false
        }
        if closed {
            continuation.yield(.closed)
            continuation.finish()
        }
        return stream
    }

    func emit(_ event: NATSConnectionEvent) {
        let conts = state.withLockedValue { Array($0.eventContinuations.values) }
        for c in conts { c.yield(event) }
    }

    // MARK: - Publish

    /// Publishes a message. Non-blocking: the frame is buffered and written with the next batch;
    /// `flush()` waits until the server has it. While reconnecting, up to `reconnectBufferSize`
    /// bytes are buffered and sent after reconnecting.
    public func publish(_ subject: String, payload: ByteBuffer, reply: String? = nil, headers: NATSHeaders? = nil) throws {
        let channel: Channel? = try state.withLockedValue { s in
            try encodePublish(&s, subject: subject, payload: payload, reply: reply, headers: headers)
            return s.claimFlush()
        }
        if let channel { scheduleWrite(channel) }
    }

    /// Publishes bytes; see `publish(_:payload:reply:headers:)`.
    public func publish(_ subject: String, payload: [UInt8], reply: String? = nil, headers: NATSHeaders? = nil) throws {
        try publish(subject, payload: ByteBuffer(bytes: payload), reply: reply, headers: headers)
    }

    /// Publishes UTF-8 text; see `publish(_:payload:reply:headers:)`.
    public func publish(_ subject: String, payload: String, reply: String? = nil, headers: NATSHeaders? = nil) throws {
        try publish(subject, payload: ByteBuffer(string: payload), reply: reply, headers: headers)
    }

    /// Appends a PUB/HPUB frame to the pending buffer after checking subject, size and state.
    func encodePublish(_ s: inout ConnectionState, subject: String, payload: ByteBuffer, reply: String?, headers: NATSHeaders?) throws {
        try Self.validateSubject(subject)
        if let reply { try Self.validateSubject(reply) }
        let headerSize = headers.map(\.wireSize) ?? 0
        let total = headerSize + payload.readableBytes
        if total > s.serverInfo.maxPayload {
            throw NATSError.maxPayloadExceeded(size: total, max: s.serverInfo.maxPayload)
        }
        switch s.status {
        case .closed:
            throw NATSError.connectionClosed
        case .reconnecting, .connecting:
            let frame = total + subject.utf8.count + (reply?.utf8.count ?? 0) + 32
            if s.pending.readableBytes + frame > options.reconnectBufferSize {
                throw NATSError.reconnectBufferExceeded(size: s.pending.readableBytes + frame, max: options.reconnectBufferSize)
            }
        case .connected:
            break
        }
        if headers != nil {
            s.pending.writeStaticString("HPUB ")
        } else {
            s.pending.writeStaticString("PUB ")
        }
        s.pending.writeString(subject)
        s.pending.writeStaticString(" ")
        if let reply {
            s.pending.writeString(reply)
            s.pending.writeStaticString(" ")
        }
        if let headers {
            s.pending.writeDecimal(headerSize)
            s.pending.writeStaticString(" ")
            s.pending.writeDecimal(total)
            s.pending.writeStaticString("\r\n")
            headers.write(to: &s.pending)
        } else {
            s.pending.writeDecimal(total)
            s.pending.writeStaticString("\r\n")
        }
        var p = payload
        s.pending.writeBuffer(&p)
        s.pending.writeStaticString("\r\n")
    }

    static func validateSubject(_ subject: String) throws {
        var empty = true
        for b in subject.utf8 {
            empty = false
            if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { throw NATSError.invalidSubject(subject) }
        }
        if empty { throw NATSError.invalidSubject(subject) }
    }

    /// Writes the pending bytes on the event loop, after whatever else is queued there, so every
    /// publish made meanwhile goes out in the same write.
    func scheduleWrite(_ channel: Channel) {
        channel.eventLoop.execute { self.writePending(channel) }
    }

    private func writePending(_ channel: Channel) {
        let buffer: ByteBuffer? = state.withLockedValue { s in
            s.flushScheduled = false
            guard s.status == .connected, s.channel === channel, s.pending.readableBytes > 0 else { return nil }
            let out = s.pending
            s.pending = allocator.buffer(capacity: max(4096, min(out.readableBytes, 1 << 20)))
            s.writeEpoch &+= 1
            return out
        }
        if let buffer { channel.writeAndFlush(buffer, promise: nil) }
    }

    /// Appends raw protocol text (SUB, UNSUB, PING) and schedules a write when connected.
    func enqueueControl(_ s: inout ConnectionState, _ text: String) -> Channel? {
        guard s.status == .connected else { return nil }
        s.pending.writeString(text)
        return s.claimFlush()
    }

    // MARK: - Flush

    /// Waits until the server has processed everything sent so far (a PING/PONG round trip).
    /// While reconnecting it waits for the new connection, within the timeout.
    public nonisolated(nonsending) func flush(timeout: Duration = .seconds(10)) async throws {
        let loop = eventLoop
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, Error>) in
            let result: Result<Channel?, NATSError> = state.withLockedValue { s in
                guard s.status != .closed else { return .failure(.connectionClosed) }
                let id = s.nextFlushID
                s.nextFlushID += 1
                let timer = loop.scheduleTask(in: timeout.timeAmount) { [weak self] in
                    guard let self else { return }
                    self.failFlush(id, with: .timeout)
                }
                s.flushes[id] = PendingFlush(continuation: cont, timeout: timer)
                let channel = enqueueControl(&s, "PING\r\n")
                s.pongWaiters.append(PongWaiter(kind: .flush(id), pingEpoch: s.status == .connected ? s.writeEpoch : nil))
                return .success(channel)
            }
            switch result {
            case .failure(let e): cont.resume(throwing: e)
            case .success(let ch): if let ch { scheduleWrite(ch) }
            }
        }
    }

    private func failFlush(_ id: UInt64, with error: NATSError) {
        let f = state.withLockedValue { $0.flushes.removeValue(forKey: id) }
        f?.continuation.resume(throwing: error)
    }

    // MARK: - Subscribe

    /// Subscribes to `subject` (wildcards allowed), optionally in a queue group.
    public nonisolated(nonsending) func subscribe(_ subject: String, queue: String? = nil) async throws -> NATSSubscription {
        try subscribeSync(subject, queue: queue)
    }

    /// Subscribes without suspending; see `subscribe(_:queue:)`.
    public func subscribeSync(_ subject: String, queue: String? = nil) throws -> NATSSubscription {
        try Self.validateSubject(subject)
        if let queue { try Self.validateSubject(queue) }
        let (stream, continuation) = AsyncStream<NATSMessage>.makeStream()
        let (sid, channel): (UInt64, Channel?) = try state.withLockedValue { s in
            guard s.status != .closed else { throw NATSError.connectionClosed }
            let sid = s.nextSid
            s.nextSid += 1
            s.subscriptions[sid] = SubscriptionRecord(sid: sid, subject: subject, queue: queue, continuation: continuation)
            let line = queue.map { "SUB \(subject) \($0) \(sid)\r\n" } ?? "SUB \(subject) \(sid)\r\n"
            return (sid, enqueueControl(&s, line))
        }
        if let channel { scheduleWrite(channel) }
        let sub = NATSSubscription(connection: self, sid: sid, subject: subject, queue: queue, stream: stream)
        continuation.onTermination = { [weak self] reason in
            // The consumer stopped iterating (task cancelled / stream dropped): stop delivery.
            if case .cancelled = reason { try? self?.unsubscribe(sid: sid, after: nil) }
        }
        return sub
    }

    /// Removes a subscription now, or after `after` messages in total.
    func unsubscribe(sid: UInt64, after: Int?) throws {
        var finished: SubscriptionRecord?
        let channel: Channel? = state.withLockedValue { s in
            guard let rec = s.subscriptions[sid] else { return nil }
            if let after, rec.delivered < after {
                rec.max = after
                return enqueueControl(&s, "UNSUB \(sid) \(after - rec.delivered)\r\n")
            }
            s.subscriptions[sid] = nil
            finished = rec
            return enqueueControl(&s, "UNSUB \(sid)\r\n")
        }
        if let channel { scheduleWrite(channel) }
        finished?.continuation.finish()
    }

    // MARK: - Request

    /// Sends a request and waits for the first reply, using one shared inbox subscription.
    /// Throws `noResponders` when nobody subscribes to `subject`, `timeout` after `timeout`.
    public nonisolated(nonsending) func request(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        let box = NIOLockedValueBox<String?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<NATSMessage, Error>) in
                // Cancelled before the token existed: onCancel could not find it.
                if Task.isCancelled {
                    cont.resume(throwing: CancellationError())
                    return
                }
                var startSweep = false
                let result: Result<Channel?, Error> = state.withLockedValue { s in
                    do {
                        var channel: Channel?
                        if s.responseSid == nil {
                            let sid = s.nextSid
                            s.nextSid += 1
                            s.responseSid = sid
                            channel = enqueueControl(&s, "SUB \(inboxPrefix).* \(sid)\r\n")
                        }
                        s.nextRequestID += 1
                        let token = String(s.nextRequestID, radix: 36)
                        try encodePublish(&s, subject: subject, payload: payload, reply: inboxPrefix + "." + token, headers: headers)
                        s.requests[token] = PendingRequest(continuation: cont, deadline: .now() + timeout.timeAmount)
                        if !s.sweepScheduled {
                            s.sweepScheduled = true
                            startSweep = true
                        }
                        box.withLockedValue { $0 = token }
                        return .success(channel ?? s.claimFlush())
                    } catch {
                        return .failure(error)
                    }
                }
                switch result {
                case .failure(let e): cont.resume(throwing: e)
                case .success(let ch): if let ch { scheduleWrite(ch) }
                }
                if startSweep { scheduleSweep() }
            }
        } onCancel: {
            if let token = box.withLockedValue({ $0 }) { failRequest(token, with: CancellationError()) }
        }
    }

    /// Request timeouts are checked by one periodic sweep while requests are outstanding:
    /// a timer per request would cost two cross-thread wakeups each.
    private func scheduleSweep() {
        eventLoop.scheduleTask(in: .milliseconds(10)) { [weak self] in
            guard let self else { return }
            self.sweepRequests()
        }
    }

    private func sweepRequests() {
        let now = NIODeadline.now()
        let (expired, again, channel): ([PendingRequest], Bool, Channel?) = state.withLockedValue { s in
            var expired: [PendingRequest] = []
            for (token, r) in s.requests where r.deadline <= now {
                expired.append(r)
                s.requests[token] = nil
            }
            s.sweepScheduled = !s.requests.isEmpty
            let channel = expired.isEmpty ? nil : renewResponseSubscription(&s, now: now)
            return (expired, s.sweepScheduled, channel)
        }
        for r in expired { r.continuation.resume(throwing: NATSError.timeout) }
        if let channel { scheduleWrite(channel) }
        if again { scheduleSweep() }
    }

    /// After a request timed out, subscribes the response inbox again (then drops the old
    /// subscription), at most once a second. In a cluster a subscription made while a route was
    /// being set up can miss that route (nats-server 2.9 closes one of two simultaneous routes as a
    /// duplicate, and interest sent over it is lost), so replies from servers behind it never
    /// arrive; a new subscription is announced on every current route.
    private func renewResponseSubscription(_ s: inout ConnectionState, now: NIODeadline) -> Channel? {
        guard let old = s.responseSid, s.status == .connected else { return nil }
        if let last = s.responseRefreshedAt, now - last < .seconds(1) { return nil }
        s.responseRefreshedAt = now
        let sid = s.nextSid
        s.nextSid += 1
        s.responseSid = sid
        s.previousResponseSid = old
        return enqueueControl(&s, "SUB \(inboxPrefix).* \(sid)\r\nUNSUB \(old)\r\n")
    }

    /// Sends a request with a byte-array payload.
    public nonisolated(nonsending) func request(_ subject: String, payload: [UInt8], headers: NATSHeaders? = nil, timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try await request(subject, payload: ByteBuffer(bytes: payload), headers: headers, timeout: timeout)
    }

    /// Sends a request with a UTF-8 text payload.
    public nonisolated(nonsending) func request(_ subject: String, payload: String, headers: NATSHeaders? = nil, timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try await request(subject, payload: ByteBuffer(string: payload), headers: headers, timeout: timeout)
    }

    private func failRequest(_ token: String, with error: Error) {
        let r = state.withLockedValue { $0.requests.removeValue(forKey: token) }
        r?.continuation.resume(throwing: error)
    }

    // MARK: - Inbound (called on the event loop by the channel handler)

    func handleMessage(_ message: NATSMessage, sid: UInt64) {
        enum Delivery {
            case none
            case reply(PendingRequest)
            case deliver(AsyncStream<NATSMessage>.Continuation, finish: Bool)
        }
        let delivery: Delivery = state.withLockedValue { s in
            if sid == s.responseSid || (sid == s.previousResponseSid && sid != 0) {
                let subject = message.subject.utf8
                let prefixCount = inboxPrefix.utf8.count + 1
                guard subject.count > prefixCount else { return .none }
                let token = String(decoding: subject.dropFirst(prefixCount), as: UTF8.self)
                guard let r = s.requests.removeValue(forKey: token) else { return .none }
                return .reply(r)
            }
            guard let rec = s.subscriptions[sid] else { return .none }
            rec.delivered += 1
            if let max = rec.max, rec.delivered >= max {
                s.subscriptions[sid] = nil
                return .deliver(rec.continuation, finish: true)
            }
            return .deliver(rec.continuation, finish: false)
        }
        switch delivery {
        case .none:
            break
        case .reply(let r):
            if message.statusCode == 503 {
                r.continuation.resume(throwing: NATSError.noResponders)
            } else {
                r.continuation.resume(returning: message)
            }
        case .deliver(let c, let finish):
            c.yield(message)
            if finish { c.finish() }
        }
    }

    func handlePong() {
        let flush: PendingFlush? = state.withLockedValue { s in
            s.pingsOutstanding = 0
            guard !s.pongWaiters.isEmpty else { return nil }
            if case .flush(let id) = s.pongWaiters.removeFirst().kind {
                return s.flushes.removeValue(forKey: id)
            }
            return nil
        }
        if let flush {
            flush.timeout?.cancel()
            flush.continuation.resume()
        }
    }

    func handleServerError(_ text: String) {
        let error = Self.mapServerError(text)
        logger.warning("server error", metadata: ["error": "\(text)"])
        state.withLockedValue { $0.lastError = error }
        emit(.serverError(text))
    }

    static func mapServerError(_ text: String) -> NATSError {
        let lower = text.lowercased()
        if lower.contains("authorization violation") || lower.contains("authentication") {
            return .authorizationViolation
        }
        return .serverError(text)
    }

    func recordError(_ error: NATSError) {
        state.withLockedValue { $0.lastError = error }
    }

    func updateInfo(_ info: ServerInfo) {
        state.withLockedValue { s in
            s.serverInfo = info
            learnServers(&s, from: info)
        }
    }

    /// Remembers cluster members the server announces, so reconnects can reach them too.
    func learnServers(_ s: inout ConnectionState, from info: ServerInfo) {
        for url in info.connectURLs ?? [] {
            guard let address = try? ServerAddress.parse(url) else { continue }
            let known = servers.contains { $0.host == address.host && $0.port == address.port }
                || s.discoveredServers.contains(address)
            if !known { s.discoveredServers.append(address) }
        }
    }
}
