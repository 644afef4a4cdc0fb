import Foundation
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
    /// Whether the server runs in the network's NATS cluster: then the config has a `cluster`
    /// block whose route list is included from `routesFileName`, so that the routes can change
    /// without changing this file (the sidecar's spec hash covers only this file: a running
    /// server is adopted, not restarted, when only its routes changed).
    public var clustered: Bool
    /// The routes file's name, next to the config file (NATS resolves includes relative to it).
    public static let routesFileName = "nats-routes.conf"
    public var maxMemory = "64MB"
    public var maxFile = "1GB"

    public init(serverName: String, overlayAddress: IPv6Address, clientPort: Int, monitorPort: Int, storeDir: String,
                user: String, password: String, clusterName: String, clusterPort: Int, clustered: Bool = false) {
        self.serverName = serverName
        self.overlayAddress = overlayAddress
        self.clientPort = clientPort
        self.monitorPort = monitorPort
        self.storeDir = storeDir
        self.user = user
        self.password = password
        self.clusterName = clusterName
        self.clusterPort = clusterPort
        self.clustered = clustered
    }

    /// The configuration of `record`'s network under `config` and `paths`.
    public init(record: NetworkRecord, overlayAddress: IPv6Address, config: PloyzConfig, paths: DaemonPaths) {
        self.init(serverName: record.machineID, overlayAddress: overlayAddress, clientPort: config.natsPort,
                  monitorPort: Self.monitorPort(clientPort: config.natsPort), storeDir: paths.natsStoreDir(record.name),
                  user: record.natsUser, password: record.natsPassword, clusterName: record.networkID,
                  clusterPort: config.natsClusterPort, clustered: record.clustered == true)
    }

    /// The monitoring port follows the client port (4222 -> 8222), so two nodes on one host that
    /// use different client ports do not clash on loopback either.
    public static func monitorPort(clientPort: Int) -> Int {
        clientPort + 4000 <= 65535 ? clientPort + 4000 : clientPort - 4000
    }

    /// `nats://[fd..]:4222`.
    public var clientURL: String { "nats://[\(overlayAddress)]:\(clientPort)" }

    /// The file's text. The cluster block appears only when clustered: nats-server refuses to
    /// start JetStream in a cluster without routes ("JetStream cluster requires configured
    /// routes") and a lone clustered server never elects a leader (it expects at least two), so a
    /// single node runs standalone and the daemon moves it into the cluster when the first peer's
    /// server is reachable (see docs/architecture.md, "The store as a NATS cluster").
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
        if clustered {
            lines += [
                "cluster {",
                "  name: \(quoted(clusterName))",
                "  listen: \(quoted("[\(overlayAddress)]:\(clusterPort)"))",
                "  authorization {",
                "    user: \(quoted(user))",
                "    password: \(quoted(password))",
                "  }",
                "  include \(quoted(Self.routesFileName))",
                "}",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The routes file's text: one route per other member, with the cluster credential (route
    /// connections authenticate like clients do). Sorted, so equal sets give equal files.
    public func renderRoutes(to peers: [IPv6Address]) -> String {
        let urls = Set(peers.filter { $0 != overlayAddress }.map { routeURL(to: $0) }).sorted()
        return (["# Written by ployzd: routes to the other members. Do not edit.", "routes: ["]
            + urls.map { "  \(quoted($0))" } + ["]"]).joined(separator: "\n") + "\n"
    }

    /// `nats-route://user:password@[fd..]:6222`; user and password are percent-encoded.
    public func routeURL(to peer: IPv6Address) -> String {
        "nats-route://\(Self.percentEncoded(user)):\(Self.percentEncoded(password))@[\(peer)]:\(clusterPort)"
    }

    private static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    /// NATS config strings in double quotes; backslash and quote escaped.
    private func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
