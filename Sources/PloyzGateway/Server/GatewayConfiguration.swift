import NIOCore
import PloyzModel

/// Everything `GatewayServer` needs to start: listeners, threads, static certificate, limits.
public struct GatewayConfiguration: Sendable {
    /// Plain HTTP listener (`gateway_listen_addr`).
    public var httpListen: ListenAddress
    /// HTTPS listener (`gateway_https_listen_addr`); nil serves no TLS.
    public var httpsListen: ListenAddress?
    /// Prometheus `/metrics` listener (`gateway_metrics_listen_addr`); nil serves no metrics.
    public var metricsListen: ListenAddress?
    /// Event-loop threads (`gateway_threads`).
    public var threads: Int
    /// The certificate served to TLS clients whose SNI matches no store certificate.
    public var staticCertificate: StaticCertificatePaths?
    public var timeouts: GatewayTimeouts
    /// Largest request head (request line and headers) accepted; larger gets 431.
    public var maxRequestHeaderBytes: Int
    /// Idle upstream connections kept per event loop and backend.
    public var maxIdleUpstreamConnectionsPerBackend: Int

    /// Defaults match config.toml's: HTTP on 0.0.0.0:80, no TLS, no metrics, 2 threads.
    public init(httpListen: ListenAddress = ListenAddress(host: "0.0.0.0", port: 80), httpsListen: ListenAddress? = nil,
                metricsListen: ListenAddress? = nil, threads: Int = 2, staticCertificate: StaticCertificatePaths? = nil,
                timeouts: GatewayTimeouts = GatewayTimeouts(), maxRequestHeaderBytes: Int = 64 * 1024,
                maxIdleUpstreamConnectionsPerBackend: Int = 128) {
        self.httpListen = httpListen
        self.httpsListen = httpsListen
        self.metricsListen = metricsListen
        self.threads = threads
        self.staticCertificate = staticCertificate
        self.timeouts = timeouts
        self.maxRequestHeaderBytes = maxRequestHeaderBytes
        self.maxIdleUpstreamConnectionsPerBackend = maxIdleUpstreamConnectionsPerBackend
    }

    /// The gateway's settings from a loaded config.toml and the process environment
    /// (`PLOYZ_GATEWAY_TLS_CERT_PATH`, `PLOYZ_GATEWAY_TLS_KEY_PATH`).
    public init(config: PloyzConfig, environment: [String: String]) throws(GatewayConfigurationError) {
        self.init(httpListen: config.gatewayListenAddr, httpsListen: config.gatewayHTTPSListenAddr,
                  metricsListen: config.gatewayMetricsListenAddr, threads: config.gatewayThreads)
        self.staticCertificate = try StaticCertificatePaths(environment: environment, httpsListen: config.gatewayHTTPSListenAddr)
    }
}

/// Paths of the static TLS certificate chain and key (PEM).
public struct StaticCertificatePaths: Sendable, Equatable {
    public static let certificateVariable = "PLOYZ_GATEWAY_TLS_CERT_PATH"
    public static let keyVariable = "PLOYZ_GATEWAY_TLS_KEY_PATH"

    public var certificatePath: String
    public var keyPath: String

    /// Both paths, as given.
    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// Reads the two variables: both or neither, and only together with an HTTPS listener.
    /// - Returns: nil when neither is set.
    public init?(environment: [String: String], httpsListen: ListenAddress?) throws(GatewayConfigurationError) {
        let certificate = environment[Self.certificateVariable].flatMap { $0.isEmpty ? nil : $0 }
        let key = environment[Self.keyVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch (certificate, key) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw GatewayConfigurationError("\(Self.certificateVariable) is set but \(Self.keyVariable) is not: set both or neither")
        case (nil, .some):
            throw GatewayConfigurationError("\(Self.keyVariable) is set but \(Self.certificateVariable) is not: set both or neither")
        case (.some(let certificate), .some(let key)):
            guard httpsListen != nil else {
                throw GatewayConfigurationError("\(Self.certificateVariable) and \(Self.keyVariable) need gateway_https_listen_addr (or --https-listen) to be set")
            }
            self.init(certificatePath: certificate, keyPath: key)
        }
    }
}

/// How long the gateway waits before giving up on a peer.
public struct GatewayTimeouts: Sendable, Equatable {
    /// Opening a connection to a backend.
    public var connect: TimeAmount
    /// From the first byte of a request to the end of its head (bounds slow-loris clients).
    public var headerRead: TimeAmount
    /// A client connection with no request in progress (keep-alive), including before the first request.
    public var clientIdle: TimeAmount
    /// A backend that sends nothing while a request waits for its response.
    public var upstreamRead: TimeAmount
    /// An idle pooled upstream connection older than this is closed instead of reused.
    public var upstreamIdle: TimeAmount
    /// A backend whose connect failed is passed over this long while its route has another one
    /// (like nginx's `fail_timeout`); with no other, it is tried anyway.
    public var failedBackendPause: TimeAmount

    /// Defaults close to nginx's: 5 s connect, 10 s header, 75 s keep-alive idle, 60 s upstream read,
    /// a failed backend passed over for 10 s.
    public init(connect: TimeAmount = .seconds(5), headerRead: TimeAmount = .seconds(10), clientIdle: TimeAmount = .seconds(75),
                upstreamRead: TimeAmount = .seconds(60), upstreamIdle: TimeAmount = .seconds(50),
                failedBackendPause: TimeAmount = .seconds(10)) {
        self.connect = connect
        self.headerRead = headerRead
        self.clientIdle = clientIdle
        self.upstreamRead = upstreamRead
        self.upstreamIdle = upstreamIdle
        self.failedBackendPause = failedBackendPause
    }
}

/// A gateway setting that cannot be used; the description is one line saying what to fix.
public struct GatewayConfigurationError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
