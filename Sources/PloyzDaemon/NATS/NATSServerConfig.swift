import PloyzModel

/// The `nats-server` configuration for one network on this node, rendered to text by a pure
/// function so that equal inputs give byte-equal files (the sidecar's spec hash covers the file:
/// an unchanged config means the running server is adopted, not restarted).
public struct NATSServerConfig: Sendable, Equatable {
    /// `server_name`: the machine id, unique in the cluster.
    public var serverName: String
    /// The node's overlay IPv6; the client and cluster listeners bind it.
    public var overlayAddress: IPv6Address
    public var clientPort: Int
    /// Monitoring, always on 127.0.0.1 (never reachable from the overlay).
    public var monitorPort: Int
    public var storeDir: String
    public var user: String
    public var password: String
    /// The NATS cluster name: the network id.
    public var clusterName: String
    public var clusterPort: Int
    /// Route URLs of the other members (`nats-route://[fd..]:6222`). Empty on a single node.
    public var routes: [String]
    public var maxMemory = "64MB"
    public var maxFile = "1GB"

    public init(serverName: String, overlayAddress: IPv6Address, clientPort: Int, monitorPort: Int, storeDir: String,
                user: String, password: String, clusterName: String, clusterPort: Int, routes: [String] = []) {
        self.serverName = serverName
        self.overlayAddress = overlayAddress
        self.clientPort = clientPort
        self.monitorPort = monitorPort
        self.storeDir = storeDir
        self.user = user
        self.password = password
        self.clusterName = clusterName
        self.clusterPort = clusterPort
        self.routes = routes
    }

    /// The configuration of `record`'s network under `config` and `paths`.
    public init(record: NetworkRecord, overlayAddress: IPv6Address, config: PloyzConfig, paths: DaemonPaths, routes: [String] = []) {
        self.init(serverName: record.machineID, overlayAddress: overlayAddress, clientPort: config.natsPort,
                  monitorPort: Self.monitorPort(clientPort: config.natsPort), storeDir: paths.natsStoreDir(record.name),
                  user: record.natsUser, password: record.natsPassword, clusterName: record.networkID,
                  clusterPort: config.natsClusterPort, routes: routes)
    }

    /// The monitoring port follows the client port (4222 -> 8222), so two nodes on one host that
    /// use different client ports do not clash on loopback either.
    public static func monitorPort(clientPort: Int) -> Int {
        clientPort + 4000 <= 65535 ? clientPort + 4000 : clientPort - 4000
    }

    /// `nats://[fd..]:4222`.
    public var clientURL: String { "nats://[\(overlayAddress)]:\(clientPort)" }

    /// The file's text. The cluster block appears only with routes: nats-server refuses to start
    /// JetStream in a cluster that has no route ("JetStream cluster requires configured routes"),
    /// so a single node runs standalone and gains the block when the first peer's route arrives.
    public func render() -> String {
        var lines = [
            "# Written by ployzd; regenerated on every start. Do not edit.",
            "server_name: \(quoted(serverName))",
            "listen: \(quoted("[\(overlayAddress)]:\(clientPort)"))",
            "http: \(quoted("127.0.0.1:\(monitorPort)"))",
            "jetstream {",
            "  store_dir: \(quoted(storeDir))",
            "  max_mem: \(maxMemory)",
            "  max_file: \(maxFile)",
            "}",
            "authorization {",
            "  user: \(quoted(user))",
            "  password: \(quoted(password))",
            "}",
        ]
        if !routes.isEmpty {
            lines += [
                "cluster {",
                "  name: \(quoted(clusterName))",
                "  listen: \(quoted("[\(overlayAddress)]:\(clusterPort)"))",
                "  authorization {",
                "    user: \(quoted(user))",
                "    password: \(quoted(password))",
                "  }",
                "  routes: [",
            ] + routes.map { "    \(quoted($0))" } + [
                "  ]",
                "}",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// NATS config strings in double quotes; backslash and quote escaped.
    private func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
