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
    func bringUp(_ record: NetworkRecord, overlay: IPv6Address, rollback: Rollback) async throws {
        let serverConfig = serverConfig(record, overlay: overlay)
        let configPath = paths.natsConfigFile(record.name)
        try FileManager.default.createDirectory(atPath: paths.natsStoreDir(record.name), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(atPath: paths.runtimeNetworkDir(record.name), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
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
