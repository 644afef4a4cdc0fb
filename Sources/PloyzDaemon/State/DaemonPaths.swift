import PloyzModel

/// Where the daemon keeps things on disk, derived from the configuration in one place.
///
/// `<data_dir>/networks/<name>/` holds a network's durable state (record, private key, JetStream
/// store); `<runtime_dir>/<name>/` holds what lives only while the machine is up (sidecar pid
/// files, sidecar logs, rendered configuration).
public struct DaemonPaths: Sendable, Equatable {
    public let dataDir: String
    public let runtimeDir: String
    public let socketPath: String

    public init(dataDir: String, runtimeDir: String, socketPath: String) {
        self.dataDir = dataDir
        self.runtimeDir = runtimeDir
        self.socketPath = socketPath
    }

    public init(config: PloyzConfig) {
        self.init(dataDir: config.dataDir, runtimeDir: config.runtimeDir, socketPath: config.socketPath)
    }

    public var networksDir: String { dataDir + "/networks" }
    /// The name of the network that should be running; absent when none should.
    public var activeFile: String { dataDir + "/active" }
    public var lockFile: String { runtimeDir + "/ployzd.lock" }

    /// `<data_dir>/networks/<name>`: record, key and JetStream store of one network.
    public func networkDir(_ name: String) -> String { networksDir + "/" + name }
    public func networkRecordFile(_ name: String) -> String { networkDir(name) + "/network.json" }
    public func privateKeyFile(_ name: String) -> String { networkDir(name) + "/wireguard.key" }
    public func natsStoreDir(_ name: String) -> String { networkDir(name) + "/nats" }
    /// The machines the convergence loop saw last (to reach peers again before the store answers).
    public func peerCacheFile(_ name: String) -> String { networkDir(name) + "/machines.json" }

    /// `<runtime_dir>/<name>`: sidecar records, logs and rendered configs of one network.
    public func runtimeNetworkDir(_ name: String) -> String { runtimeDir + "/" + name }
    public func sidecarRecordFile(network: String, sidecar: String) -> String { runtimeNetworkDir(network) + "/\(sidecar).json" }
    public func sidecarLogFile(network: String, sidecar: String) -> String { runtimeNetworkDir(network) + "/\(sidecar).log" }
    public func natsConfigFile(_ name: String) -> String { runtimeNetworkDir(name) + "/nats-server.conf" }
    /// Beside the config: `include` paths are relative to the including file.
    public func natsRoutesFile(_ name: String) -> String { runtimeNetworkDir(name) + "/" + NATSServerConfig.routesFileName }
    /// The store's records while the first node moves its nats-server into the cluster; present
    /// only between the export and the import (a crash in between imports it at the next start).
    public func storeExportFile(_ name: String) -> String { networkDir(name) + "/store-export.json" }
}
