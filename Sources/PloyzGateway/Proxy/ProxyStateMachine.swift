import NIOCore
import NIOHTTP1

/// One request and its response, from the head to the end of the response. A class: the state
/// machine holds it while its fields change in place (a struct was copied out of the state and back
/// on every event).
final class ProxyExchange {
    let route: Route
    /// The head sent upstream, as bytes (see `UpstreamRequestHead`).
    let upstreamHead: ByteBuffer
    let isHeadRequest: Bool
    /// The request body goes upstream chunked (the client sent it chunked).
    let chunkedBody: Bool
    /// The `x` of the client's `HTTP/1.x` (HTTP/2 streams are answered as 1.1).
    let clientMinorVersion: Int
    let clientKeepAlive: Bool
    let isUpgrade: Bool
    /// Idempotent method: may be sent again to another backend when a connect fails.
    let mayRetry: Bool
    let firstBackendIndex: Int
    /// Connects tried (retries stop at three, or at the route's backend count).
    var attempts = 0
    /// Position (after `firstBackendIndex`) of the backend in use, and of the next one to try.
    var position = 0
    var nextPosition = 0
    /// Request body parts received while no upstream connection is attached; sent on attach.
    var buffered: [RequestBodyPart] = []
    var sawBody = false
    var requestEnded = false
    var responseStarted = false
    /// The client connection stays open after the response (decided with its head).
    var responseKeepAlive = true

    init(route: Route, upstreamHead: ByteBuffer, isHeadRequest: Bool, chunkedBody: Bool, clientMinorVersion: Int,
         clientKeepAlive: Bool, isUpgrade: Bool, mayRetry: Bool, firstBackendIndex: Int) {
        self.route = route
        self.upstreamHead = upstreamHead
        self.isHeadRequest = isHeadRequest
        self.chunkedBody = chunkedBody
        self.clientMinorVersion = clientMinorVersion
        self.clientKeepAlive = clientKeepAlive
        self.isUpgrade = isUpgrade
        self.mayRetry = mayRetry
        self.firstBackendIndex = firstBackendIndex
    }

    /// The backend to try next: the next one in turn, passing over those `isAvailable` says are
    /// paused while another one is available. Counts the attempt.
    func takeNextBackend(isAvailable: (SocketAddress) -> Bool) -> Backend {
        let backends = route.backends
        var chosen = nextPosition
        for step in 0..<backends.count where backends.count > 1 {
            if isAvailable(backends[(firstBackendIndex + nextPosition + step) % backends.count].address) {
                chosen = nextPosition + step
                break
            }
        }
        position = chosen
        nextPosition = chosen + 1
        attempts += 1
        return backends[(firstBackendIndex + chosen) % backends.count]
    }

    /// Another connect may be tried after this one failed.
    var mayConnectAgain: Bool { mayRetry && attempts < min(route.backends.count, 3) }
}

/// Request body bytes for the upstream, before framing.
enum RequestBodyPart {
    case body(ByteBuffer)
    /// The end of the body: for a chunked body, the last chunk and the trailers.
    case end(HTTPHeaders?)
}

/// What the proxy answers itself: a status and a short text saying why.
struct LocalResponse {
    let status: HTTPResponseStatus
    let message: String
    /// Where the answer is counted; nil for requests without a route.
    let metrics: GatewayMetrics.RouteMetrics?
    let keepAlive: Bool
}

/// How the client connection goes on once the last bytes of a response are written.
enum AfterResponse: Equatable {
    /// Wait for the next request: the queue of pipelined ones first.
    case nextRequest
    /// Read the rest of the request answered early, and drop it.
    case discardRequestBody
    case close
}

/// How a response from a backend goes to the client (see `ClientResponseHead`).
struct ClientResponseFraming: Equatable {
    let clientMinorVersion: Int
    let body: ClientBodyFraming
    let keepAlive: Bool
}

/// The decisions of one client connection of the proxy: which request runs while later pipelined
/// ones wait, when reading the client pauses, where request bytes go, how a response is framed for
/// the client, when a connect is tried again, when the gateway answers itself, and when the
/// connection closes.
///
/// A pure value, after the shape of AsyncHTTPClient's `HTTP1ConnectionStateMachine`: events in, one
/// `Action` out, carried out by `ProxyHandler`. No socket, clock or route table: what they say
/// comes in with the events. Once an exchange ends (`.nextRequest`, or `then: .nextRequest`), the
/// handler runs what waited: `nextQueued()` until it returns nil, then `queueSettled()` and
/// `readsMayResume(upstreamWritable:)`.
struct ProxyStateMachine {
    enum Action {
        case none
        /// Pass on a read of the client that was held back.
        case read
        /// Check and route this head, then report with `requestRouted` or `requestAnsweredLocally`.
        case route(HTTPRequestHead)
        /// Take the exchange's next backend (`takeNextBackend`) and attach a connection to it, pooled
        /// or new; then report `upstreamAttached` or `connectFailed`.
        case connect(ProxyExchange)
        /// Write the exchange's head and buffered body parts upstream; flush when asked (outside a
        /// client read, whose read-complete flushes).
        case startRequest(ProxyExchange, flush: Bool)
        /// Request body bytes for the attached upstream connection.
        case sendBody(RequestBodyPart, chunked: Bool)
        case flushUpstream
        /// The client can take more: let the upstream connection read again.
        case resumeUpstreamReads
        /// A connection came after the client left: back to the pool.
        case releaseUpstream
        /// A 1xx head (not 101) for the client.
        case writeInformational(UpstreamResponseHead, clientMinorVersion: Int)
        case writeResponseHead(UpstreamResponseHead, ClientResponseFraming)
        case writeResponseBody(ByteBuffer, ClientBodyFraming)
        case flushClient
        /// 101 from the backend to a WebSocket handshake: write the head, then splice the two connections.
        case upgrade(UpstreamResponseHead, clientMinorVersion: Int)
        /// The response is complete: the upstream connection goes back to its pool (`releaseUpstream`)
        /// or is closed; the end (last chunk and trailers when chunked) is written.
        case finishResponse(trailers: ByteBuffer?, ClientBodyFraming, releaseUpstream: Bool, then: AfterResponse)
        /// The request answered locally has ended: restart the idle deadline and run the queue.
        case nextRequest
        /// Answer from the gateway; any attached upstream connection is closed.
        case respond(LocalResponse, then: AfterResponse)
        /// Close the client connection, and any attached upstream connection.
        case closeClient
    }

    private enum State {
        case idle
        /// A head is being checked and routed (between `.route` and `requestRouted`).
        case routing
        case connecting(ProxyExchange)
        case proxying(ProxyExchange)
        /// A local answer was sent before the request ended: the rest of its body is read and dropped.
        case discarding(keepAlive: Bool)
        case upgraded
        case closed
    }

    private var state = State.idle
    /// Request parts that arrived while an earlier exchange was running (pipelining).
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    /// A parse error that arrived while an exchange was still running.
    private var queuedError: HTTPParserError?
    private var pendingRead = false
    /// Between a client read and its read-complete (which flushes the upstream).
    private var inClientRead = false
    /// The server is draining: no response keeps the connection open.
    private var quiescing = false
    private var clientFraming = ClientBodyFraming.raw
    /// The largest request head accepted, for the 431 answer's text.
    private let maxRequestHeaderBytes: Int

    init(maxRequestHeaderBytes: Int) {
        self.maxRequestHeaderBytes = maxRequestHeaderBytes
    }

    /// The exchange in progress, from its route to its response's end.
    var exchange: ProxyExchange? {
        switch state {
        case .connecting(let exchange), .proxying(let exchange): exchange
        default: nil
        }
    }

    private var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    // MARK: Client events

    mutating func clientRead(_ part: HTTPServerRequestPart) -> Action {
        inClientRead = true
        if !queued.isEmpty || queuedError != nil {
            queued.append(part)
            return .none
        }
        if case .head = part, !isIdle {
            // A pipelined request: it waits (and reading pauses) until this exchange ends.
            queued.append(part)
            return .none
        }
        return handle(part)
    }

    mutating func clientReadComplete() -> Action {
        inClientRead = false
        if case .proxying = state { return .flushUpstream }
        return .none
    }

    /// The client's channel asks to read; `upstreamWritable` is the attached connection's writability.
    mutating func readRequested(upstreamWritable: Bool) -> Action {
        if readsAllowed(upstreamWritable: upstreamWritable) { return .read }
        pendingRead = true
        return .none
    }

    mutating func clientBecameWritable() -> Action {
        if case .proxying = state { return .resumeUpstreamReads }
        return .none
    }

    /// The client connection closed; any attached upstream connection is to be abandoned.
    mutating func clientClosed() {
        state = .closed
    }

    /// The server is draining: an idle connection closes now, a busy one after its current response.
    mutating func quiesce() -> Action {
        quiescing = true
        if isIdle && queued.isEmpty && queuedError == nil {
            state = .closed
            return .closeClient
        }
        return .none
    }

    /// The request decoder failed: the bytes are answered 400 (431 for an oversized head) once the
    /// exchange in progress and the requests before the bad bytes are done.
    mutating func parseError(_ error: HTTPParserError) -> Action {
        if isIdle && queued.isEmpty { return respondToParseError(error) }
        queuedError = error
        return .none
    }

    /// Anything but an HTTP error (a reset, TLS): nothing sensible to answer.
    mutating func connectionError() -> Action {
        state = .closed
        return .closeClient
    }

    // MARK: Routing

    /// The head was routed: proxy it.
    mutating func requestRouted(_ exchange: ProxyExchange) -> Action {
        guard case .routing = state else { return .closeClient }
        state = .connecting(exchange)
        return .connect(exchange)
    }

    /// The head is answered by the gateway (refused, no route, no backend). A refused head leaves
    /// the connection in doubt (`keepAlive` false) and closes it at once; otherwise the rest of the
    /// request is read and dropped.
    mutating func requestAnsweredLocally(_ response: LocalResponse, refused: Bool) -> Action {
        guard case .routing = state else { return .closeClient }
        return respond(response, requestEnded: refused)
    }

    // MARK: Upstream events

    /// A connection to the backend is attached (pooled, or just connected).
    mutating func upstreamAttached() -> Action {
        guard case .connecting(let exchange) = state else { return .releaseUpstream }
        state = .proxying(exchange)
        return .startRequest(exchange, flush: !inClientRead)
    }

    /// A connect failed: the next backend when the request may be sent again, else 502. `upstream`
    /// names the backend (`upstream ADDRESS for SERVICE`), `error` the failure.
    mutating func connectFailed(upstream: String, error: String) -> Action {
        guard case .connecting(let exchange) = state else { return .none }
        if exchange.mayConnectAgain { return .connect(exchange) }
        return respond(LocalResponse(status: .badGateway, message: "\(upstream) failed: \(error)", metrics: exchange.route.metrics,
                                     keepAlive: exchange.clientKeepAlive),
                       requestEnded: exchange.requestEnded)
    }

    mutating func upstreamInformationalHead(_ head: UpstreamResponseHead) -> Action {
        // HTTP/1.0 clients know no 1xx responses.
        guard case .proxying(let exchange) = state, exchange.clientMinorVersion >= 1 else { return .none }
        return .writeInformational(head, clientMinorVersion: exchange.clientMinorVersion)
    }

    mutating func upstreamResponseHead(_ head: UpstreamResponseHead) -> Action {
        guard case .proxying(let exchange) = state else { return .none }
        exchange.responseStarted = true
        let bodyless = head.hasBodilessStatus || exchange.isHeadRequest
        let hasLength = head.contentLength != nil
        let minor = exchange.clientMinorVersion
        // HTTP/1.0 clients learn a body's end from the close when the backend streamed it without a length.
        let keepAlive = !quiescing && exchange.clientKeepAlive && (hasLength || bodyless || minor >= 1)
        exchange.responseKeepAlive = keepAlive
        clientFraming = bodyless ? .none : (hasLength || minor == 0) ? .raw : .chunked
        return .writeResponseHead(head, ClientResponseFraming(clientMinorVersion: minor, body: clientFraming, keepAlive: keepAlive))
    }

    /// 101 Switching Protocols; `upstream` names the backend for the 502 when nobody asked for it.
    mutating func upstreamUpgraded(_ head: UpstreamResponseHead, upstream: String) -> Action {
        guard case .proxying(let exchange) = state else { return .none }
        guard exchange.isUpgrade else {
            return respond(LocalResponse(status: .badGateway, message: "\(upstream) switched protocols unasked", metrics: exchange.route.metrics,
                                         keepAlive: false),
                           requestEnded: exchange.requestEnded)
        }
        state = .upgraded
        // From here on the backend's bytes go to the client as they are.
        clientFraming = .raw
        return .upgrade(head, clientMinorVersion: exchange.clientMinorVersion)
    }

    mutating func upstreamResponseBody(_ body: ByteBuffer) -> Action {
        // An empty chunk would end a chunked body.
        if clientFraming == .none || (clientFraming == .chunked && body.readableBytes == 0) { return .none }
        return .writeResponseBody(body, clientFraming)
    }

    mutating func upstreamResponseEnd(_ trailers: ByteBuffer?) -> Action {
        guard case .proxying(let exchange) = state else { return .none }
        let framing = clientFraming
        guard exchange.requestEnded else {
            // The backend answered before reading the whole request: the rest can be neither
            // forwarded on this connection nor cheaply drained, so both connections end here.
            state = .closed
            return .finishResponse(trailers: trailers, framing, releaseUpstream: false, then: .close)
        }
        let keepAlive = exchange.responseKeepAlive && !quiescing
        state = keepAlive ? .idle : .closed
        return .finishResponse(trailers: trailers, framing, releaseUpstream: true, then: keepAlive ? .nextRequest : .close)
    }

    mutating func upstreamReadComplete() -> Action {
        .flushClient
    }

    /// The upstream connection failed or closed before the response ended. `upstream` names it
    /// (`upstream ADDRESS for SERVICE`), `error` says what happened (nil: it closed); `timedOut` when
    /// the backend sent nothing within the read timeout; `wasUsed` when the connection had carried
    /// an exchange before (so it may be a stale keep-alive).
    mutating func upstreamFailed(upstream: String, error: String?, timedOut: Bool, wasUsed: Bool) -> Action {
        guard case .proxying(let exchange) = state else { return .none }
        if exchange.responseStarted {
            // Mid-response: the client can only see the truncation.
            state = .closed
            return .closeClient
        }
        // A pooled connection the backend closed while idle looks like this; a request without a
        // body can be sent again safely.
        if !timedOut && exchange.mayRetry && !exchange.sawBody && exchange.requestEnded {
            if wasUsed {
                exchange.buffered = exchange.chunkedBody ? [.end(nil)] : []
                exchange.attempts -= 1
                exchange.nextPosition = exchange.position
                state = .connecting(exchange)
                return .connect(exchange)
            }
            // A fresh connection that closed before any answer: the backend died (a container
            // killed, a process crashed). Like a refused connect, an idempotent request goes to
            // the next backend.
            if exchange.mayConnectAgain {
                exchange.buffered = exchange.chunkedBody ? [.end(nil)] : []
                state = .connecting(exchange)
                return .connect(exchange)
            }
        }
        let response = timedOut
            ? LocalResponse(status: .gatewayTimeout, message: "\(upstream) sent no response in time", metrics: exchange.route.metrics, keepAlive: false)
            : LocalResponse(status: .badGateway, message: "\(upstream) failed: \(error ?? "connection closed")", metrics: exchange.route.metrics,
                            keepAlive: false)
        return respond(response, requestEnded: exchange.requestEnded)
    }

    // MARK: The pipelining queue

    /// After an exchange ended: the next queued part's action, or nil when none can run now (the
    /// queue is empty, or its next head waits for the exchange just started).
    mutating func nextQueued() -> Action? {
        guard let part = queued.first else { return nil }
        if case .head = part, !isIdle { return nil }
        queued.removeFirst()
        return handle(part)
    }

    /// After `nextQueued` returned nil: a parse error that waited for its turn, or the flush a
    /// queued request needs outside a client read (whose read-complete would flush). Then `readsMayResume`.
    mutating func queueSettled() -> Action {
        if queued.isEmpty, isIdle, let error = queuedError {
            queuedError = nil
            return respondToParseError(error)
        }
        if !inClientRead, case .proxying = state { return .flushUpstream }
        return .none
    }

    /// The read held back, if reads may go on now.
    mutating func readsMayResume(upstreamWritable: Bool) -> Action {
        guard pendingRead && readsAllowed(upstreamWritable: upstreamWritable) else { return .none }
        pendingRead = false
        return .read
    }

    // MARK: Internals

    private mutating func handle(_ part: HTTPServerRequestPart) -> Action {
        switch part {
        case .head:
            guard isIdle else {
                state = .closed
                return .closeClient
            }
            guard case .head(let head) = part else { return .none }
            state = .routing
            return .route(head)
        case .body(let body):
            guard body.readableBytes > 0, let exchange else { return .none }
            exchange.sawBody = true
            return send(.body(body), of: exchange)
        case .end(let trailers):
            if case .discarding(let keepAlive) = state {
                if keepAlive && !quiescing {
                    state = .idle
                    return .nextRequest
                }
                state = .closed
                return .closeClient
            }
            guard let exchange else { return .none }
            exchange.requestEnded = true
            return exchange.chunkedBody ? send(.end(trailers), of: exchange) : .none
        }
    }

    /// Sends request bytes upstream, or keeps them until the upstream connection is attached.
    private func send(_ part: RequestBodyPart, of exchange: ProxyExchange) -> Action {
        if case .proxying = state { return .sendBody(part, chunked: exchange.chunkedBody) }
        exchange.buffered.append(part)
        return .none
    }

    /// Reads pause while routing or connecting, while the upstream cannot take more, and while requests wait in the queue.
    private func readsAllowed(upstreamWritable: Bool) -> Bool {
        guard queued.isEmpty && queuedError == nil else { return false }
        switch state {
        case .routing, .connecting: return false
        case .proxying: return upstreamWritable
        default: return true
        }
    }

    private mutating func respondToParseError(_ error: HTTPParserError) -> Action {
        let response = error == .headerOverflow
            ? LocalResponse(status: .requestHeaderFieldsTooLarge, message: "request headers larger than \(maxRequestHeaderBytes) bytes", metrics: nil, keepAlive: false)
            : LocalResponse(status: .badRequest, message: "malformed request (\(error))", metrics: nil, keepAlive: false)
        return respond(response, requestEnded: true)
    }

    private mutating func respond(_ response: LocalResponse, requestEnded: Bool) -> Action {
        let keepAlive = response.keepAlive && !quiescing
        let answer = LocalResponse(status: response.status, message: response.message, metrics: response.metrics, keepAlive: keepAlive)
        if !requestEnded {
            state = .discarding(keepAlive: keepAlive)
            return .respond(answer, then: .discardRequestBody)
        }
        state = keepAlive ? .idle : .closed
        return .respond(answer, then: keepAlive ? .nextRequest : .close)
    }
}
