/// Editing a service's HTTP routes, and listing every route of the cluster. Pure.
extension ServiceRecord {
    /// Adds `route`, or replaces the port of the route with the same path prefix and hostnames.
    /// Hostnames are lower-cased; a hostname that another route of this service already serves
    /// under the same path moves to the new route, so one (host, path) has one port.
    public func settingRoute(_ route: HTTPRoute) -> ServiceRecord {
        let hosts = Set(route.hostnames.map { $0.lowercased() })
        var copy = self
        copy.routes = routes.compactMap { existing in
            guard existing.pathPrefix == route.pathPrefix else { return existing }
            var trimmed = existing
            trimmed.hostnames = existing.hostnames.filter { !hosts.contains($0.lowercased()) }
            return trimmed.hostnames.isEmpty ? nil : trimmed
        }
        copy.routes.append(HTTPRoute(hostnames: hosts.sorted(), pathPrefix: route.pathPrefix, port: route.port))
        return copy
    }

    /// Removes `hostname` under `pathPrefix` (every path when nil); routes left with no hostname go.
    /// Returns nil when nothing matched.
    public func removingRoute(hostname: String, pathPrefix: String?) -> ServiceRecord? {
        let host = hostname.lowercased()
        var removed = false
        var copy = self
        copy.routes = routes.compactMap { existing in
            guard pathPrefix == nil || existing.pathPrefix == pathPrefix, existing.hostnames.contains(host) else { return existing }
            removed = true
            var trimmed = existing
            trimmed.hostnames.removeAll { $0 == host }
            return trimmed.hostnames.isEmpty ? nil : trimmed
        }
        return removed ? copy : nil
    }
}

/// One (hostname, path) the gateway serves, for listings.
public struct RouteSummary: Codable, Sendable, Equatable {
    public var hostname: String
    public var pathPrefix: String
    public var namespace: String
    public var service: String
    public var port: Int
    /// `address:port` of each ready instance, in round-robin order.
    public var backends: [String]

    public init(hostname: String, pathPrefix: String, namespace: String, service: String, port: Int, backends: [String]) {
        self.hostname = hostname
        self.pathPrefix = pathPrefix
        self.namespace = namespace
        self.service = service
        self.port = port
        self.backends = backends
    }
}

extension ClusterSnapshot {
    /// Every route, sorted by hostname then longest path first (the order the gateway matches in).
    public func routeSummaries() -> [RouteSummary] {
        services.values.flatMap { service in
            let ready = readyInstances(namespace: service.namespace, service: service.name)
            return service.routes.flatMap { route in
                route.hostnames.map { host in
                    RouteSummary(hostname: host, pathPrefix: route.pathPrefix, namespace: service.namespace, service: service.name,
                                 port: route.port, backends: ready.map { Self.hostPort($0.address, route.port) })
                }
            }
        }.sorted { ($0.hostname, -$0.pathPrefix.count, $0.pathPrefix) < ($1.hostname, -$1.pathPrefix.count, $1.pathPrefix) }
    }

    static func hostPort(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

extension WorkloadSpec {
    /// The first of this spec's routes whose hostname and path prefix another service already
    /// serves, as a one-line reason, or nil. One (host, path) has one owner.
    public func routeConflict(with services: [ServiceRecord]) -> String? {
        for route in routes {
            for host in route.hostnames.map({ $0.lowercased() }) {
                let owner = services.first { other in
                    (other.namespace, other.name) != (namespace, name)
                        && other.routes.contains { $0.pathPrefix == route.pathPrefix && $0.hostnames.contains { $0.lowercased() == host } }
                }
                if let owner {
                    return "\(namespace)/\(name): route \(host)\(route.pathPrefix) is served by \(owner.namespace)/\(owner.name) already; remove it there first (`ployzctl route rm \(owner.name) -n \(owner.namespace) --host \(host)`) or choose another host or path"
                }
            }
        }
        return nil
    }
}
