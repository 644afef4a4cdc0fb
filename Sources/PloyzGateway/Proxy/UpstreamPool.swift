import NIOCore
import NIOPosix

/// Keep-alive connections to backends for one event loop. Used only on that loop, so it needs no
/// lock, and a client connection always proxies through upstream channels of its own loop.
final class UpstreamPool {
    let eventLoop: EventLoop
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let upstreamReadTimeout: TimeAmount
    private let maxIdlePerBackend: Int
    private let failedBackendPause: TimeAmount
    /// Backends whose last connect failed, and until when they are passed over.
    private var unavailableUntil: [SocketAddress: NIODeadline] = [:]
    /// Boxed per backend so taking and returning a connection mutates the list in place (no
    /// copy-on-write of an array taken out of the dictionary on every request).
    private final class IdleList {
        var connections: [UpstreamConnection] = []
    }
    private var idle: [SocketAddress: IdleList] = [:]

    init(eventLoop: EventLoop, timeouts: GatewayTimeouts, maxIdlePerBackend: Int) {
        self.eventLoop = eventLoop
        self.connectTimeout = timeouts.connect
        self.idleTimeout = timeouts.upstreamIdle
        self.upstreamReadTimeout = timeouts.upstreamRead
        self.maxIdlePerBackend = maxIdlePerBackend
        self.failedBackendPause = timeouts.failedBackendPause
    }

    /// False while `backend` is paused after a failed connect.
    func isAvailable(_ backend: SocketAddress) -> Bool {
        guard !unavailableUntil.isEmpty, let until = unavailableUntil[backend] else { return true }
        if until <= .now() {
            unavailableUntil[backend] = nil
            return true
        }
        return false
    }

    /// The most recently used idle connection to `backend`, if one is still fresh.
    func takeIdle(to backend: SocketAddress) -> UpstreamConnection? {
        guard let list = idle[backend], !list.connections.isEmpty else { return nil }
        let oldest = NIODeadline.now() - idleTimeout
        while let connection = list.connections.popLast() {
            if connection.idleSince > oldest && connection.isActive {
                connection.inPool = false
                return connection
            }
            connection.close()
        }
        return nil
    }

    /// Opens a new connection to `backend` on this loop.
    func connect(to backend: SocketAddress) -> EventLoopFuture<UpstreamConnection> {
        let connection = UpstreamConnection(backend: backend, pool: self, readTimeout: upstreamReadTimeout)
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                // No HTTP codec handlers: requests leave as bytes the client side wrote, and
                // responses are parsed by the connection itself (see `ResponseParser`).
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(connection) }
            }
            .connect(to: backend)
            .map { _ in
                if !self.unavailableUntil.isEmpty { self.unavailableUntil[backend] = nil }
                return connection
            }
            .flatMapErrorThrowing { error in
                self.unavailableUntil[backend] = .now() + self.failedBackendPause
                throw error
            }
    }

    /// Takes back a connection whose exchange completed; keeps it if it can carry another request.
    func release(_ connection: UpstreamConnection) {
        guard connection.isReusable else {
            connection.close()
            return
        }
        let list: IdleList
        if let existing = idle[connection.backend] {
            list = existing
        } else {
            list = IdleList()
            idle[connection.backend] = list
        }
        guard list.connections.count < maxIdlePerBackend else {
            connection.close()
            return
        }
        connection.idleSince = .now()
        connection.inPool = true
        list.connections.append(connection)
    }

    /// Forgets a pooled connection the backend closed.
    func remove(_ connection: UpstreamConnection) {
        guard connection.inPool, let list = idle[connection.backend] else { return }
        connection.inPool = false
        list.connections.removeAll { $0 === connection }
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        let all = idle.values.flatMap(\.connections)
        idle = [:]
        for connection in all { connection.close() }
    }
}

/// What the client side of an exchange hears from its upstream connection.
protocol UpstreamDelegate: AnyObject {
    /// A 1xx response other than 101 (e.g. 100 Continue); the final head follows.
    func upstreamInformationalHead(_ head: UpstreamResponseHead)
    func upstreamResponseHead(_ head: UpstreamResponseHead)
    /// 101 Switching Protocols: what follows (as `upstreamResponseBody`) is the new protocol's bytes.
    func upstreamUpgraded(_ head: UpstreamResponseHead)
    /// Body bytes (chunk framing removed), or after an upgrade the backend's bytes as they are.
    func upstreamResponseBody(_ body: ByteBuffer)
    /// The response is complete; `trailers` holds a chunked body's trailer lines.
    func upstreamResponseEnd(_ trailers: ByteBuffer?)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(writable: Bool)
    /// The connection closed or failed before the exchange ended.
    func upstreamFailed(_ error: Error?)
    /// Whether the client can take more response bytes (upstream reads pause when not).
    var clientIsWritable: Bool { get }
}

/// One HTTP/1.1 connection to a backend: the only handler of its pipeline, owned by a pool while
/// idle and by one client exchange while busy. Requests arrive as bytes; responses are parsed here.
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let backend: SocketAddress
    private unowned let pool: UpstreamPool
    private let readTimeout: TimeAmount
    private(set) var context: ChannelHandlerContext?
    /// Held strongly while an exchange runs and cleared when it ends: a weak reference would give
    /// the client handler a side table and slow every retain and release of it.
    var delegate: UpstreamDelegate?
    var idleSince = NIODeadline.uptimeNanoseconds(0)
    var inPool = false
    /// True once this connection carried an exchange (a failure on it may be a stale keep-alive).
    private(set) var wasUsed = false
    private var responseAllowsReuse = true
    private var exchangeComplete = true
    private var pendingRead = false
    /// Between a final response head and its end: the read deadline restarts with every part.
    private var streamingResponse = false
    private var responseTimer = DeadlineTimer()
    private var parser = ResponseParser()

    init(backend: SocketAddress, pool: UpstreamPool, readTimeout: TimeAmount) {
        self.backend = backend
        self.pool = pool
        self.readTimeout = readTimeout
    }

    var isActive: Bool { context?.channel.isActive ?? false }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    var isReusable: Bool { responseAllowsReuse && exchangeComplete && isActive && parser.isBetweenResponses }

    /// Starts an exchange: `delegate` hears the response. A HEAD request's response has no body.
    func begin(delegate: UpstreamDelegate, isHeadRequest: Bool) {
        self.delegate = delegate
        parser.expectsNoBody = isHeadRequest
        exchangeComplete = false
        responseAllowsReuse = true
        streamingResponse = false
        armReadDeadline()
    }

    /// Starts (or moves) the deadline for the backend's next bytes. The closure holds `self`
    /// strongly (no weak side table); the timer is cancelled when the channel goes.
    private func armReadDeadline() {
        guard let context else { return }
        responseTimer.set(.now() + readTimeout, on: context.eventLoop, onExpiry: { self.responseTimeout() })
    }

    /// No deadline until the next exchange. The scheduled task stays for the next `armReadDeadline`
    /// to reuse: cancelling one costs a linear search of the loop's scheduled tasks, per request.
    private func clearReadDeadline() {
        guard let context else { return }
        responseTimer.set(nil, on: context.eventLoop, onExpiry: {})
    }

    /// Ends the exchange from the client side: back to the pool if reusable, else closed.
    func finish() {
        delegate = nil
        wasUsed = true
        streamingResponse = false
        clearReadDeadline()
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
        pool.release(self)
    }

    /// Abandons the exchange (client gone, or its response cut short): closes the connection.
    func abandon() {
        delegate = nil
        responseAllowsReuse = false
        close()
    }

    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    func close() {
        responseTimer.cancel()
        context?.close(promise: nil)
    }

    /// The client became writable again: resume reading the response.
    func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        if streamingResponse { armReadDeadline() }
        context.read()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        responseTimer.cancel()
        delegate = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if parser.isUpgraded {
            // Between the 101 and the splice: the new protocol's bytes go through untouched.
            delegate?.upstreamResponseBody(input)
            return
        }
        while true {
            let event: ResponseParser.Event?
            do {
                event = try parser.next(&input)
            } catch {
                errorCaught(context: context, error: error)
                return
            }
            guard let event else { break }
            guard let delegate else {
                // A response nobody asked for: this connection is out of step, drop it.
                responseAllowsReuse = false
                context.close(promise: nil)
                return
            }
            deliver(event, to: delegate)
            if case .upgrade = event {
                // What came with the 101 is already the new protocol's.
                if input.readableBytes > 0 { self.delegate?.upstreamResponseBody(input) }
                return
            }
        }
    }

    private func deliver(_ event: ResponseParser.Event, to delegate: UpstreamDelegate) {
        switch event {
        case .informational(let head):
            delegate.upstreamInformationalHead(head)
        case .head(let head):
            if !head.keepAlive { responseAllowsReuse = false }
            // A backend that stalls mid-body is cut after the same read timeout as one that never answers.
            streamingResponse = true
            armReadDeadline()
            delegate.upstreamResponseHead(head)
        case .upgrade(let head):
            responseAllowsReuse = false
            responseTimer.cancel()
            delegate.upstreamUpgraded(head)
        case .body(let body):
            if streamingResponse { armReadDeadline() }
            delegate.upstreamResponseBody(body)
        case .end(let trailers):
            exchangeComplete = true
            streamingResponse = false
            clearReadDeadline()
            delegate.upstreamResponseEnd(trailers)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(writable: context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        responseTimer.cancel()
        responseAllowsReuse = false
        pool.remove(self)
        // A body that runs until the close ends here.
        if let delegate, let end = parser.inputClosed() {
            deliver(end, to: delegate)
        }
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        responseAllowsReuse = false
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(error)
        }
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let delegate, !delegate.clientIsWritable {
            // The slow party is the client now, not the backend: no read deadline while paused.
            pendingRead = true
            if streamingResponse { responseTimer.set(nil, on: context.eventLoop, onExpiry: {}) }
        } else {
            context.read()
        }
    }

    private func responseTimeout() {
        guard let context else { return }
        guard responseTimer.fired(on: context.eventLoop, onExpiry: { self.responseTimeout() }) else { return }
        errorCaught(context: context, error: UpstreamTimeout())
    }
}

/// The backend sent nothing (no response head, or no more of its body) within the upstream read timeout.
struct UpstreamTimeout: Error, CustomStringConvertible {
    var description: String { "backend sent nothing within the upstream read timeout" }
}
