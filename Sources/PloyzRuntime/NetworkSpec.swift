/// A bridge network on one node's subnet, which the node's containers join.
public struct NetworkSpec: Sendable, Hashable {
    public var name: String
    /// CIDR, e.g. "10.101.5.0/24".
    public var subnet: String
    /// The node's address on the bridge (`.1`).
    public var gateway: String
    /// Addresses the engine must not give to containers (name: address), e.g. the node's DNS at `.2`.
    public var reservedAddresses: [String: String]
    /// MTU of the containers' interfaces: one that fits the overlay.
    public var mtu: Int?
    /// The Linux bridge's name; an existing bridge of that name is used as it is.
    public var bridgeName: String?
    public var labels: [String: String]

    public init(name: String, subnet: String, gateway: String, reservedAddresses: [String: String] = [:], mtu: Int? = nil,
                bridgeName: String? = nil, labels: [String: String] = [:]) {
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.reservedAddresses = reservedAddresses
        self.mtu = mtu
        self.bridgeName = bridgeName
        self.labels = labels
    }
}
