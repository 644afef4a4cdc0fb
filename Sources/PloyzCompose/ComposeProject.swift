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
        var owners: [RouteKey: ServiceRecord] = [:]
        for record in existing {
            for route in record.routes {
                for host in route.hostnames { owners[RouteKey(host: host, path: route.pathPrefix)] = record }
            }
        }
        for spec in services {
            for route in spec.routes {
                for host in route.hostnames {
                    let key = RouteKey(host: host, path: route.pathPrefix)
                    guard let owner = owners[key], owner.namespace != namespace || owner.name != spec.name else { continue }
                    return "route \(key) of service \(namespace).\(spec.name) is already served by service "
                        + "\(owner.namespace).\(owner.name); remove it there first, or pick another host or path"
                }
            }
        }
        return nil
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
