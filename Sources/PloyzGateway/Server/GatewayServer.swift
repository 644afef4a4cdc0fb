#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOExtras
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import PloyzModel
import Synchronization

/// The gateway engine: HTTP (and HTTPS) listeners proxying to the routes of the last snapshot it was given.
///
/// `update(snapshot:)` swaps routes and certificates atomically; requests already in flight keep
/// the backend they were sent to.
public final class GatewayServer: Sendable {
    /// What the server was created with.
    public let configuration: GatewayConfiguration
    /// The Prometheus registry behind `/metrics` (kept even without a metrics listener).
    public let metrics: GatewayMetrics
    let shared: SharedState
    private let group: MultiThreadedEventLoopGroup
    private let loops: [ObjectIdentifier: LoopContext]
    private let listeners = NIOLockedValueBox(Listeners())
    /// One per proxy listener: what `drain` uses to stop accepting and to ask open connections to end.
    private let quiescers = NIOLockedValueBox<[ServerQuiescingHelper]>([])
    private let logger: Logger

    /// The listening sockets: one per event loop for each proxy listener (see `bind`).
    private struct Listeners {
        var http: [Channel] = []
        var https: [Channel] = []
        var metrics: Channel?
        var all: [Channel] { http + https + (metrics.map { [$0] } ?? []) }
    }

    /// Everything handlers of every loop read: the current routes and certificates.
    final class SharedState: Sendable {
        let configuration: GatewayConfiguration
        let metrics: GatewayMetrics?
        let logger: Logger
        let generation = Atomic<Int>(0)
        let routeTable = NIOLockedValueBox(RouteTable())
        let certificates: NIOLockedValueBox<CertificateSet>
        let fallbackCertificate: ServingCertificate?

        init(configuration: GatewayConfiguration, metrics: GatewayMetrics?, logger: Logger, fallback: ServingCertificate?) {
            self.configuration = configuration
            self.metrics = metrics
            self.logger = logger
            self.fallbackCertificate = fallback
            self.certificates = NIOLockedValueBox(CertificateSet(fallback: fallback))
        }
    }

    /// Creates the server; nothing is bound until `start()`.
    /// - Throws: `GatewayConfigurationError` when the static certificate cannot be read.
    public init(configuration: GatewayConfiguration, logger: Logger) throws {
        guard configuration.threads >= 1 else { throw GatewayConfigurationError("gateway_threads \(configuration.threads): must be at least 1") }
        var fallback: ServingCertificate?
        if let paths = configuration.staticCertificate {
            do { fallback = try ServingCertificate(paths: paths) } catch {
                throw GatewayConfigurationError("static certificate \(paths.certificatePath) / key \(paths.keyPath): \(error)")
            }
        }
        self.configuration = configuration
        self.logger = logger
        self.metrics = GatewayMetrics()
        self.shared = SharedState(configuration: configuration, metrics: metrics, logger: logger, fallback: fallback)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        var loops: [ObjectIdentifier: LoopContext] = [:]
        for loop in group.makeIterator() {
            loops[ObjectIdentifier(loop)] = LoopContext(eventLoop: loop, shared: shared)
        }
        self.loops = loops
    }

    /// Replaces routes and certificates with the snapshot's, for every request that starts from now on.
    public func update(snapshot: ClusterSnapshot) {
        let table = RouteTable(snapshot: snapshot, metrics: shared.metrics)
        for skipped in table.skipped {
            logger.warning("route skipped", metadata: ["service": "\(skipped.service)", "reason": "\(skipped.reason)"])
        }
        let certificates = CertificateSet(records: snapshot.certificates.values, fallback: shared.fallbackCertificate)
        for rejected in certificates.rejected {
            logger.warning("certificate skipped", metadata: ["hostname": "\(rejected.hostname)", "reason": "\(rejected.reason)"])
        }
        shared.routeTable.withLockedValue { $0 = table }
        shared.certificates.withLockedValue { $0 = certificates }
        shared.generation.wrappingAdd(1, ordering: .releasing)
        logger.info("routes updated", metadata: ["routes": "\(table.routes.count)", "certificates": "\(certificates.count)"])
    }

    /// Binds the listeners. Listening on port 0 picks a free port; see `httpAddress`/`httpsAddress`.
    public func start() async throws {
        var bound = Listeners()
        do {
            bound.http = try await bind(configuration.httpListen, tls: nil)
            if let httpsListen = configuration.httpsListen {
                bound.https = try await bind(httpsListen, tls: try makeTLSContext())
            }
            if let metricsListen = configuration.metricsListen {
                bound.metrics = try await bindMetrics(metricsListen)
            }
        } catch {
            for channel in bound.all { try? await channel.close() }
            throw error
        }
        listeners.withLockedValue { $0 = bound }
        logger.info("gateway listening", metadata: [
            "http": "\(bound.http.first?.localAddress.map { "\($0)" } ?? "?")",
            "https": "\(configuration.httpsListen.map { "\($0)" } ?? "off")",
            "metrics": "\(configuration.metricsListen.map { "\($0)" } ?? "off")",
            "threads": "\(configuration.threads)",
        ])
    }

    /// The bound HTTP address (after `start()`).
    public var httpAddress: SocketAddress? { listeners.withLockedValue { $0.http.first?.localAddress } }
    /// The bound HTTPS address, when HTTPS is configured.
    public var httpsAddress: SocketAddress? { listeners.withLockedValue { $0.https.first?.localAddress } }
    /// The bound metrics address, when metrics are configured.
    public var metricsAddress: SocketAddress? { listeners.withLockedValue { $0.metrics?.localAddress } }

    /// Ends service gracefully: stops accepting connections, lets requests in flight finish (each
    /// HTTP/1.1 connection closes after its current response, or at once when idle; HTTP/2
    /// connections get GOAWAY and close when their streams end), then shuts down. Whatever is still
    /// open after `gracePeriod` is cut.
    public func drain(gracePeriod: Duration) async {
        let drained = quiesceListeners()
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try? await drained.get() }
            tasks.addTask { try? await Task.sleep(for: gracePeriod) }
            await tasks.next()
            tasks.cancelAll()
            // Closes what is left, which also completes `drained`.
            try? await self.shutdown()
        }
    }

    /// Stops accepting and asks every open connection to end; the future completes once they have.
    /// The helpers are let go here, while the loops run: a helper's deinit fails a promise of one
    /// of them, which after `shutdown` printed "Cannot schedule tasks on an EventLoop that has
    /// already shut down".
    private func quiesceListeners() -> EventLoopFuture<Void> {
        let helpers = quiescers.withLockedValue { quiescers in
            defer { quiescers = [] }
            return quiescers
        }
        let loop = group.next()
        return EventLoopFuture.andAllComplete(helpers.map { helper in
            let promise = loop.makePromise(of: Void.self)
            helper.initiateShutdown(promise: promise)
            return promise.futureResult
        }, on: loop)
    }

    /// Closes the listeners and stops the event loops; connections in flight are cut.
    public func shutdown() async throws {
        let bound = listeners.withLockedValue { listeners in
            defer { listeners = Listeners() }
            return listeners.all
        }
        // Before the loops stop (see `quiesceListeners`).
        quiescers.withLockedValue { $0 = [] }
        for channel in bound { try? await channel.close() }
        try await group.shutdownGracefully()
    }

    /// One listening socket per event loop, all on one port (`SO_REUSEPORT`): the kernel spreads
    /// connections over them, and a connection, its upstream connections and all their work stay on
    /// the loop that accepted it, with no hand-over from an accepting thread to another.
    private func bind(_ address: ListenAddress, tls: NIOSSLContext?) async throws -> [Channel] {
        var port = address.port
        var bound: [Channel] = []
        do {
            for eventLoop in group.makeIterator() {
                let channel = try await bind(address.host, port, on: eventLoop, tls: tls)
                // Port 0: the other sockets join the port the first one got.
                port = channel.localAddress?.port ?? port
                bound.append(channel)
            }
        } catch {
            for channel in bound { try? await channel.close() }
            throw error
        }
        return bound
    }

    private func bind(_ host: String, _ port: Int, on eventLoop: EventLoop, tls: NIOSSLContext?) async throws -> Channel {
        let loop = loops[ObjectIdentifier(eventLoop)]!
        let configuration = self.configuration
        let scheme = tls == nil ? "http" : "https"
        let quiescer = ServerQuiescingHelper(group: eventLoop)
        quiescers.withLockedValue { $0.append(quiescer) }
        return try await ServerBootstrap(group: eventLoop)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescer.makeServerChannelHandler(channel: channel))
                }
            }
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                guard let tls else {
                    return channel.eventLoop.makeCompletedFuture {
                        try Self.addHTTP1Handlers(to: channel.pipeline.syncOperations, loop: loop, configuration: configuration, scheme: scheme)
                    }
                }
                do {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                // ALPN picks the protocol during the handshake: "h2" gets HTTP/2, anything else HTTP/1.1.
                return channel.configureHTTP2SecureUpgrade(
                    h2ChannelConfigurator: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try Self.addHTTP2Handlers(to: channel, loop: loop, configuration: configuration)
                        }
                    },
                    http1ChannelConfigurator: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try Self.addHTTP1Handlers(to: channel.pipeline.syncOperations, loop: loop, configuration: configuration, scheme: scheme)
                        }
                    })
            }
            .bind(host: host, port: port)
            .get()
    }

    /// An HTTP/1.1 client connection: timeouts, the request decoder, the proxy.
    private static func addHTTP1Handlers(to pipeline: ChannelPipeline.SynchronousOperations, loop: LoopContext,
                                         configuration: GatewayConfiguration, scheme: String) throws {
        let timeouts = ClientTimeoutHandler(headerRead: configuration.timeouts.headerRead, idle: configuration.timeouts.clientIdle)
        try pipeline.addHandler(timeouts)
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxRequestHeaderBytes
        limits.maxHeaderFieldSize = configuration.maxRequestHeaderBytes
        // Only the request decoder: ProxyHandler frames responses itself (response headers come from
        // parsed upstream heads or from us) and queues pipelined requests itself (NIO's pipelining
        // assistance pauses reading during every response: two epoll_ctl calls per request).
        // Bytes after an upgrade request stay for the spliced WebSocket connection.
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes,
                                                                        informationalResponseStrategy: .drop,
                                                                        limitConfiguration: limits)))
        try pipeline.addHandler(ProxyHandler(loop: loop, timeouts: timeouts, scheme: scheme))
    }

    /// An HTTP/2 client connection (negotiated by ALPN): NIO's connection manager closes it after the
    /// idle timeout without streams and, on `drain`, sends GOAWAY and closes once its streams end.
    /// Each stream is one request, proxied like an HTTP/1.1 one.
    private static func addHTTP2Handlers(to channel: Channel, loop: LoopContext, configuration: GatewayConfiguration) throws {
        let pipeline = channel.pipeline.syncOperations
        let manager = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: configuration.timeouts.clientIdle, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 256),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maxRequestHeaderBytes),
        ]
        _ = try pipeline.configureHTTP2Pipeline(mode: .server, connectionConfiguration: connection,
                                                streamConfiguration: NIOHTTP2Handler.StreamConfiguration(),
                                                streamDelegate: manager.http2StreamDelegate) { stream in
            stream.eventLoop.makeCompletedFuture {
                let streamPipeline = stream.pipeline.syncOperations
                try streamPipeline.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try streamPipeline.addHandler(HTTP2StreamAdapter())
                try streamPipeline.addHandler(ProxyHandler(loop: loop, timeouts: nil, scheme: "https"))
            }
        }
        try pipeline.addHandler(manager)
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        tls.applicationProtocols = ["h2", "http/1.1"]
        let shared = self.shared
        tls.sslContextCallback = { values, promise in
            let certificate = shared.certificates.withLockedValue { $0.certificate(forServerName: values.serverHostname) }
            if let certificate {
                promise.succeed(certificate.override)
            } else {
                shared.logger.info("TLS handshake refused", metadata: ["sni": "\(values.serverHostname ?? "(none)")"])
                promise.fail(CertificateError.unknownServerName(values.serverHostname))
            }
        }
        if let fallback = shared.fallbackCertificate {
            tls.certificateChain = fallback.chain.map { .certificate($0) }
            tls.privateKey = .privateKey(fallback.key)
        }
        return try NIOSSLContext(configuration: tls)
    }

    private func bindMetrics(_ address: ListenAddress) async throws -> Channel {
        let metrics = self.metrics
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(metrics: metrics))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}

/// Per event loop state: its upstream pool and a cached copy of the route table.
final class LoopContext: @unchecked Sendable {
    let shared: GatewayServer.SharedState
    let pool: UpstreamPool
    private var cachedGeneration = -1
    private var cachedTable = RouteTable()
    /// The last `Host` header seen on this loop and its normalised name: clients send the same one
    /// again and again, and normalising allocates.
    private var lastHostHeader = ""
    private var lastHostName = ""

    init(eventLoop: EventLoop, shared: GatewayServer.SharedState) {
        self.shared = shared
        self.pool = UpstreamPool(eventLoop: eventLoop, timeouts: shared.configuration.timeouts,
                                 maxIdlePerBackend: shared.configuration.maxIdleUpstreamConnectionsPerBackend)
    }

    /// Matches against the current route table; takes the lock only after an update.
    func match(host: String, path: String) -> Route? {
        let generation = shared.generation.load(ordering: .acquiring)
        if generation != cachedGeneration {
            cachedTable = shared.routeTable.withLockedValue { $0 }
            cachedGeneration = generation
        }
        if host != lastHostHeader {
            lastHostHeader = host
            lastHostName = RouteTable.hostName(fromHostHeader: host)
        }
        return cachedTable.match(hostName: lastHostName, path: path)
    }
}

/// Serves `GET /metrics` in the Prometheus text format.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: GatewayMetrics
    private var path = ""

    init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.uri
        case .body:
            break
        case .end:
            let found = path == "/metrics" || path.hasPrefix("/metrics?")
            let body = context.channel.allocator.buffer(string: found ? metrics.render() : "ployz-gateway: only /metrics is served here\n")
            let headers = HTTPHeaders([
                ("content-type", found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8"),
                ("content-length", "\(body.readableBytes)"),
            ])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
