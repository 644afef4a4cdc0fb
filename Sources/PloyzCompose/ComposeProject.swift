import PloyzModel

/// A Compose file read into Ployz's model: one namespace and its services.
public struct ComposeProject: Sendable, Equatable {
    public var namespace: String
    /// Sorted by name.
    public var services: [WorkloadSpec]

    public init(namespace: String, services: [WorkloadSpec]) {
        self.namespace = namespace
        self.services = services.sorted { $0.name < $1.name }
    }

    /// A one-line reason when a route of this project claims a host and path that another
    /// service (another namespace or name) already serves in `existing`; nil when none does.
    /// Redeploying a service over its own routes is no conflict.
    public func routeConflicts(with existing: [ServiceRecord]) -> String? {
        services.lazy.compactMap { $0.routeConflict(with: existing) }.first
    }
}

/// One (host, path prefix) the gateway routes on; hosts compare without case.
struct RouteKey: Hashable, CustomStringConvertible {
    let host: String
    let path: String

    init(host: String, path: String) {
        self.host = host.lowercased()
        self.path = path
    }

    var description: String { host + path }
}
