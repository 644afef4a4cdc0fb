import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif
import PloyzModel

/// The cluster DNS server: UDP and TCP on every listen address, answering from a zone that
/// `update(snapshot:)` replaces atomically while queries keep flowing.
public final class DNSServer: Sendable {
    /// How the server listens and behaves; built by the executable from flags and config.toml.
    public struct Configuration: Sendable {
        /// Addresses to serve on, UDP and TCP each. Port 0 picks one free port used by both.
        public var listen: [ListenAddress]
        /// Upstreams for names outside the zone; empty means REFUSED for them.
        public var upstreams: [ListenAddress]
        public var ttl: UInt32
        public var nameServer: Zone.NameServer
        /// Per-upstream wait before trying the next one.
        public var forwardTimeout: TimeAmount
        /// A TCP connection with no complete message for this long is closed (RFC 7766 section 6.2.3).
        public var tcpIdleTimeout: TimeAmount
        /// Open TCP connections allowed at once; newer ones are closed on arrival.
        public var maxTCPConnections: Int
        /// Event-loop threads; each gets its own UDP socket per address (SO_REUSEPORT).
        public var threads: Int
        /// `GET /metrics` listener; nil: no metrics endpoint.
        public var metricsListen: ListenAddress?

        public init(listen: [ListenAddress], upstreams: [ListenAddress] = [], ttl: UInt32 = 5,
                    nameServer: Zone.NameServer = Zone.NameServer(), forwardTimeout: TimeAmount = .seconds(2),
                    tcpIdleTimeout: TimeAmount = .seconds(10), maxTCPConnections: Int = 1024, threads: Int = 2,
                    metricsListen: ListenAddress? = nil) {
            self.listen = listen
            self.upstreams = upstreams
            self.ttl = ttl
            self.nameServer = nameServer
            self.forwardTimeout = forwardTimeout
            self.tcpIdleTimeout = tcpIdleTimeout
            self.maxTCPConnections = maxTCPConnections
            self.threads = threads
            self.metricsListen = metricsListen
        }
    }

    /// Where the server ended up listening (ports resolved when 0 was asked).
    public struct BoundAddresses: Sendable {
        public var udp: [SocketAddress] = []
        public var tcp: [SocketAddress] = []
        public var metrics: SocketAddress?
    }

    /// A listen address the server could not use.
    public struct BindError: Error, CustomStringConvertible {
        public let address: String
        public let reason: String
        public var description: String { "cannot listen on \(address): \(reason)" }
    }

    public let configuration: Configuration
    /// Nil when metrics are off.
    public let metrics: DNSMetrics?
    private let engine: DNSEngine
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let tcpConnections: TCPConnectionLimit
    private let state = NIOLockedValueBox<(channels: [Channel], bound: BoundAddresses)>(([], BoundAddresses()))

    public init(configuration: Configuration, snapshot: ClusterSnapshot = ClusterSnapshot(), logger: Logger = Logger(label: "ployz-dns")) {
        self.configuration = configuration
        self.logger = logger
        metrics = configuration.metricsListen == nil ? nil : DNSMetrics()
        tcpConnections = TCPConnectionLimit(maximum: configuration.maxTCPConnections)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        var upstreams: [SocketAddress] = []
        for upstream in configuration.upstreams {
            guard let address = try? SocketAddress(ipAddress: upstream.host, port: upstream.port) else {
                logger.error("upstream is not an IP address and port; ignored", metadata: ["upstream": "\(upstream)"])
                continue
            }
            upstreams.append(address)
        }
        engine = DNSEngine(zone: Zone.build(from: snapshot, ttl: configuration.ttl, nameServer: configuration.nameServer),
                           metrics: metrics,
                           forwarder: upstreams.isEmpty ? nil : DNSForwarder(upstreams: upstreams, timeout: configuration.forwardTimeout))
    }

    /// The addresses actually bound, valid after `start()`.
    public var boundAddresses: BoundAddresses { state.withLockedValue { $0.bound } }

    /// The zone being served now.
    public var zone: Zone { engine.zone }

    /// Serves `snapshot` from the next query on.
    public func update(snapshot: ClusterSnapshot) {
        update(zone: Zone.build(from: snapshot, ttl: configuration.ttl, nameServer: configuration.nameServer))
    }

    /// Serves `zone` from the next query on.
    public func update(zone: Zone) {
        engine.update(zone: zone)
    }

    /// Binds every listen address (UDP and TCP) and the metrics endpoint.
    public func start() async throws {
        var bound = BoundAddresses()
        var channels: [Channel] = []
        do {
            for listen in configuration.listen {
                let (udp, tcp) = try await bind(listen)
                channels += udp + [tcp]
                if let address = udp.first?.localAddress { bound.udp.append(address) }
                if let address = tcp.localAddress { bound.tcp.append(address) }
            }
            if let metricsListen = configuration.metricsListen, let metrics {
                let address = try socketAddress(metricsListen)
                let channel = try await metrics.serve(on: address, group: group)
                channels.append(channel)
                bound.metrics = channel.localAddress
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        let result = bound
        state.withLockedValue { $0 = (channels, result) }
        logger.info("dns listening", metadata: [
            "udp": "\(bound.udp.map(\.description))", "tcp": "\(bound.tcp.map(\.description))",
            "metrics": "\(bound.metrics?.description ?? "off")", "upstreams": "\(configuration.upstreams.map(\.description))",
        ])
    }

    /// Closes every socket and stops the event loops.
    public func stop() async {
        let channels = state.withLockedValue { state in
            defer { state.channels = [] }
            return state.channels
        }
        for channel in channels { try? await channel.close() }
        try? await group.shutdownGracefully()
    }

    /// Each of the 32 datagrams read per system call gets this much room; a longer query arrives
    /// cut and is answered FORMERR (real queries are a few hundred bytes).
    static let maxUDPQuerySize = 4096

    /// IP_FREEBIND (Linux; applies to IPv6 sockets too): bind the overlay or bridge address even
    /// before the interface carries it, so the daemon need not order DNS after address setup.
    static let freeBind = ChannelOptions.socket(SocketOptionLevel(IPPROTO_IP), 15)

    /// One UDP socket per event loop (kernel-balanced with SO_REUSEPORT) and one TCP listener.
    /// With port 0 the first UDP socket picks the port; a clash on TCP retries with a new one.
    private func bind(_ listen: ListenAddress) async throws -> ([Channel], Channel) {
        var lastError: Error?
        for _ in 0..<(listen.port == 0 ? 8 : 1) {
            var channels: [Channel] = []
            do {
                var address = try socketAddress(listen)
                for loop in group.makeIterator() {
                    let channel = try await udpBootstrap(loop).bind(to: address).get()
                    channels.append(channel)
                    if let actual = channel.localAddress, let port = actual.port { address = try socketAddress(ListenAddress(host: listen.host, port: port)) }
                }
                let tcp = try await tcpBootstrap().bind(to: address).get()
                return (channels, tcp)
            } catch {
                for channel in channels { try? await channel.close() }
                lastError = error
            }
        }
        throw BindError(address: listen.description, reason: "\(lastError.map { "\($0)" } ?? "unknown error")")
    }

    private func udpBootstrap(_ loop: EventLoop) -> DatagramBootstrap {
        let engine = engine
        return DatagramBootstrap(group: loop)
            .channelOption(Self.freeBind, value: 1)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.socket(SocketOptionLevel(SOL_SOCKET), SO_REUSEPORT), value: 1)
            .channelOption(ChannelOptions.datagramVectorReadMessageCount, value: 32)
            .channelOption(ChannelOptions.maxMessagesPerRead, value: 32)
            .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 32 * Self.maxUDPQuerySize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UDPQueryHandler(engine: engine)) }
            }
    }

    private func tcpBootstrap() -> ServerBootstrap {
        let engine = engine
        let idleTimeout = configuration.tcpIdleTimeout
        let connections = tcpConnections
        return ServerBootstrap(group: group)
            .serverChannelOption(Self.freeBind, value: 1)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSLengthFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(TCPQueryHandler(engine: engine, idleTimeout: idleTimeout, connections: connections))
                }
            }
    }

    private func socketAddress(_ listen: ListenAddress) throws -> SocketAddress {
        do {
            return try SocketAddress(ipAddress: listen.host, port: listen.port)
        } catch {
            throw BindError(address: listen.description, reason: "not an IP address and port")
        }
    }
}
