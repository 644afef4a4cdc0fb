import ArgumentParser
import Foundation
import Logging
import PloyzGateway
import PloyzModel
import PloyzStore

/// `ployz-gateway`: the HTTP/HTTPS gateway sidecar. It proxies by the routes of a snapshot file the
/// daemon keeps current, and keeps serving the last good routes when the daemon is gone.
@main
struct PloyzGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ployz-gateway",
        abstract: "HTTP/HTTPS reverse proxy routing by the services and instances of a cluster snapshot file.",
        discussion: """
            Static TLS certificate: set PLOYZ_GATEWAY_TLS_CERT_PATH and PLOYZ_GATEWAY_TLS_KEY_PATH together, \
            only with an HTTPS listener; it is served to clients whose SNI matches no store certificate.
            """)

    @Option(help: "ClusterSnapshot JSON file to route by; polled every 250 ms and reloaded when it changes.")
    var snapshot: String

    @Option(help: "IP:PORT for plain HTTP (config gateway_listen_addr, default 0.0.0.0:80).")
    var listen: String?

    @Option(name: .customLong("https-listen"), help: "IP:PORT for HTTPS (config gateway_https_listen_addr; unset: no TLS).")
    var httpsListen: String?

    @Option(help: "Event-loop threads (config gateway_threads, default 2).")
    var threads: Int?

    @Option(name: .customLong("metrics-listen"), help: "IP:PORT for GET /metrics (config gateway_metrics_listen_addr; unset: none).")
    var metricsListen: String?

    @OptionGroup var store: SnapshotFeedOptions

    @Option(help: "config.toml to read gateway_* settings from; flags override it.")
    var config: String?

    func run() async throws {
        let settings: PloyzConfig
        let gatewayConfiguration: GatewayConfiguration
        do {
            settings = try loadSettings()
            gatewayConfiguration = try GatewayConfiguration(config: settings, environment: ProcessInfo.processInfo.environment)
        } catch {
            Self.fail("\(error)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
            return handler
        }
        let logger = Logger(label: "ployz-gateway")
        let server: GatewayServer
        do {
            server = try GatewayServer(configuration: gatewayConfiguration, logger: logger)
        } catch {
            Self.fail("\(error)")
        }
        let watcher = SnapshotFileWatcher(path: snapshot, logger: logger)
        if let initial = watcher.loadNow() { server.update(snapshot: initial) }
        do {
            try await server.start()
        } catch {
            Self.fail("cannot listen: \(error)")
        }
        let feed = store.feed(snapshotPath: snapshot, logger: logger)
        let following = Task { await watcher.run(feedingFrom: feed) { server.update(snapshot: $0) } }
        let signal = await firstTerminationSignal()
        // Requests in flight finish; the supervisor allows 5 s before SIGKILL.
        logger.info("draining", metadata: ["signal": "\(signal)", "grace": "4s"])
        following.cancel()
        await server.drain(gracePeriod: .seconds(4))
        logger.info("stopped")
    }

    /// Prints one line and exits with status 2 (a configuration the gateway cannot start with).
    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("ployz-gateway: \(message)\n".utf8))
        Foundation.exit(2)
    }

    /// gateway_* settings from config.toml and PLOYZ_* variables, with flags taking precedence.
    private func loadSettings() throws -> PloyzConfig {
        var flags: [String: String] = [:]
        if let listen { flags["gateway_listen_addr"] = listen }
        if let httpsListen { flags["gateway_https_listen_addr"] = httpsListen }
        if let threads { flags["gateway_threads"] = String(threads) }
        if let metricsListen { flags["gateway_metrics_listen_addr"] = metricsListen }
        var text: String?
        if let config {
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                throw GatewayConfigurationError("--config \(config): cannot read it (\(error.localizedDescription))")
            }
        }
        let loaded = try PloyzConfig.load(fileText: text, filePath: config ?? PloyzConfig.defaultPath,
                                          environment: ProcessInfo.processInfo.environment, flags: flags)
        for warning in loaded.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        return loaded.config
    }
}
