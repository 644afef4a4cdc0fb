import Logging
import NIOCore
import NIOHTTP1

/// Proxies the requests of one client connection, one at a time, to the backends its routes pick.
///
/// It is the last handler of the client pipeline. Bodies stream part by part in both directions:
/// reading from the client pauses while the upstream is not writable, and reading from the
/// upstream pauses while the client is not writable, so no body is ever held whole.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    /// Responses leave as bytes the handler frames itself (see `ClientBodyFraming`).
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One request and its response. A class: the state holds it, and its fields change in place
    /// (a struct was copied out of the state and back on every event).
    private final class Exchange {
        let route: Route
        let metrics: GatewayMetrics.RouteMetrics?
        /// The head sent upstream, as bytes (forwarding headers added, hop-by-hop removed).
        let upstreamHead: ByteBuffer
        let isHeadRequest: Bool
        /// The request body goes upstream chunked (the client sent it chunked).
        let chunkedBody: Bool
        let clientVersion: HTTPVersion
        let clientKeepAlive: Bool
        let isUpgrade: Bool
        let mayRetry: Bool
        let firstBackendIndex: Int
        /// Connects tried (retries stop at three, or at the route's backend count).
        var attempts = 0
        /// Position (after `firstBackendIndex`) of the backend in use, and of the next one to try.
        var position = 0
        var nextPosition = 0
        /// Body bytes (framed for the upstream) received while no upstream connection is attached; replayed on connect.
        var buffered: [ByteBuffer] = []
        var sawBody = false
        var requestEnded = false
        var responseStarted = false
        var responseKeepAlive = true
        var sentAt = NIODeadline.uptimeNanoseconds(0)

        init(route: Route, metrics: GatewayMetrics.RouteMetrics?, upstreamHead: ByteBuffer, isHeadRequest: Bool, chunkedBody: Bool,
             clientVersion: HTTPVersion, clientKeepAlive: Bool, isUpgrade: Bool, mayRetry: Bool, firstBackendIndex: Int) {
            self.route = route
            self.metrics = metrics
            self.upstreamHead = upstreamHead
            self.isHeadRequest = isHeadRequest
            self.chunkedBody = chunkedBody
            self.clientVersion = clientVersion
            self.clientKeepAlive = clientKeepAlive
            self.isUpgrade = isUpgrade
            self.mayRetry = mayRetry
            self.firstBackendIndex = firstBackendIndex
        }
    }

    private enum State {
        case idle
        case connecting(Exchange)
        case proxying(Exchange, UpstreamConnection)
        /// A local response (error) was sent; the rest of the request body is read and dropped.
        case discarding(keepAlive: Bool)
        case upgraded
        case closed
    }

    private let loop: LoopContext
    /// The client connection's header and idle deadlines; nil on an HTTP/2 stream, whose head comes
    /// whole in one frame and whose connection has its own idle timeout.
    private let timeouts: ClientTimeoutHandler?
    private let scheme: String
    private var context: ChannelHandlerContext!
    private var state = State.idle
    private var pendingRead = false
    /// Request parts that arrived while an earlier exchange was still running (pipelining).
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    /// A parse error that arrived while an exchange was still running.
    private var queuedError: Error?
    private var clientAddress = ""
    /// Between a client channelRead and its channelReadComplete (which flushes the upstream).
    private var inClientRead = false
    /// How the body of the response in progress is framed for the client.
    private var clientFraming = ClientBodyFraming.raw
    /// The server is draining: no response keeps the connection open.
    private var quiescing = false
    private static let crlf = ByteBuffer(string: "\r\n")

    init(loop: LoopContext, timeouts: ClientTimeoutHandler?, scheme: String) {
        self.loop = loop
        self.timeouts = timeouts
        self.scheme = scheme
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
        inClientRead = true
        let part = unwrapInboundIn(data)
        if !queued.isEmpty || queuedError != nil {
            queued.append(part)
        } else if case .head = part, !isIdle {
            // A pipelined request: it waits (and reading pauses) until this exchange ends.
            queued.append(part)
        } else {
            handle(part)
        }
    }

    private func handle(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            receivedHead(head)
        case .body(let body):
            receivedRequestBody(body)
        case .end(let trailers):
            receivedRequestEnd(trailers)
        }
    }

    private var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// Runs pipelined requests (and a parse error) that arrived during the exchange that just ended.
    private func drainQueue() {
        while let part = queued.first {
            if case .head = part, !isIdle { break }
            queued.removeFirst()
            handle(part)
        }
        // Outside a client read there is no read-complete to flush what the queue forwarded.
        if !inClientRead, case .proxying(_, let upstream) = state { upstream.flush() }
        if queued.isEmpty, isIdle, let error = queuedError {
            queuedError = nil
            respondToParserError(error)
        }
        resumeReadsIfAllowed()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inClientRead = false
        if case .proxying(_, let upstream) = state { upstream.flush() }
    }

    /// Reads pause while connecting, while the upstream cannot take more, and while requests wait in the queue.
    private var readsAllowed: Bool {
        guard queued.isEmpty && queuedError == nil else { return false }
        switch state {
        case .connecting: return false
        case .proxying(_, let upstream): return upstream.isWritable
        default: return true
        }
    }

    private func resumeReadsIfAllowed() {
        if pendingRead && readsAllowed {
            pendingRead = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsAllowed {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .proxying(_, let upstream) = state {
            upstream.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .proxying(_, let upstream):
            upstream.abandon()
        default:
            break
        }
        state = .closed
        context.fireChannelInactive()
    }

    /// The server is draining (`GatewayServer.drain`): an idle connection closes now, a busy one after
    /// its current response, which says `connection: close`.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        if isIdle && queued.isEmpty && queuedError == nil { closeClient() }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is HTTPParserError else {
            // Not an HTTP error (reset, TLS): nothing sensible to answer.
            closeClient()
            return
        }
        if isIdle && queued.isEmpty {
            respondToParserError(error)
        } else {
            // Answered once the exchange in progress (and any request before the bad bytes) is done.
            queuedError = error
        }
    }

    private func respondToParserError(_ error: Error) {
        if (error as? HTTPParserError) == .headerOverflow {
            respondLocally(.requestHeaderFieldsTooLarge, "request headers larger than \(loop.shared.configuration.maxRequestHeaderBytes) bytes", metrics: loop.shared.metrics?.unrouted, keepAlive: false, requestEnded: true)
        } else {
            respondLocally(.badRequest, "malformed request (\(error))", metrics: loop.shared.metrics?.unrouted, keepAlive: false, requestEnded: true)
        }
    }

    // MARK: Requests

    private func receivedHead(_ head: HTTPRequestHead) {
        timeouts?.requestHeadReceived()
        guard case .idle = state else {
            closeClient()
            return
        }
        // An HTTP/2 stream (see `HTTP2StreamAdapter`) is answered like an HTTP/1.1 request on a kept connection.
        let isHTTP2 = head.version.major == 2
        let request: UpstreamRequestHead
        do throws(RequestRefusal) {
            request = try UpstreamRequestHead(head, forwardingLines: forwardingLines)
        } catch {
            respondLocally(error.status, error.description, metrics: loop.shared.metrics?.unrouted, keepAlive: false, requestEnded: true)
            return
        }
        let keepAlive = (isHTTP2 || head.isKeepAlive) && !request.asksToSwitchProtocols
        let clientVersion = isHTTP2 ? HTTPVersion.http1_1 : head.version
        guard let route = loop.match(host: request.host, path: request.target) else {
            respondLocally(.notFound, "no route for host \(RouteTable.hostName(fromHostHeader: request.host)) path \(RouteTable.pathWithoutQuery(request.target))",
                           metrics: loop.shared.metrics?.unrouted, keepAlive: keepAlive, requestEnded: false)
            return
        }
        let metrics = route.metrics
        guard !route.backends.isEmpty else {
            respondLocally(.serviceUnavailable, "no ready backend for \(route.service) (route \(route.hostPattern)\(route.pathPrefix))",
                           metrics: metrics, keepAlive: keepAlive, requestEnded: false)
            return
        }
        let exchange = Exchange(
            route: route, metrics: metrics, upstreamHead: request.bytes, isHeadRequest: head.method == .HEAD, chunkedBody: request.chunkedBody,
            clientVersion: clientVersion, clientKeepAlive: keepAlive, isUpgrade: request.isUpgrade,
            mayRetry: Self.isIdempotent(head.method), firstBackendIndex: route.nextStartIndex())
        attachUpstream(exchange)
    }

    /// The exchange whose request is still being read from the client, if any.
    private var exchangeReadingRequest: Exchange? {
        switch state {
        case .connecting(let exchange), .proxying(let exchange, _): exchange
        default: nil
        }
    }

    /// Sends request bytes upstream, or keeps them until the upstream connection is attached.
    private func sendUpstream(_ bytes: ByteBuffer, of exchange: Exchange) {
        if case .proxying(_, let upstream) = state {
            upstream.write(bytes)
        } else {
            exchange.buffered.append(bytes)
        }
    }

    private func receivedRequestBody(_ body: ByteBuffer) {
        // An empty chunk would end a chunked body.
        guard body.readableBytes > 0, let exchange = exchangeReadingRequest else { return }
        exchange.sawBody = true
        if exchange.chunkedBody { sendUpstream(chunkSizeLine(body.readableBytes), of: exchange) }
        sendUpstream(body, of: exchange)
        if exchange.chunkedBody { sendUpstream(Self.crlf, of: exchange) }
    }

    private func receivedRequestEnd(_ trailers: HTTPHeaders?) {
        if case .discarding(let keepAlive) = state {
            finishLocalResponse(keepAlive: keepAlive)
            return
        }
        guard let exchange = exchangeReadingRequest else { return }
        exchange.requestEnded = true
        if exchange.chunkedBody { sendUpstream(lastChunk(trailers), of: exchange) }
    }

    private func chunkSizeLine(_ size: Int) -> ByteBuffer {
        var line = context.channel.allocator.buffer(capacity: 12)
        line.writeChunkSize(size)
        return line
    }

    /// The end of a chunked body: the last (empty) chunk and the trailers.
    private func lastChunk(_ trailers: HTTPHeaders?) -> ByteBuffer {
        var buffer = context.channel.allocator.buffer(capacity: 16)
        buffer.writeStaticString("0\r\n")
        for (name, value) in trailers ?? [:] { buffer.writeHeaderLine(name, value) }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// Methods whose requests may be sent again to another backend when the first connect fails.
    private static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: true
        default: false
        }
    }

    /// The forwarding lines of this connection, written once (see `UpstreamRequestHead.forwardingLines`).
    private lazy var forwardingLines = UpstreamRequestHead.forwardingLines(clientAddress: clientAddress, scheme: scheme)

    /// The response head for the client, copied line for line from the backend's: hop-by-hop headers
    /// removed, `Connection` and `Transfer-Encoding` set for the framing chosen here. Sets `clientFraming`.
    private func clientHead(_ head: UpstreamResponseHead, exchange: Exchange) -> ByteBuffer {
        let bodyless = head.hasBodilessStatus || exchange.isHeadRequest
        let hasLength = head.contentLength != nil
        var buffer = context.channel.allocator.buffer(capacity: head.headerLines.readableBytes + 96)
        buffer.writeStatusLine(minorVersion: exchange.clientVersion.minor, statusText: head.statusText)
        if head.connectionExtras.isEmpty {
            buffer.writeImmutableBuffer(head.forwardedLines)
        } else {
            // Names the backend's `Connection` header lists are hop-by-hop too (rare): a second pass.
            try? ResponseParser.forEachHeaderLine(in: head.forwardedLines) { name, _, line in
                if !head.connectionExtras.contains(String(decoding: name, as: UTF8.self).lowercased()) { buffer.writeBytes(line) }
            }
        }
        // HTTP/1.0 clients learn a body's end from the close when the backend streamed it without a length.
        exchange.responseKeepAlive = !quiescing && exchange.clientKeepAlive && (hasLength || bodyless || exchange.clientVersion.minor >= 1)
        if bodyless {
            clientFraming = .none
        } else if hasLength || exchange.clientVersion.minor == 0 {
            clientFraming = .raw
        } else {
            clientFraming = .chunked
            buffer.writeStaticString("transfer-encoding: chunked\r\n")
        }
        if !exchange.responseKeepAlive {
            buffer.writeStaticString("connection: close\r\n")
        } else if exchange.clientVersion.minor == 0 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    // MARK: Upstream connections

    /// Sends the exchange on a pooled connection to its next backend, or opens one.
    private func attachUpstream(_ exchange: Exchange) {
        let backends = exchange.route.backends
        // Backends whose connect failed lately are passed over while another one is available.
        var position = exchange.nextPosition
        for step in 0..<backends.count where backends.count > 1 {
            if loop.pool.isAvailable(backends[(exchange.firstBackendIndex + exchange.nextPosition + step) % backends.count].address) {
                position = exchange.nextPosition + step
                break
            }
        }
        let backend = backends[(exchange.firstBackendIndex + position) % backends.count]
        exchange.position = position
        exchange.nextPosition = position + 1
        exchange.attempts += 1
        if let upstream = loop.pool.takeIdle(to: backend.address) {
            // Inside a client read, its channelReadComplete flushes.
            start(exchange, on: upstream, flush: !inClientRead)
            return
        }
        state = .connecting(exchange)
        loop.pool.connect(to: backend.address).whenComplete { [self] result in
            guard case .connecting(let exchange) = state else {
                // The client went away while connecting.
                if case .success(let upstream) = result { loop.pool.release(upstream) }
                return
            }
            switch result {
            case .success(let upstream):
                start(exchange, on: upstream, flush: true)
            case .failure(let error):
                retryOrFail(exchange, error: error, backend: backend)
            }
        }
    }

    private func start(_ exchange: Exchange, on upstream: UpstreamConnection, flush: Bool) {
        upstream.begin(delegate: self, isHeadRequest: exchange.isHeadRequest)
        upstream.write(exchange.upstreamHead)
        for part in exchange.buffered { upstream.write(part) }
        exchange.buffered = []
        exchange.sentAt = .now()
        if flush { upstream.flush() }
        state = .proxying(exchange, upstream)
        resumeReadsIfAllowed()
    }

    private func retryOrFail(_ exchange: Exchange, error: Error?, backend: Backend) {
        let canRetry = exchange.mayRetry && exchange.attempts < min(exchange.route.backends.count, 3)
        loop.shared.logger.warning("upstream connect failed", metadata: [
            "backend": "\(backend)", "route": "\(exchange.route.label)", "error": "\(error.map { "\($0)" } ?? "closed")",
            "retry": "\(canRetry)",
        ])
        if canRetry {
            attachUpstream(exchange)
        } else {
            respondLocally(.badGateway, "upstream \(backend) for \(exchange.route.service) failed: \(error.map { "\($0)" } ?? "connection closed")",
                           metrics: exchange.metrics, keepAlive: exchange.clientKeepAlive, requestEnded: exchange.requestEnded)
        }
    }

    // MARK: UpstreamDelegate

    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    func upstreamInformationalHead(_ head: UpstreamResponseHead) {
        // HTTP/1.0 clients know no 1xx responses.
        guard case .proxying(let exchange, _) = state, exchange.clientVersion.minor >= 1 else { return }
        var buffer = context.channel.allocator.buffer(capacity: head.headerLines.readableBytes + 64)
        buffer.writeStatusLine(minorVersion: exchange.clientVersion.minor, statusText: head.statusText)
        buffer.writeImmutableBuffer(head.forwardedLines)
        buffer.writeStaticString("\r\n")
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func upstreamResponseHead(_ head: UpstreamResponseHead) {
        guard case .proxying(let exchange, _) = state else { return }
        exchange.responseStarted = true
        recordResponse(of: exchange, status: head.status)
        context.write(wrapOutboundOut(clientHead(head, exchange: exchange)), promise: nil)
    }

    func upstreamUpgraded(_ head: UpstreamResponseHead) {
        guard case .proxying(let exchange, let upstream) = state else { return }
        guard exchange.isUpgrade else {
            respondLocally(.badGateway, "upstream \(upstream.backend) for \(exchange.route.service) switched protocols unasked",
                           metrics: exchange.metrics, keepAlive: false, requestEnded: exchange.requestEnded)
            return
        }
        recordResponse(of: exchange, status: 101)
        state = .upgraded
        // From here on the backend's bytes go to the client as they are.
        clientFraming = .raw
        var buffer = context.channel.allocator.buffer(capacity: head.headerLines.readableBytes + 64)
        buffer.writeStatusLine(minorVersion: exchange.clientVersion.minor, statusText: head.statusText)
        try? ResponseParser.forEachHeaderLine(in: head.headerLines) { name, _, line in
            let role = HeaderRole.of(name)
            if role != .contentLength && role != .transferEncoding { buffer.writeBytes(line) }
        }
        buffer.writeStaticString("\r\n")
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        let client = context.channel
        guard let upstreamChannel = upstream.context?.channel else {
            closeClient()
            return
        }
        context.eventLoop.execute { GlueHandler.splice(client: client, upstream: upstreamChannel) }
    }

    /// The backend's time to answer, and the answer's status class, in the route's metrics.
    private func recordResponse(of exchange: Exchange, status: Int) {
        guard let metrics = exchange.metrics else { return }
        metrics.recordUpstreamLatency(nanoseconds: Int64((NIODeadline.now() - exchange.sentAt).nanoseconds))
        metrics.countResponse(status: status)
    }

    func upstreamResponseBody(_ body: ByteBuffer) {
        switch clientFraming {
        case .raw:
            context.write(wrapOutboundOut(body), promise: nil)
        case .chunked:
            // An empty chunk would end the body.
            guard body.readableBytes > 0 else { return }
            context.write(wrapOutboundOut(chunkSizeLine(body.readableBytes)), promise: nil)
            context.write(wrapOutboundOut(body), promise: nil)
            context.write(wrapOutboundOut(Self.crlf), promise: nil)
        case .none:
            break
        }
    }

    /// What ends the response body for the client: the last chunk and trailers when chunked.
    private func clientBodyEnd(_ trailers: ByteBuffer?) -> ByteBuffer? {
        guard clientFraming == .chunked else { return nil }
        var buffer = context.channel.allocator.buffer(capacity: 16 + (trailers?.readableBytes ?? 0))
        buffer.writeStaticString("0\r\n")
        if let trailers { buffer.writeImmutableBuffer(trailers) }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    func upstreamResponseEnd(_ trailers: ByteBuffer?) {
        guard case .proxying(let exchange, let upstream) = state else { return }
        guard exchange.requestEnded else {
            // The backend answered before reading the whole request: the rest can be neither
            // forwarded on this connection nor cheaply drained, so both connections end here.
            upstream.abandon()
            finishExchange(keepAlive: false, end: clientBodyEnd(trailers))
            return
        }
        upstream.finish()
        // State first: writing the end can deliver a pipelined next request head right away.
        // The flush is here: the upstream's read-complete no longer reaches this finished exchange.
        finishExchange(keepAlive: exchange.responseKeepAlive, end: clientBodyEnd(trailers))
    }

    func upstreamReadComplete() {
        context.flush()
    }

    func upstreamWritabilityChanged(writable: Bool) {
        if writable { resumeReadsIfAllowed() }
    }

    func upstreamFailed(_ error: Error?) {
        guard case .proxying(let exchange, let upstream) = state else { return }
        if exchange.responseStarted {
            // Mid-response: the client can only see the truncation.
            loop.shared.logger.warning("upstream closed mid-response", metadata: ["backend": "\(upstream.backend)", "route": "\(exchange.route.label)"])
            state = .closed
            closeClient()
            return
        }
        let backend = Backend(instanceID: "", address: upstream.backend)
        // A pooled connection the backend closed while idle looks like this; a request without a
        // body can be sent again safely.
        if upstream.wasUsed && !(error is UpstreamTimeout) && exchange.mayRetry && !exchange.sawBody && exchange.requestEnded {
            exchange.buffered = exchange.chunkedBody ? [lastChunk(nil)] : []
            exchange.attempts -= 1
            exchange.nextPosition = exchange.position
            state = .connecting(exchange)
            attachUpstream(exchange)
            return
        }
        if error is UpstreamTimeout {
            respondLocally(.gatewayTimeout, "upstream \(backend) for \(exchange.route.service) sent no response in time",
                           metrics: exchange.metrics, keepAlive: false, requestEnded: exchange.requestEnded)
            return
        }
        respondLocally(.badGateway, "upstream \(backend) for \(exchange.route.service) failed: \(error.map { "\($0)" } ?? "connection closed")",
                       metrics: exchange.metrics, keepAlive: false, requestEnded: exchange.requestEnded)
    }

    // MARK: Ending exchanges

    /// Answers the current request from the gateway itself with a short text body saying why.
    private func respondLocally(_ status: HTTPResponseStatus, _ message: String, metrics: GatewayMetrics.RouteMetrics?,
                                keepAlive: Bool, requestEnded: Bool) {
        let keepAlive = keepAlive && !quiescing
        if case .proxying(_, let upstream) = state { upstream.abandon() }
        metrics?.countResponse(status: Int(status.code))
        let body = "ployz-gateway: \(message)\n"
        var buffer = context.channel.allocator.buffer(capacity: 128 + body.utf8.count)
        buffer.writeStatusLine(version: .http1_1, status: status)
        buffer.writeHeaderLine("content-type", "text/plain; charset=utf-8")
        buffer.writeHeaderLine("content-length", String(body.utf8.count))
        if !keepAlive { buffer.writeHeaderLine("connection", "close") }
        buffer.writeStaticString("\r\n")
        buffer.writeString(body)
        if requestEnded {
            finishExchange(keepAlive: keepAlive, end: buffer)
        } else {
            state = .discarding(keepAlive: keepAlive)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            resumeReadsIfAllowed()
        }
    }

    /// The client sent the rest of a request that was already answered locally.
    private func finishLocalResponse(keepAlive: Bool) {
        if keepAlive && !quiescing {
            state = .idle
            timeouts?.exchangeFinished()
            drainQueue()
        } else {
            closeClient()
        }
    }

    /// Writes the response's last part and either waits for the next request or closes once it is sent.
    private func finishExchange(keepAlive: Bool, end: ByteBuffer?) {
        if keepAlive && !quiescing {
            state = .idle
            timeouts?.exchangeFinished()
            if let end { context.write(wrapOutboundOut(end), promise: nil) }
            context.flush()
            drainQueue()
        } else {
            state = .closed
            // Closed once everything before is written (an empty write completes in order).
            context.writeAndFlush(wrapOutboundOut(end ?? context.channel.allocator.buffer(capacity: 0)))
                .whenComplete { [context] _ in context?.close(promise: nil) }
        }
    }

    private func closeClient() {
        if case .proxying(_, let upstream) = state { upstream.abandon() }
        state = .closed
        context.close(promise: nil)
    }
}
