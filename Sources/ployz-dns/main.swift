import ArgumentParser
import Foundation
import Logging
import PloyzDNS
import PloyzModel
import PloyzStore

/// `ployz-dns`: the cluster DNS sidecar. It serves `ployz.internal.` from a snapshot file the
/// daemon keeps current, and keeps serving the last good snapshot when the daemon is gone.
@main
struct PloyzDNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ployz-dns",
        abstract: "Authoritative DNS for ployz.internal, answered from a cluster snapshot file.")

    @Option(help: "ClusterSnapshot JSON file to serve; polled every 250 ms and reloaded when it changes.")
    var snapshot: String

    @Option(name: .customLong("listen"), help: "IP:PORT or [IPv6]:PORT for UDP and TCP (repeatable).")
    var listen: [String] = []

    @Option(help: "Record TTL in seconds (config dns_ttl, default 5).")
    var ttl: Int?

    @Option(name: .customLong("upstream"), help: "IP:PORT to forward names outside ployz.internal to (repeatable; config dns_upstreams).")
    var upstreams: [String] = []

    @Option(name: .customLong("metrics-listen"), help: "IP:PORT for GET /metrics (config dns_metrics_listen_addr, env PLOYZ_DNS_METRICS_LISTEN_ADDR).")
    var metricsListen: String?

    @OptionGroup var store: SnapshotFeedOptions

    @Option(help: "config.toml to read dns_* settings from; flags override it.")
    var config: String?

    @Option(help: "Event-loop threads.")
    var threads: Int = 2

    @Option(name: .customLong("tcp-idle-timeout"), help: "Seconds a TCP connection may go without a complete query.")
    var tcpIdleTimeout: Int = 10

    @Option(name: .customLong("max-tcp-connections"), help: "TCP connections served at once.")
    var maxTCPConnections: Int = 1024

    @Option(name: .customLong("ns-name"), help: "This server's name in the apex NS and SOA records.")
    var nameServerName = "ns.ployz.internal"

    @Option(name: .customLong("ns-address"), help: "Address published for --ns-name (repeatable; default: the specific --listen addresses).")
    var nameServerAddresses: [String] = []

    func validate() throws {
        guard !listen.isEmpty else { throw ValidationError("give at least one --listen IP:PORT") }
        for address in listen where ListenAddress.parse(address) == nil {
            throw ValidationError("--listen \(address): expected IP:PORT or [IPv6]:PORT")
        }
        for address in upstreams where ListenAddress.parse(address) == nil {
            throw ValidationError("--upstream \(address): expected IP:PORT or [IPv6]:PORT")
        }
        if let metricsListen, ListenAddress.parse(metricsListen) == nil {
            throw ValidationError("--metrics-listen \(metricsListen): expected IP:PORT or [IPv6]:PORT")
        }
        if let ttl, !(0...86400).contains(ttl) { throw ValidationError("--ttl \(ttl): must be 0-86400 seconds") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard tcpIdleTimeout >= 1 else { throw ValidationError("--tcp-idle-timeout must be at least 1 second") }
        guard maxTCPConnections >= 1 else { throw ValidationError("--max-tcp-connections must be at least 1") }
        guard (try? DNSName(nameServerName)) != nil else { throw ValidationError("--ns-name \(nameServerName): not a domain name") }
    }

    func run() async throws {
        let settings = try loadSettings()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
            return handler
        }
        let logger = Logger(label: "ployz-dns")
        let listenAddresses = listen.compactMap(ListenAddress.parse)
        let watcher = SnapshotFileWatcher(path: snapshot, logger: logger)
        let initial = watcher.loadNow() ?? ClusterSnapshot()
        let server = DNSServer(
            configuration: DNSServer.Configuration(
                listen: listenAddresses, upstreams: settings.dnsUpstreams, ttl: UInt32(settings.dnsTTL),
                nameServer: try nameServer(listen: listenAddresses), tcpIdleTimeout: .seconds(Int64(tcpIdleTimeout)),
                maxTCPConnections: maxTCPConnections, threads: threads,
                metricsListen: settings.dnsMetricsListenAddr),
            snapshot: initial, logger: logger)
        try await server.start()
        let feed = store.feed(snapshotPath: snapshot, logger: logger)
        await watcher.run(feedingFrom: feed) { server.update(snapshot: $0) }
    }

    /// dns_* settings from config.toml and PLOYZ_* variables, with flags taking precedence.
    private func loadSettings() throws -> PloyzConfig {
        var flags: [String: String] = [:]
        if let ttl { flags["dns_ttl"] = String(ttl) }
        if !upstreams.isEmpty { flags["dns_upstreams"] = upstreams.joined(separator: ",") }
        if let metricsListen { flags["dns_metrics_listen_addr"] = metricsListen }
        let text: String?
        if let config {
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                throw ValidationError("--config \(config): cannot read it (\(error.localizedDescription))")
            }
        } else {
            text = nil
        }
        do {
            let loaded = try PloyzConfig.load(fileText: text, filePath: config ?? PloyzConfig.defaultPath,
                                              environment: ProcessInfo.processInfo.environment, flags: flags)
            for warning in loaded.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            return loaded.config
        } catch {
            throw ValidationError(error.description)
        }
    }

    private func nameServer(listen: [ListenAddress]) throws -> Zone.NameServer {
        let hosts = nameServerAddresses.isEmpty ? listen.map(\.host) : nameServerAddresses
        var server = Zone.NameServer(name: try DNSName(nameServerName))
        for host in hosts {
            if let v4 = IPv4Address(host), v4.value != 0 { server.ipv4.append(v4) }
            else if let v6 = IPv6Address(host), v6.bytes.contains(where: { $0 != 0 }) { server.ipv6.append(v6) }
            else if !nameServerAddresses.isEmpty { throw ValidationError("--ns-address \(host): not an IP address") }
        }
        return server
    }
}
