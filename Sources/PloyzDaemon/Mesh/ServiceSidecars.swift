import Foundation
import Logging
import PloyzGateway
import PloyzModel
import WireGuard

/// The cluster services of a node: the workload bridge and the DNS (and gateway) sidecars,
/// started in the `sidecars` phase, after the store, because they serve from it. Each sidecar
/// follows the store itself (`--nats-url`) and keeps its snapshot file as the last-good cache, so
/// it needs the daemon neither to start serving nor to keep serving.
struct ServiceSidecars: Sendable {
    static let dnsName = "ployz-dns"
    static let gatewayName = "ployz-gateway"
    static let bridge = "ployz0"

    let config: PloyzConfig
    let paths: DaemonPaths
    let supervisor: Supervisor
    let logger: Logger

    /// The environment the daemon was started with; the gateway's static certificate comes from it.
    var environment: [String: String] { ProcessInfo.processInfo.environment }

    func bringUp(_ record: NetworkRecord, overlay: IPv6Address, rollback: Rollback) async throws {
        let gateway = try gatewaySpec(record, overlay: overlay)
        try bringUpBridge(record.subnet, rollback: rollback)
        try await ensure(dnsSpec(record, overlay: overlay), network: record.name, rollback: rollback)
        try await ensure(gateway, network: record.name, rollback: rollback)
    }

    func tearDown(network: String) async {
        await supervisor.stop(Self.gatewayName, network: network)
        await supervisor.stop(Self.dnsName, network: network)
        try? Link.delete(Self.bridge)
    }

    // MARK: Workload bridge

    /// `ployz0` holds the node's `.1` (the subnet's gateway for workloads) and the DNS `.2`.
    private func bringUpBridge(_ subnet: IPv4CIDR, rollback: Rollback) throws {
        if !Link.exists(Self.bridge) {
            try Link.createBridge(Self.bridge)
            rollback.record("delete \(Self.bridge)") { try? Link.delete(Self.bridge) }
        }
        try Link.addAddress("\(subnet.nodeAddress)/\(subnet.prefixLength)", to: Self.bridge)
        try Link.addAddress("\(subnet.dnsAddress)/32", to: Self.bridge)
        try Link.setUp(Self.bridge)
    }

    // MARK: Sidecar specs

    /// The cluster credential's password, for sidecars to read: never on a command line.
    private func writeNATSPassword(_ record: NetworkRecord) throws -> String {
        let path = paths.runtimeNetworkDir(record.name) + "/nats-password"
        try AtomicFile.write(record.natsPassword + "\n", to: path, mode: 0o600)
        return path
    }

    private func natsArguments(_ record: NetworkRecord, overlay: IPv6Address) throws -> [String] {
        let passwordFile = try writeNATSPassword(record)
        // The node's own nats-server: in a cluster it serves the whole store.
        return ["--nats-url", StoreURL.url(host: overlay.description, port: config.natsPort),
                "--nats-user", record.natsUser, "--nats-password-file", passwordFile]
    }

    /// The gateway on `gateway_listen_addr` (and `gateway_https_listen_addr`), with the static
    /// certificate variables checked here so a bad pair fails `mesh start` with the reason.
    func gatewaySpec(_ record: NetworkRecord, overlay: IPv6Address) throws -> SidecarSpec {
        var arguments = [
            "--snapshot", paths.runtimeNetworkDir(record.name) + "/gateway-snapshot.json",
            "--listen", config.gatewayListenAddr.description,
            "--threads", String(config.gatewayThreads),
        ]
        if let https = config.gatewayHTTPSListenAddr { arguments += ["--https-listen", https.description] }
        if let metrics = config.gatewayMetricsListenAddr { arguments += ["--metrics-listen", metrics.description] }
        arguments += try natsArguments(record, overlay: overlay)
        var environment: [String: String] = [:]
        do {
            if let paths = try StaticCertificatePaths(environment: self.environment, httpsListen: config.gatewayHTTPSListenAddr) {
                environment[StaticCertificatePaths.certificateVariable] = paths.certificatePath
                environment[StaticCertificatePaths.keyVariable] = paths.keyPath
            }
        } catch {
            throw SpawnError(description: "ployz-gateway: \(error)")
        }
        return SidecarSpec(name: Self.gatewayName, executable: try sibling(Self.gatewayName), arguments: arguments, environment: environment)
    }

    func dnsSpec(_ record: NetworkRecord, overlay: IPv6Address) throws -> SidecarSpec {
        var arguments = [
            "--snapshot", paths.runtimeNetworkDir(record.name) + "/dns-snapshot.json",
            "--listen", "[\(overlay)]:53",
            "--listen", "\(record.subnet.dnsAddress):53",
            "--ttl", String(config.dnsTTL),
        ]
        arguments += config.dnsUpstreams.flatMap { ["--upstream", $0.description] }
        if let metrics = config.dnsMetricsListenAddr { arguments += ["--metrics-listen", metrics.description] }
        arguments += try natsArguments(record, overlay: overlay)
        return SidecarSpec(name: Self.dnsName, executable: try sibling(Self.dnsName), arguments: arguments)
    }

    /// Sidecar programs are installed next to `ployzd` (`swift build` puts every product in one folder).
    private func sibling(_ program: String) throws -> String {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidate = own.appendingPathComponent(program).path
        if access(candidate, X_OK) == 0 { return candidate }
        if let found = DetachedSpawn.resolve(program) { return found }
        throw SpawnError(description: "\(program) is not installed next to ployzd (\(own.path)) nor on PATH")
    }

    /// Starts (or adopts) a sidecar and checks that it is still alive a moment later, so that a
    /// sidecar refusing its arguments fails the phase with its own words.
    private func ensure(_ spec: SidecarSpec, network: String, rollback: Rollback) async throws {
        let (_, outcome) = try await supervisor.ensure(spec, network: network)
        if outcome != .adopted {
            rollback.record("stop \(spec.name)") { [supervisor] in await supervisor.stop(spec.name, network: network) }
            try await Task.sleep(for: .milliseconds(150))
            guard await supervisor.liveProcess(spec.name, network: network) != nil else {
                throw SpawnError(description: "\(spec.name) exited at start: \(supervisor.logTail(spec.name, network: network))")
            }
        }
    }
}

extension MeshController {
    var serviceSidecars: ServiceSidecars { ServiceSidecars(config: config, paths: paths, supervisor: supervisor, logger: logger) }

    /// The service sidecars' status lines for `mesh status`.
    func serviceSidecarStatus(network: String, overlay: IPv6Address) async -> [SidecarStatus] {
        let dns = await supervisor.liveProcess(ServiceSidecars.dnsName, network: network)?.pid
        let gateway = await supervisor.liveProcess(ServiceSidecars.gatewayName, network: network)?.pid
        let https = config.gatewayHTTPSListenAddr.map { " https://\($0)" } ?? ""
        return [
            SidecarStatus(name: ServiceSidecars.dnsName, pid: dns, running: dns != nil, endpoint: "dns://[\(overlay)]:53"),
            SidecarStatus(name: ServiceSidecars.gatewayName, pid: gateway, running: gateway != nil,
                          endpoint: "http://\(config.gatewayListenAddr)" + https),
        ]
    }
}
