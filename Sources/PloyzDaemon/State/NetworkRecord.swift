import Foundation
import PloyzModel

/// A network as this node stores it in `<data_dir>/networks/<name>/network.json` (mode 0600: it
/// holds the cluster's NATS credential). The WireGuard private key lives beside it in its own file.
public struct NetworkRecord: Codable, Sendable, Equatable {
    public var name: String
    /// Random id of the network, shared by every member; names the NATS cluster.
    public var networkID: String
    /// Random id of this node in the network; the key of its machine record.
    public var machineID: String
    public var machineName: String
    public var clusterCIDR: IPv4CIDR
    public var subnetPrefixLength: Int
    /// This node's slice of `clusterCIDR`.
    public var subnet: IPv4CIDR
    public var createdAt: Date
    public var natsUser: String
    public var natsPassword: String
    /// True once this node's nats-server belongs to the network's NATS cluster (a joined node
    /// from the start; the first node when its first peer's server is reachable). Nil or false: a
    /// standalone server.
    public var clustered: Bool?

    public init(name: String, networkID: String, machineID: String, machineName: String, clusterCIDR: IPv4CIDR,
                subnetPrefixLength: Int, subnet: IPv4CIDR, createdAt: Date, natsUser: String, natsPassword: String,
                clustered: Bool? = nil) {
        self.clustered = clustered
        self.name = name
        self.networkID = networkID
        self.machineID = machineID
        self.machineName = machineName
        self.clusterCIDR = clusterCIDR
        self.subnetPrefixLength = subnetPrefixLength
        self.subnet = subnet
        self.createdAt = createdAt
        self.natsUser = natsUser
        self.natsPassword = natsPassword
    }

    enum CodingKeys: String, CodingKey {
        case name
        case networkID = "network_id"
        case machineID = "machine_id"
        case machineName = "machine_name"
        case clusterCIDR = "cluster_cidr"
        case subnetPrefixLength = "subnet_prefix_len"
        case subnet
        case createdAt = "created_at"
        case natsUser = "nats_user"
        case natsPassword = "nats_password"
        case clustered
    }

    /// A new network's record: the first subnet of the CIDR, fresh ids and a fresh NATS credential.
    public static func new(name: String, config: PloyzConfig, machineName: String, now: Date = Date()) -> NetworkRecord {
        let subnet = config.clusterCIDR.subnet(0, prefixLength: config.subnetPrefixLength)!
        return NetworkRecord(
            name: name, networkID: RandomID.hex(bytes: 8), machineID: RandomID.hex(bytes: 8), machineName: machineName,
            clusterCIDR: config.clusterCIDR, subnetPrefixLength: config.subnetPrefixLength, subnet: subnet,
            // Whole seconds: the ISO 8601 encoding drops fractions, so the record reads back equal.
            createdAt: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)), natsUser: "ployz",
            natsPassword: RandomID.hex(bytes: 24))
    }
}

/// Random identifiers and secrets from the system's CSPRNG.
enum RandomID {
    static func hex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
