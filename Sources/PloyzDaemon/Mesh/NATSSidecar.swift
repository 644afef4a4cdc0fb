import Foundation
import Logging
import PloyzModel

/// The network's `nats-server`: configuration rendered to `<runtime_dir>/<network>/nats-server.conf`,
/// started detached (or adopted when the same spec already runs), and waited for.
struct NATSSidecar: Sendable {
    static let name = "nats-server"
    static let readyTimeout: Duration = .seconds(10)

    let config: PloyzConfig
    let paths: DaemonPaths
    let supervisor: Supervisor
    let logger: Logger

    func serverConfig(_ record: NetworkRecord, overlay: IPv6Address) -> NATSServerConfig {
        NATSServerConfig(record: record, overlayAddress: overlay, config: config, paths: paths)
    }

    /// Writes the configuration, makes sure the server runs with it, and waits until it answers.
    /// A clustered server's routes file is kept when it exists (the maintenance loop keeps it
    /// current, and a joining node starts with a route to its issuer only); a missing one (a new
    /// runtime dir after a reboot, the first node's move into the cluster) is written from
    /// `peers`, the other members' overlay addresses.
    func bringUp(_ record: NetworkRecord, overlay: IPv6Address, peers: [IPv6Address] = [], rollback: Rollback) async throws {
        let serverConfig = serverConfig(record, overlay: overlay)
        let configPath = paths.natsConfigFile(record.name)
        try FileManager.default.createDirectory(atPath: paths.natsStoreDir(record.name), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(atPath: paths.runtimeNetworkDir(record.name), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if serverConfig.clustered && !FileManager.default.fileExists(atPath: paths.natsRoutesFile(record.name)) {
            guard try writeRoutes(serverConfig, peers: peers, network: record.name) else {
                throw SpawnError(description: "the store is clustered but no other member is known to route to; rejoin with a new token")
            }
        }
        try AtomicFile.write(serverConfig.render(), to: configPath, mode: 0o600)
        guard let executable = DetachedSpawn.resolve("nats-server") else {
            throw SpawnError(description: "nats-server is not installed (apt-get install nats-server)")
        }
        let spec = SidecarSpec(name: Self.name, executable: executable, arguments: ["-c", configPath], configFiles: [configPath])
        let (_, outcome) = try await supervisor.ensure(spec, network: record.name)
        if outcome != .adopted {
            rollback.record("stop nats-server") { [supervisor] in await supervisor.stop(Self.name, network: record.name) }
        }
        try await waitUntilAnswering(serverConfig, network: record.name)
    }

    /// Rewrites the routes file when the route set changed; returns whether it did. An empty
    /// set never replaces a file (a clustered server must keep at least one route to start).
    @discardableResult
    func writeRoutes(_ serverConfig: NATSServerConfig, peers: [IPv6Address], network: String) throws -> Bool {
        let others = peers.filter { $0 != serverConfig.overlayAddress }
        guard !others.isEmpty else { return false }
        let text = serverConfig.renderRoutes(to: others)
        let path = paths.natsRoutesFile(network)
        if let current = FileManager.default.contents(atPath: path), String(decoding: current, as: UTF8.self) == text { return false }
        try AtomicFile.write(text, to: path, mode: 0o600)
        return true
    }

    func tearDown(network: String) async {
        await supervisor.stop(Self.name, network: network)
    }

    /// Polls the client port for INFO until `readyTimeout`; fails at once with the log's last
    /// lines when the server exited (a bad config, a port in use).
    private func waitUntilAnswering(_ serverConfig: NATSServerConfig, network: String) async throws {
        let deadline = ContinuousClock.now + Self.readyTimeout
        var lastError = ""
        while ContinuousClock.now < deadline {
            do {
                _ = try NATSProbe.info(host: serverConfig.overlayAddress.description, port: serverConfig.clientPort, timeout: .seconds(1))
                return
            } catch {
                lastError = "\(error)"
            }
            if await supervisor.liveProcess(Self.name, network: network) == nil {
                throw SpawnError(description: "nats-server exited: \(supervisor.logTail(Self.name, network: network))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SpawnError(description: "nats-server did not answer on \(serverConfig.clientURL) within \(Self.readyTimeout): \(lastError)")
    }
}
