import PloyzModel

/// Everything needed to create one container: the service's template plus what Ployz decides per
/// instance (name, its labels, network, DNS, address, binds).
public struct ContainerCreateSpec: Sendable, Hashable {
    public var name: String
    public var template: ContainerTemplate
    /// Ployz's `ployz.*` labels, added to the template's labels (and winning over them).
    public var labels: [String: String]
    /// The network the container joins (see `NetworkSpec.name`); nil: the engine's default.
    public var network: String?
    /// Resolvers the container uses (the node's DNS).
    public var dnsServers: [String]
    /// A fixed address on `network`; nil: the engine picks a free one.
    public var ipv4Address: String?
    /// "host-path:container-path[:ro]".
    public var binds: [String]

    public init(name: String, template: ContainerTemplate, labels: [String: String] = [:], network: String? = nil,
                dnsServers: [String] = [], ipv4Address: String? = nil, binds: [String] = []) {
        self.name = name
        self.template = template
        self.labels = labels
        self.network = network
        self.dnsServers = dnsServers
        self.ipv4Address = ipv4Address
        self.binds = binds
    }

    /// The template's labels with Ployz's on top.
    public var allLabels: [String: String] { template.labels.merging(labels) { _, ployz in ployz } }
}
