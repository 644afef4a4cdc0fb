import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The CONNECT options sent to the server.
struct ConnectInfo: Encodable {
    var verbose = false
    var pedantic = false
    var lang = "swift"
    var version = "0.1.0"
    var protocolVersion = 1
    var headers = true
    var noResponders = true
    var echo: Bool
    var name: String?
    var user: String?
    var pass: String?
    var authToken: String?

    enum CodingKeys: String, CodingKey {
        case verbose, pedantic, lang, version, headers, echo, name, user, pass
        case protocolVersion = "protocol"
        case noResponders = "no_responders"
        case authToken = "auth_token"
    }
}

extension NATSConnection {
    /// Dials `server`, runs the INFO/CONNECT/PING handshake and makes the channel current.
    func establish(_ server: ServerAddress) async throws {
        let loop = eventLoop
        let handshake = loop.makePromise(of: Void.self)
        let connectLine = try makeConnectLine(server)
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(options.connectTimeout.timeAmount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(NATSProtocolDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        NATSChannelHandler(connection: self, connectLine: connectLine, handshake: handshake))
                }
            }
        let timeout = loop.scheduleTask(in: options.connectTimeout.timeAmount) {
            handshake.fail(NATSError.connectionFailed("\(server): handshake timed out"))
        }
        defer { timeout.cancel() }
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: server.host, port: server.port).get()
        } catch let e as NATSError {
            handshake.fail(e)
            throw e
        } catch {
            handshake.fail(error)
            throw NATSError.connectionFailed("\(server): \(error)")
        }
        do {
            try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private func makeConnectLine(_ server: ServerAddress) throws -> ByteBuffer {
        var info = ConnectInfo(echo: options.echo)
        info.name = options.name
        info.user = server.user ?? options.user
        info.pass = server.password ?? options.password
        info.authToken = options.token
        if info.user != nil && info.pass == nil { (info.authToken, info.user) = (info.user, nil) }
        let json = try JSONEncoder().encode(info)
        var buffer = allocator.buffer(capacity: json.count + 16)
        buffer.writeStaticString("CONNECT ")
        buffer.writeBytes(json)
        buffer.writeStaticString("\r\nPING\r\n")
        return buffer
    }

    /// Called on the event loop when the handshake PONG arrived: makes `channel` current,
    /// restores subscriptions, then sends buffered publishes and pending flush PINGs.
    /// Returns false when the connection was closed meanwhile.
    func channelEstablished(_ channel: Channel, info: ServerInfo) -> Bool {
        let result: (first: Bool, out: ByteBuffer)? = state.withLockedValue { s in
            guard s.status != .closed else { return nil }
            s.generation += 1
            s.channel = channel
            s.serverInfo = info
            learnServers(&s, from: info)
            s.status = .connected
            s.flushScheduled = false
            s.pingsOutstanding = 0
            var out = allocator.buffer(capacity: 256 + s.pending.readableBytes)
            for rec in s.subscriptions.values.sorted(by: { $0.sid < $1.sid }) {
                out.writeString(rec.queue.map { "SUB \(rec.subject) \($0) \(rec.sid)\r\n" } ?? "SUB \(rec.subject) \(rec.sid)\r\n")
                if let max = rec.max { out.writeString("UNSUB \(rec.sid) \(max - rec.delivered)\r\n") }
            }
            if let sid = s.responseSid { out.writeString("SUB \(inboxPrefix).* \(sid)\r\n") }
            // PONGs come back in PING order. PINGs still in `pending` go out with it; flushes whose
            // PING went to the dead channel (or was never sent) get a new one first; keep-alives
            // from the dead channel are forgotten.
            var resent: [PongWaiter] = []
            var queued: [PongWaiter] = []
            for w in s.pongWaiters {
                if w.pingEpoch == s.writeEpoch && s.pending.readableBytes > 0 {
                    queued.append(w)
                } else if case .flush(let id) = w.kind, s.flushes[id] != nil {
                    resent.append(PongWaiter(kind: w.kind, pingEpoch: nil))
                    out.writeStaticString("PING\r\n")
                }
            }
            s.pongWaiters = resent + queued
            out.writeBuffer(&s.pending)
            s.pending.clear()
            s.writeEpoch &+= 1
            let first = !s.everConnected
            s.everConnected = true
            s.pingTask?.cancel()
            let interval = options.pingInterval.timeAmount
            s.pingTask = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
                self?.sendKeepAlive(channel)
            }
            return (first, out)
        }
        guard let result else { return false }
        if result.out.readableBytes > 0 { channel.writeAndFlush(result.out, promise: nil) }
        logger.info("nats connected", metadata: ["server": "\(info.serverName ?? info.serverID)", "version": "\(info.version)"])
        emit(result.first ? .connected : .reconnected)
        return true
    }

    private func sendKeepAlive(_ channel: Channel) {
        enum Action { case none, ping(Channel?), stale }
        let action: Action = state.withLockedValue { s in
            guard s.status == .connected, s.channel === channel else { return .none }
            if s.pingsOutstanding >= options.maxPingsOutstanding { return .stale }
            s.pingsOutstanding += 1
            let channel = enqueueControl(&s, "PING\r\n")
            s.pongWaiters.append(PongWaiter(kind: .keepAlive, pingEpoch: s.writeEpoch))
            return .ping(channel)
        }
        switch action {
        case .none: break
        case .ping(let ch): if let ch { scheduleWrite(ch) }
        case .stale:
            logger.warning("nats connection stale: no PONG, reconnecting")
            recordError(.timeout)
            channel.close(promise: nil)
        }
    }

    /// Called on the event loop when an established channel closed.
    func channelClosed(_ channel: Channel) {
        let reconnect: Bool = state.withLockedValue { s in
            guard s.channel === channel else { return false }
            s.channel = nil
            s.pingTask?.cancel()
            s.pingTask = nil
            s.flushScheduled = false
            guard s.status == .connected else { return false }
            s.status = .reconnecting
            return true
        }
        guard reconnect else { return }
        logger.warning("nats disconnected, reconnecting")
        emit(.disconnected)
        let task = Task { await self.reconnectLoop() }
        state.withLockedValue { $0.reconnectTask = task }
    }

    private func reconnectLoop() async {
        var attempts = 0
        var wait = options.reconnectWait
        while true {
            let (status, start, discovered) = state.withLockedValue { ($0.status, $0.currentServer, $0.discoveredServers) }
            guard status == .reconnecting else { return }
            let candidates = servers + discovered
            for offset in 0..<candidates.count {
                if let max = options.maxReconnectAttempts, attempts >= max {
                    logger.error("nats giving up reconnecting", metadata: ["attempts": "\(attempts)"])
                    await close()
                    return
                }
                attempts += 1
                let index = (start + offset) % candidates.count
                do {
                    try await establish(candidates[index])
                    state.withLockedValue { $0.currentServer = index }
                    return
                } catch {
                    if state.withLockedValue({ $0.status }) != .reconnecting { return }
                    logger.debug("nats reconnect failed", metadata: ["server": "\(candidates[index])", "error": "\(error)"])
                }
            }
            let jitter = Double.random(in: 0.8...1.2)
            try? await Task.sleep(for: wait * jitter)
            wait = min(wait * 2, options.reconnectWaitMax)
        }
    }

    /// Closes the connection: pending requests and flushes fail with `connectionClosed`,
    /// subscriptions finish, the event stream ends with `.closed`.
    public func close() async {
        let taken = state.withLockedValue { s -> (Channel?, [PendingRequest], [PendingFlush], [SubscriptionRecord], [AsyncStream<NATSConnectionEvent>.Continuation], Task<Void, Never>?)? in
            guard s.status != .closed else { return nil }
            s.status = .closed
            let out = (s.channel, Array(s.requests.values), Array(s.flushes.values), Array(s.subscriptions.values),
                       Array(s.eventContinuations.values), s.reconnectTask)
            s.channel = nil
            s.requests = [:]
            s.flushes = [:]
            s.subscriptions = [:]
            s.eventContinuations = [:]
            s.pongWaiters = []
            s.pingTask?.cancel()
            s.pingTask = nil
            s.reconnectTask = nil
            s.pending.clear()
            return out
        }
        guard let (channel, requests, flushes, subs, events, reconnectTask) = taken else { return }
        reconnectTask?.cancel()
        for r in requests {
            r.continuation.resume(throwing: NATSError.connectionClosed)
        }
        for f in flushes {
            f.timeout?.cancel()
            f.continuation.resume(throwing: NATSError.connectionClosed)
        }
        for rec in subs { rec.continuation.finish() }
        if let channel { try? await channel.close().get() }
        for e in events {
            e.yield(.closed)
            e.finish()
        }
        logger.info("nats connection closed")
    }

    /// Unsubscribes everything, lets messages already sent reach the subscriptions, flushes
    /// outstanding publishes, then closes.
    public func drain(timeout: Duration = .seconds(10)) async throws {
        let (subs, channel): ([SubscriptionRecord], Channel?) = state.withLockedValue { s in
            guard s.status != .closed else { return ([], nil) }
            var channel: Channel?
            let subs = Array(s.subscriptions.values)
            for rec in subs { channel = enqueueControl(&s, "UNSUB \(rec.sid)\r\n") ?? channel }
            return (subs, channel)
        }
        if let channel { scheduleWrite(channel) }
        defer { }
        do {
            if !isClosed { try await flush(timeout: timeout) }
        } catch {
            await close()
            throw error
        }
        state.withLockedValue { s in for rec in subs { s.subscriptions[rec.sid] = nil } }
        for rec in subs { rec.continuation.finish() }
        await close()
    }
}

/// Drives one channel: the handshake, then hands server operations to the connection.
final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ServerOp
    typealias OutboundOut = ByteBuffer

    private enum Phase { case awaitingInfo, awaitingPong, established, failed }

    private let connection: NATSConnection
    private let connectLine: ByteBuffer
    private let handshake: EventLoopPromise<Void>
    private var phase = Phase.awaitingInfo
    private var info = ServerInfo()

    init(connection: NATSConnection, connectLine: ByteBuffer, handshake: EventLoopPromise<Void>) {
        self.connection = connection
        self.connectLine = connectLine
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .message(let message, let sid):
            connection.handleMessage(message, sid: sid)
        case .pong:
            if phase == .awaitingPong {
                phase = .established
                if connection.channelEstablished(context.channel, info: info) {
                    handshake.succeed(())
                } else {
                    handshake.fail(NATSError.connectionClosed)
                    context.close(promise: nil)
                }
            } else {
                connection.handlePong()
            }
        case .ping:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(staticString: "PONG\r\n")), promise: nil)
        case .ok:
            break
        case .info(let json):
            guard let decoded = try? JSONDecoder().decode(ServerInfo.self, from: Data(json.utf8)) else {
                fail(context, NATSError.protocolError(NATSProtocolDecoder.truncate(Array(json.utf8))))
                return
            }
            info = decoded
            if phase == .awaitingInfo {
                phase = .awaitingPong
                context.writeAndFlush(wrapOutboundOut(connectLine), promise: nil)
            } else if phase == .established {
                connection.updateInfo(decoded)
            }
        case .err(let text):
            if phase == .established {
                connection.handleServerError(text)
            } else {
                fail(context, NATSConnection.mapServerError(text))
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let natsError = (error as? NATSError) ?? NATSError.connectionFailed("\(error)")
        fail(context, natsError)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: NATSError) {
        if phase == .established {
            connection.logger.warning("nats connection error", metadata: ["error": "\(error)"])
            connection.recordError(error)
        } else {
            phase = .failed
            handshake.fail(error)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase == .established {
            connection.channelClosed(context.channel)
        } else {
            phase = .failed
            handshake.fail(NATSError.connectionFailed("server closed the connection during the handshake"))
        }
        context.fireChannelInactive()
    }
}
