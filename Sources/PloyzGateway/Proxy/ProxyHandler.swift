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

    /// One request and its response.
    private struct Exchange {
        let route: Route
        let metrics: GatewayMetrics.RouteMetrics?
        /// The head sent upstream (forwarding headers added, hop-by-hop removed).
        let upstreamHead: HTTPRequestHead
        let clientVersion: HTTPVersion
        let clientKeepAlive: Bool
        let isUpgrade: Bool
        let mayRetry: Bool
        let firstBackendIndex: Int
        var attempts = 0
        /// Parts received while no upstream connection is attached; replayed on connect.
        var buffered: [HTTPClientRequestPart] = []
        var sawBody = false
        var requestEnded = false
        var responseStarted = false
        var responseKeepAlive = true
        var sentAt = NIODeadline.uptimeNanoseconds(0)
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
    private let timeouts: ClientTimeoutHandler
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
    private static let crlf = ByteBuffer(string: "\r\n")

    init(loop: LoopContext, timeouts: ClientTimeoutHandler, scheme: String) {
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
            receivedRequestPart(.body(.byteBuffer(body)), isEnd: false)
        case .end(let trailers):
            receivedRequestPart(.end(trailers), isEnd: true)
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
        timeouts.requestHeadReceived()
        guard case .idle = state else {
            closeClient()
            return
        }
        let host = head.headers.first(name: "host") ?? ""
        let keepAlive = head.isKeepAlive
        guard let route = loop.match(host: host, path: head.uri) else {
            respondLocally(.notFound, "no route for host \(RouteTable.hostName(fromHostHeader: host)) path \(RouteTable.pathWithoutQuery(head.uri))",
                           metrics: loop.shared.metrics?.unrouted, keepAlive: keepAlive, requestEnded: false)
            return
        }
        let metrics = route.metrics
        guard !route.backends.isEmpty else {
            respondLocally(.serviceUnavailable, "no ready backend for \(route.service) (route \(route.hostPattern)\(route.pathPrefix))",
                           metrics: metrics, keepAlive: keepAlive, requestEnded: false)
            return
        }
        let (upstreamHead, isUpgrade) = upstreamHead(for: head, host: host)
        let exchange = Exchange(
            route: route, metrics: metrics, upstreamHead: upstreamHead,
            clientVersion: head.version, clientKeepAlive: keepAlive, isUpgrade: isUpgrade,
            mayRetry: Self.isIdempotent(head.method), firstBackendIndex: route.nextStartIndex())
        attachUpstream(exchange)
    }

    private func receivedRequestPart(_ part: HTTPClientRequestPart, isEnd: Bool) {
        switch state {
        case .connecting(var exchange):
            if isEnd { exchange.requestEnded = true } else { exchange.sawBody = true }
            exchange.buffered.append(part)
            state = .connecting(exchange)
        case .proxying(var exchange, let upstream):
            if isEnd { exchange.requestEnded = true } else { exchange.sawBody = true }
            upstream.write(part)
            state = .proxying(exchange, upstream)
        case .discarding(let keepAlive):
            if isEnd { finishLocalResponse(keepAlive: keepAlive) }
        case .idle, .upgraded, .closed:
            break
        }
    }

    /// Methods whose requests may be sent again to another backend when the first connect fails.
    private static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: true
        default: false
        }
    }

    /// What a header means to the proxy (names compared case-insensitively).
    private enum HeaderRole {
        /// Forwarded as is.
        case endToEnd
        case connection, upgrade, transferEncoding, contentLength, forwardedFor
        /// `X-Forwarded-Proto`/`-Host`: the gateway sets its own on requests.
        case forwardedProtoOrHost
        /// Describes one connection (RFC 9110 §7.6.1) or is replaced by the gateway's own value.
        case dropped

        /// True when a request with this header cannot be forwarded with only headers appended.
        var isSpecialInRequests: Bool {
            switch self {
            case .endToEnd, .contentLength: false
            default: true
            }
        }
    }

    private static func role(of name: String) -> HeaderRole {
        // Most names differ in length from every special one: no lower-casing needed for them.
        switch name.utf8.count {
        case 2, 7, 10, 14, 15, 16, 17: break
        default: return .endToEnd
        }
        switch name.lowercased() {
        case "connection": return .connection
        case "upgrade": return .upgrade
        case "transfer-encoding": return .transferEncoding
        case "content-length": return .contentLength
        case "x-forwarded-for": return .forwardedFor
        case "x-forwarded-proto", "x-forwarded-host": return .forwardedProtoOrHost
        case "keep-alive", "proxy-connection", "te", "trailer": return .dropped
        default: return .endToEnd
        }
    }

    /// Names a `Connection` header lists besides the standard tokens: also hop-by-hop.
    private static func extraConnectionHeaders(_ headers: HTTPHeaders) -> Set<String> {
        var extra: Set<String> = []
        for token in headers[canonicalForm: "connection"] {
            let name = token.lowercased()
            if name != "close" && name != "keep-alive" && name != "upgrade" { extra.insert(name) }
        }
        return extra
    }

    /// The head sent upstream: hop-by-hop headers removed, `X-Forwarded-*` added, framing made
    /// explicit, in one pass over the client's headers. Also says whether the request asks for an upgrade.
    private func upstreamHead(for head: HTTPRequestHead, host: String) -> (HTTPRequestHead, isUpgrade: Bool) {
        // Fast path, the common request: nothing to remove, only the forwarding headers to add.
        if !head.headers.contains(where: { Self.role(of: $0.name).isSpecialInRequests }) {
            var headers = head.headers
            if head.method == .POST || head.method == .PUT || head.method == .PATCH, !headers.contains(name: "content-length") {
                headers.add(name: "content-length", value: "0")
            }
            headers.add(name: "x-forwarded-for", value: clientAddress)
            headers.add(name: "x-forwarded-proto", value: scheme)
            headers.add(name: "x-forwarded-host", value: host)
            return (HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers), false)
        }
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 3)
        var extra: Set<String> = []
        var connectionUpgrade = false
        var upgradeProtocol: String?
        var chunked = false
        var hasLength = false
        var forwardedFor: String?
        for (name, value) in head.headers {
            switch Self.role(of: name) {
            case .endToEnd:
                if !extra.isEmpty && extra.contains(name.lowercased()) { continue }
                headers.add(name: name, value: value)
            case .connection:
                if extra.isEmpty { extra = Self.extraConnectionHeaders(head.headers) }
                if value.lowercased().contains("upgrade") { connectionUpgrade = true }
            case .upgrade:
                upgradeProtocol = value
            case .transferEncoding:
                chunked = true
            case .contentLength:
                hasLength = true
                headers.add(name: name, value: value)
            case .forwardedFor:
                forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value
            case .forwardedProtoOrHost, .dropped:
                continue
            }
        }
        if !extra.isEmpty {
            headers = HTTPHeaders(headers.filter { !extra.contains($0.name.lowercased()) })
        }
        let isUpgrade = connectionUpgrade && upgradeProtocol != nil
        if isUpgrade, let upgradeProtocol {
            headers.add(name: "connection", value: "upgrade")
            headers.add(name: "upgrade", value: upgradeProtocol)
        }
        if chunked {
            if hasLength { headers.remove(name: "content-length") }
            headers.add(name: "transfer-encoding", value: "chunked")
        } else if !hasLength && (head.method == .POST || head.method == .PUT || head.method == .PATCH) {
            headers.add(name: "content-length", value: "0")
        }
        headers.add(name: "x-forwarded-for", value: forwardedFor.map { "\($0), \(clientAddress)" } ?? clientAddress)
        headers.add(name: "x-forwarded-proto", value: scheme)
        headers.add(name: "x-forwarded-host", value: host)
        return (HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers), isUpgrade)
    }

    /// The response head for the client, straight from the backend's: hop-by-hop headers removed,
    /// `Connection` and `Transfer-Encoding` set for the framing chosen here. Sets `clientFraming`.
    private func clientHead(_ head: HTTPResponseHead, exchange: inout Exchange) -> ByteBuffer {
        let noBodyStatus = head.status.code < 200 || head.status == .noContent || head.status == .notModified
        let bodyless = noBodyStatus || exchange.upstreamHead.method == .HEAD
        // Names a `Connection` header lists besides the standard tokens are hop-by-hop too (rare).
        var extra: Set<String> = []
        for (name, value) in head.headers where Self.role(of: name) == .connection {
            let token = value.lowercased()
            if token != "keep-alive" && token != "close" {
                extra = Self.extraConnectionHeaders(head.headers)
                break
            }
        }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeStatusLine(version: exchange.clientVersion, status: head.status)
        var hasLength = false
        for (name, value) in head.headers {
            switch Self.role(of: name) {
            case .endToEnd, .forwardedFor, .forwardedProtoOrHost:
                if !extra.isEmpty && extra.contains(name.lowercased()) { continue }
                buffer.writeHeaderLine(name, value)
            case .contentLength:
                hasLength = true
                if !noBodyStatus { buffer.writeHeaderLine(name, value) }
            case .connection, .upgrade, .transferEncoding, .dropped:
                continue
            }
        }
        // HTTP/1.0 clients learn a body's end from the close when the backend streamed it without a length.
        exchange.responseKeepAlive = exchange.clientKeepAlive && (hasLength || bodyless || exchange.clientVersion.minor >= 1)
        if bodyless {
            clientFraming = .none
        } else if hasLength || exchange.clientVersion.minor == 0 {
            clientFraming = .raw
        } else {
            clientFraming = .chunked
            buffer.writeHeaderLine("transfer-encoding", "chunked")
        }
        if !exchange.responseKeepAlive {
            buffer.writeHeaderLine("connection", "close")
        } else if exchange.clientVersion.minor == 0 {
            buffer.writeHeaderLine("connection", "keep-alive")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    // MARK: Upstream connections

    /// Sends the exchange on a pooled connection to its next backend, or opens one.
    private func attachUpstream(_ exchange: Exchange) {
        var exchange = exchange
        let backends = exchange.route.backends
        let backend = backends[(exchange.firstBackendIndex + exchange.attempts) % backends.count]
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
        var exchange = exchange
        upstream.begin(delegate: self)
        upstream.write(.head(exchange.upstreamHead))
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

    func upstreamInformationalHead(_ head: HTTPResponseHead) {
        // HTTP/1.0 clients know no 1xx responses.
        guard case .proxying(let exchange, _) = state, exchange.clientVersion.minor >= 1 else { return }
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeResponseHead(version: exchange.clientVersion, status: head.status, headers: head.headers)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func upstreamResponseHead(_ head: HTTPResponseHead) {
        guard case .proxying(var exchange, let upstream) = state else { return }
        exchange.responseStarted = true
        exchange.metrics?.recordUpstreamLatency(nanoseconds: Int64((NIODeadline.now() - exchange.sentAt).nanoseconds))
        if head.status == .switchingProtocols && exchange.isUpgrade {
            exchange.metrics?.countResponse(status: 101)
            state = .upgraded
            var buffer = context.channel.allocator.buffer(capacity: 256)
            buffer.writeResponseHead(version: exchange.clientVersion, status: head.status, headers: head.headers) { name in
                let role = Self.role(of: name)
                return role != .contentLength && role != .transferEncoding
            }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            let client = context.channel
            guard let upstreamChannel = upstream.context?.channel else {
                closeClient()
                return
            }
            context.eventLoop.execute { GlueHandler.splice(client: client, upstream: upstreamChannel) }
            return
        }
        let buffer = clientHead(head, exchange: &exchange)
        state = .proxying(exchange, upstream)
        exchange.metrics?.countResponse(status: Int(head.status.code))
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func upstreamResponseBody(_ body: ByteBuffer) {
        switch clientFraming {
        case .raw:
            context.write(wrapOutboundOut(body), promise: nil)
        case .chunked:
            // An empty chunk would end the body.
            guard body.readableBytes > 0 else { return }
            var size = context.channel.allocator.buffer(capacity: 12)
            size.writeChunkSize(body.readableBytes)
            context.write(wrapOutboundOut(size), promise: nil)
            context.write(wrapOutboundOut(body), promise: nil)
            context.write(wrapOutboundOut(Self.crlf), promise: nil)
        case .none:
            break
        }
    }

    /// What ends the response body for the client: the last chunk and trailers when chunked.
    private func clientBodyEnd(_ trailers: HTTPHeaders?) -> ByteBuffer? {
        guard clientFraming == .chunked else { return nil }
        var buffer = context.channel.allocator.buffer(capacity: 16)
        buffer.writeStaticString("0\r\n")
        for (name, value) in trailers ?? [:] { buffer.writeHeaderLine(name, value) }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    func upstreamResponseEnd(_ trailers: HTTPHeaders?) {
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
            var retry = exchange
            retry.buffered = [.end(nil)]
            retry.attempts -= 1
            state = .connecting(retry)
            attachUpstream(retry)
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
        if keepAlive {
            state = .idle
            timeouts.exchangeFinished()
            drainQueue()
        } else {
            closeClient()
        }
    }

    /// Writes the response's last part and either waits for the next request or closes once it is sent.
    private func finishExchange(keepAlive: Bool, end: ByteBuffer?) {
        if keepAlive {
            state = .idle
            timeouts.exchangeFinished()
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
