import Logging
import NIOCore
import NIOHTTP1

/// Proxies the requests of one client connection, one at a time, to the backends its routes pick.
///
/// It is the last handler of the client pipeline, and a thin executor: `ProxyStateMachine` decides,
/// this handler routes heads, talks to the upstream pool and writes bytes. Bodies stream part by
/// part in both directions: reading from the client pauses while the upstream is not writable, and
/// reading from the upstream pauses while the client is not writable, so no body is ever held whole.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    /// Responses leave as bytes the handler frames itself (see `ClientBodyFraming`).
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let loop: LoopContext
    /// The client connection's header and idle deadlines; nil on an HTTP/2 stream, whose head comes
    /// whole in one frame and whose connection has its own idle timeout.
    private let timeouts: ClientTimeoutHandler?
    private let scheme: String
    private var context: ChannelHandlerContext!
    private var machine: ProxyStateMachine
    /// The connection the exchange in progress is sent on.
    private var upstream: UpstreamConnection?
    /// When the request head went upstream (for the upstream latency metric).
    private var sentAt = NIODeadline.uptimeNanoseconds(0)
    private var clientAddress = ""

    init(loop: LoopContext, timeouts: ClientTimeoutHandler?, scheme: String) {
        self.loop = loop
        self.timeouts = timeouts
        self.scheme = scheme
        self.machine = ProxyStateMachine(maxRequestHeaderBytes: loop.shared.configuration.maxRequestHeaderBytes)
    }

    // MARK: Client events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientAddress = context.channel.remoteAddress?.ipAddress ?? ""
    }

    /// The context holds this handler and this handler the context: without this, every client
    /// connection's pipeline stayed in memory after it closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        run(machine.clientRead(unwrapInboundIn(data)))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        run(machine.clientReadComplete())
    }

    func read(context: ChannelHandlerContext) {
        run(machine.readRequested(upstreamWritable: upstream?.isWritable ?? false))
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { run(machine.clientBecameWritable()) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        machine.clientClosed()
        abandonUpstream()
        context.fireChannelInactive()
    }

    /// The server is draining (`GatewayServer.drain`): an idle connection closes now, a busy one after
    /// its current response, which says `connection: close`.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        run(machine.quiesce())
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? HTTPParserError {
            run(machine.parseError(error))
        } else {
            run(machine.connectionError())
        }
    }

    // MARK: UpstreamDelegate

    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    func upstreamInformationalHead(_ head: UpstreamResponseHead) {
        run(machine.upstreamInformationalHead(head))
    }

    func upstreamResponseHead(_ head: UpstreamResponseHead) {
        if let metrics = machine.exchange?.route.metrics {
            metrics.recordUpstreamLatency(nanoseconds: Int64((NIODeadline.now() - sentAt).nanoseconds))
            metrics.countResponse(status: head.status)
        }
        run(machine.upstreamResponseHead(head))
    }

    func upstreamUpgraded(_ head: UpstreamResponseHead) {
        guard let exchange = machine.exchange, let upstream else { return }
        if exchange.isUpgrade, let metrics = exchange.route.metrics {
            metrics.recordUpstreamLatency(nanoseconds: Int64((NIODeadline.now() - sentAt).nanoseconds))
            metrics.countResponse(status: 101)
        }
        run(machine.upstreamUpgraded(head, upstream: Self.describe(upstream, exchange)))
    }

    func upstreamResponseBody(_ body: ByteBuffer) {
        run(machine.upstreamResponseBody(body))
    }

    func upstreamResponseEnd(_ trailers: ByteBuffer?) {
        run(machine.upstreamResponseEnd(trailers))
    }

    func upstreamReadComplete() {
        run(machine.upstreamReadComplete())
    }

    func upstreamWritabilityChanged(writable: Bool) {
        if writable { run(machine.readsMayResume(upstreamWritable: true)) }
    }

    func upstreamFailed(_ error: Error?) {
        guard let exchange = machine.exchange, let upstream else { return }
        if exchange.responseStarted {
            loop.shared.logger.warning("upstream closed mid-response", metadata: ["backend": "\(upstream.backend)", "route": "\(exchange.route.label)"])
        }
        run(machine.upstreamFailed(upstream: Self.describe(upstream, exchange), error: error.map { "\($0)" },
                                   timedOut: error is UpstreamTimeout, wasUsed: upstream.wasUsed))
    }

    // MARK: Carrying out actions

    private func run(_ action: ProxyStateMachine.Action) {
        switch action {
        case .none:
            break
        case .read:
            context.read()
        case .route(let head):
            route(head)
        case .connect(let exchange):
            connect(exchange)
        case .startRequest(let exchange, let flush):
            startRequest(exchange, flush: flush)
        case .sendBody(let part, let chunked):
            guard let upstream else { return }
            write(part, chunked: chunked, to: upstream)
        case .flushUpstream:
            upstream?.flush()
        case .resumeUpstreamReads:
            upstream?.resumeReading()
        case .releaseUpstream:
            if let upstream {
                self.upstream = nil
                loop.pool.release(upstream)
            }
        case .writeInformational(let head, let minor):
            context.writeAndFlush(wrapOutboundOut(ClientResponseHead.informationalBytes(for: head, clientMinorVersion: minor)), promise: nil)
        case .writeResponseHead(let head, let framing):
            context.write(wrapOutboundOut(ClientResponseHead.bytes(for: head, framing: framing)), promise: nil)
        case .writeResponseBody(let body, let framing):
            if framing == .chunked {
                context.write(wrapOutboundOut(ChunkedFraming.sizeLine(body.readableBytes)), promise: nil)
                context.write(wrapOutboundOut(body), promise: nil)
                context.write(wrapOutboundOut(ChunkedFraming.lineEnd), promise: nil)
            } else {
                context.write(wrapOutboundOut(body), promise: nil)
            }
        case .flushClient:
            context.flush()
        case .upgrade(let head, let minor):
            upgrade(head, clientMinorVersion: minor)
        case .finishResponse(let trailers, let framing, let releaseUpstream, let then):
            if let upstream {
                self.upstream = nil
                if releaseUpstream { upstream.finish() } else { upstream.abandon() }
            }
            finish(end: framing == .chunked ? ChunkedFraming.lastChunk(trailerLines: trailers) : nil, then: then)
        case .nextRequest:
            timeouts?.exchangeFinished()
            drainQueue()
        case .respond(let response, let then):
            abandonUpstream()
            response.metrics?.countResponse(status: Int(response.status.code))
            if response.metrics == nil { loop.shared.metrics?.unrouted.countResponse(status: Int(response.status.code)) }
            finish(end: ClientResponseHead.localBytes(for: response), then: then)
        case .closeClient:
            abandonUpstream()
            context.close(promise: nil)
        }
    }

    /// Writes the last bytes of a response, then goes on as `then` says.
    private func finish(end: ByteBuffer?, then: AfterResponse) {
        switch then {
        case .nextRequest:
            timeouts?.exchangeFinished()
            if let end { context.write(wrapOutboundOut(end), promise: nil) }
            context.flush()
            drainQueue()
        case .discardRequestBody:
            if let end { context.writeAndFlush(wrapOutboundOut(end), promise: nil) }
            run(machine.readsMayResume(upstreamWritable: false))
        case .close:
            // Closed once everything before is written (an empty write completes in order).
            context.writeAndFlush(wrapOutboundOut(end ?? context.channel.allocator.buffer(capacity: 0)))
                .whenComplete { [context] _ in context?.close(promise: nil) }
        }
    }

    /// Runs pipelined requests (and a parse error) that arrived during the exchange that just ended.
    private func drainQueue() {
        while let action = machine.nextQueued() { run(action) }
        run(machine.queueSettled())
        run(machine.readsMayResume(upstreamWritable: upstream?.isWritable ?? false))
    }

    private func abandonUpstream() {
        upstream?.abandon()
        upstream = nil
    }

    // MARK: Requests

    /// Checks and routes a head (see `UpstreamRequestHead`, `RouteTable`) and tells the machine.
    private func route(_ head: HTTPRequestHead) {
        timeouts?.requestHeadReceived()
        // An HTTP/2 stream (see `HTTP2StreamAdapter`) is answered like an HTTP/1.1 request on a kept connection.
        let isHTTP2 = head.version.major == 2
        let request: UpstreamRequestHead
        do throws(RequestRefusal) {
            request = try UpstreamRequestHead(head, forwardingLines: forwardingLines)
        } catch {
            run(machine.requestAnsweredLocally(LocalResponse(status: error.status, message: error.description, metrics: nil, keepAlive: false),
                                               refused: true))
            return
        }
        let keepAlive = (isHTTP2 || head.isKeepAlive) && !request.asksToSwitchProtocols
        guard let route = loop.match(host: request.host, path: request.target) else {
            let message = "no route for host \(RouteTable.hostName(fromHostHeader: request.host)) path \(RouteTable.pathWithoutQuery(request.target))"
            run(machine.requestAnsweredLocally(LocalResponse(status: .notFound, message: message, metrics: nil, keepAlive: keepAlive), refused: false))
            return
        }
        guard !route.backends.isEmpty else {
            let message = "no ready backend for \(route.service) (route \(route.hostPattern)\(route.pathPrefix))"
            run(machine.requestAnsweredLocally(LocalResponse(status: .serviceUnavailable, message: message, metrics: route.metrics, keepAlive: keepAlive),
                                               refused: false))
            return
        }
        let exchange = ProxyExchange(
            route: route, upstreamHead: request.bytes, isHeadRequest: head.method == .HEAD, chunkedBody: request.chunkedBody,
            clientMinorVersion: isHTTP2 ? 1 : head.version.minor, clientKeepAlive: keepAlive, isUpgrade: request.isUpgrade,
            mayRetry: Self.isIdempotent(head.method), firstBackendIndex: route.nextStartIndex())
        run(machine.requestRouted(exchange))
    }

    /// The forwarding lines of this connection, written once (see `UpstreamRequestHead.forwardingLines`).
    private lazy var forwardingLines = UpstreamRequestHead.forwardingLines(clientAddress: clientAddress, scheme: scheme)

    /// Methods whose requests may be sent again to another backend when the first connect fails.
    private static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: true
        default: false
        }
    }

    /// `upstream ADDRESS for SERVICE`, for answers and logs.
    private static func describe(_ upstream: UpstreamConnection, _ exchange: ProxyExchange) -> String {
        "upstream \(Backend(instanceID: "", address: upstream.backend)) for \(exchange.route.service)"
    }

    // MARK: Upstream connections

    /// Sends the exchange on a pooled connection to its next backend, or opens one.
    private func connect(_ exchange: ProxyExchange) {
        // A retry after a stale pooled connection failed: that one is closed already.
        upstream = nil
        let backend = exchange.takeNextBackend(isAvailable: loop.pool.isAvailable)
        if let pooled = loop.pool.takeIdle(to: backend.address) {
            upstream = pooled
            run(machine.upstreamAttached())
            return
        }
        loop.pool.connect(to: backend.address).whenComplete { [self] result in
            switch result {
            case .success(let connected):
                // A client gone meanwhile has the connection released (`.releaseUpstream`).
                upstream = connected
                run(machine.upstreamAttached())
            case .failure(let error):
                guard machine.exchange === exchange else { return }
                loop.shared.logger.warning("upstream connect failed", metadata: [
                    "backend": "\(backend)", "route": "\(exchange.route.label)", "error": "\(error)", "retry": "\(exchange.mayConnectAgain)",
                ])
                run(machine.connectFailed(upstream: "upstream \(backend) for \(exchange.route.service)",
                                          error: "\(error)"))
            }
        }
    }

    private func startRequest(_ exchange: ProxyExchange, flush: Bool) {
        guard let upstream else { return }
        upstream.begin(delegate: self, isHeadRequest: exchange.isHeadRequest)
        upstream.write(exchange.upstreamHead)
        for part in exchange.buffered { write(part, chunked: exchange.chunkedBody, to: upstream) }
        exchange.buffered = []
        sentAt = .now()
        if flush { upstream.flush() }
        run(machine.readsMayResume(upstreamWritable: upstream.isWritable))
    }

    /// Request body bytes, chunked again when the client sent them chunked.
    private func write(_ part: RequestBodyPart, chunked: Bool, to upstream: UpstreamConnection) {
        switch part {
        case .body(let body):
            if chunked { upstream.write(ChunkedFraming.sizeLine(body.readableBytes)) }
            upstream.write(body)
            if chunked { upstream.write(ChunkedFraming.lineEnd) }
        case .end(let trailers):
            if chunked { upstream.write(ChunkedFraming.lastChunk(trailers: trailers)) }
        }
    }

    private func upgrade(_ head: UpstreamResponseHead, clientMinorVersion: Int) {
        context.writeAndFlush(wrapOutboundOut(ClientResponseHead.upgradeBytes(for: head, clientMinorVersion: clientMinorVersion)), promise: nil)
        let client = context.channel
        guard let upstreamChannel = upstream?.context?.channel else {
            run(.closeClient)
            return
        }
        // The splice owns both channels from here; this handler lets go of the upstream connection.
        upstream = nil
        context.eventLoop.execute { GlueHandler.splice(client: client, upstream: upstreamChannel) }
    }
}
