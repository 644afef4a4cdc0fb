import NIOCore
import PloyzModel
import Synchronization

/// One upstream a route can send a request to: a ready instance's address and the route's port.
public struct Backend: Sendable, Hashable, CustomStringConvertible {
    /// The instance id, for logs.
    public let instanceID: String
    public let address: SocketAddress

    /// A backend at `address`, named by its instance for logs.
    public init(instanceID: String, address: SocketAddress) {
        self.instanceID = instanceID
        self.address = address
    }

    public var description: String {
        "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }
}

/// A host pattern and path prefix leading to a service's ready backends.
///
/// A class so every request that matches it shares one round-robin counter.
public final class Route: Sendable {
    /// `<namespace>.<service>`.
    public let service: String
    /// Lower-case exact hostname, `*.suffix` wildcard, or `*` (a route published with no hostnames).
    public let hostPattern: String
    /// Normalised path prefix: starts with `/`, no trailing `/` except for the root.
    public let pathPrefix: String
    /// Ready backends, ordered by instance id.
    public let backends: [Backend]
    /// A short stable name for metrics and logs: `service host/prefix`.
    public let label: String
    /// The route's metrics, when the table was built for a server.
    let metrics: GatewayMetrics.RouteMetrics?
    private let nextIndex = Atomic<Int>(0)

    /// A route without metrics (for tests and tools).
    public convenience init(service: String, hostPattern: String, pathPrefix: String, backends: [Backend]) {
        self.init(service: service, hostPattern: hostPattern, pathPrefix: pathPrefix, backends: backends, metrics: nil)
    }

    init(service: String, hostPattern: String, pathPrefix: String, backends: [Backend], metrics: GatewayMetrics.RouteMetrics?) {
        self.service = service
        self.hostPattern = hostPattern
        self.pathPrefix = pathPrefix
        self.backends = backends
        self.label = "\(service) \(hostPattern)\(pathPrefix)"
        self.metrics = metrics
    }

    /// The index in `backends` where the next request starts (round robin); retries go on from it.
    public func nextStartIndex() -> Int {
        let count = backends.count
        guard count > 1 else { return 0 }
        return (nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max) % count
    }

    /// The next backend in round-robin order, or nil when the route has none ready.
    public func nextBackend() -> Backend? {
        backends.isEmpty ? nil : backends[nextStartIndex()]
    }

    /// True when `path` (no query) is under this route's prefix, on a segment boundary:
    /// `/api` matches `/api` and `/api/x`, never `/apix`.
    public func matchesPath(_ path: Substring) -> Bool {
        RouteTable.path(path, isUnder: pathPrefix)
    }
}

/// The gateway's routing: built from a `ClusterSnapshot` by a pure function, matched per request.
///
/// Matching: the host (case-insensitive, port and trailing dot ignored) selects candidate routes,
/// most specific first: the exact hostname, then wildcards from the longest suffix to the shortest
/// (`*.example.com` matches any depth of subdomain, `a.example.com` and `a.b.example.com`, but not
/// `example.com` itself, like nginx's `server_name *.example.com`), then routes published without
/// hostnames (any host). Within the first host group that has a route whose prefix matches the path,
/// the longest prefix wins.
public struct RouteTable: Sendable {
    /// A published route that could not be used, for logging.
    public struct Skipped: Sendable, Equatable, CustomStringConvertible {
        public let service: String
        public let reason: String
        public var description: String { "\(service): \(reason)" }
    }

    private var exact: [String: [Route]] = [:]
    /// Key: the suffix after `*.`, e.g. `example.com`.
    private var wildcard: [String: [Route]] = [:]
    private var anyHost: [Route] = []
    /// Routes dropped while building (duplicates, invalid prefixes, unusable addresses).
    public private(set) var skipped: [Skipped] = []
    /// Every route, for inspection.
    public private(set) var routes: [Route] = []

    /// An empty table: every request is a 404.
    public init() {}

    /// Builds the table from a snapshot's services and ready instances.
    public init(snapshot: ClusterSnapshot) {
        self.init(snapshot: snapshot, metrics: nil)
    }

    /// Builds the table with each route's metrics from `metrics`.
    init(snapshot: ClusterSnapshot, metrics: GatewayMetrics?) {
        var seen: Set<String> = []
        for key in snapshot.services.keys.sorted() {
            let service = snapshot.services[key]!
            let serviceName = "\(service.namespace).\(service.name)"
            let instances = snapshot.readyInstances(namespace: service.namespace, service: service.name)
            for httpRoute in service.routes {
                guard let prefix = Self.normalisedPrefix(httpRoute.pathPrefix) else {
                    skipped.append(Skipped(service: serviceName, reason: "path prefix \"\(httpRoute.pathPrefix)\" must start with /"))
                    continue
                }
                guard (1...65535).contains(httpRoute.port) else {
                    skipped.append(Skipped(service: serviceName, reason: "port \(httpRoute.port) must be 1-65535"))
                    continue
                }
                var backends: [Backend] = []
                for instance in instances {
                    do {
                        backends.append(Backend(instanceID: instance.id, address: try SocketAddress(ipAddress: instance.address, port: httpRoute.port)))
                    } catch {
                        skipped.append(Skipped(service: serviceName, reason: "instance \(instance.id) address \"\(instance.address)\" is not an IP address"))
                    }
                }
                let patterns = httpRoute.hostnames.isEmpty ? ["*"] : httpRoute.hostnames.map(Self.normalisedHost)
                for pattern in patterns {
                    guard seen.insert("\(pattern)\(prefix)").inserted else {
                        skipped.append(Skipped(service: serviceName, reason: "route \(pattern)\(prefix) is already served by another service"))
                        continue
                    }
                    let label = "\(serviceName) \(pattern)\(prefix)"
                    let route = Route(service: serviceName, hostPattern: pattern, pathPrefix: prefix, backends: backends, metrics: metrics?.routeMetrics(label: label))
                    routes.append(route)
                    if pattern == "*" {
                        anyHost.append(route)
                    } else if pattern.hasPrefix("*.") {
                        wildcard[String(pattern.dropFirst(2)), default: []].append(route)
                    } else {
                        exact[pattern, default: []].append(route)
                    }
                }
            }
        }
        let longestFirst: (Route, Route) -> Bool = { $0.pathPrefix.utf8.count > $1.pathPrefix.utf8.count }
        exact = exact.mapValues { $0.sorted(by: longestFirst) }
        wildcard = wildcard.mapValues { $0.sorted(by: longestFirst) }
        anyHost.sort(by: longestFirst)
    }

    /// The route for a request's `Host` header value and path (query allowed, ignored), or nil (404).
    public func match(host: String, path: String) -> Route? {
        match(hostName: Self.hostName(fromHostHeader: host), path: path)
    }

    /// The route for an already normalised host name (`hostName(fromHostHeader:)`) and a path.
    func match(hostName name: String, path: String) -> Route? {
        let pathOnly = Self.pathWithoutQuery(path)
        if let candidates = exact[name], let route = Self.longestPrefix(candidates, pathOnly) { return route }
        if !wildcard.isEmpty {
            var rest = Substring(name)
            while let dot = rest.firstIndex(of: ".") {
                rest = rest[rest.index(after: dot)...]
                if let candidates = wildcard[String(rest)], let route = Self.longestPrefix(candidates, pathOnly) { return route }
            }
        }
        return Self.longestPrefix(anyHost, pathOnly)
    }

    private static func longestPrefix(_ candidates: [Route], _ path: Substring) -> Route? {
        candidates.first { $0.matchesPath(path) }
    }

    /// Lower-cases and strips the port (`host:8080`, `[::1]:8080`) and a trailing dot.
    static func hostName(fromHostHeader header: String) -> String {
        var host = Substring(header)
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { host = host[...close] }
        } else if let colon = host.firstIndex(of: ":") {
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        return host.lowercased()
    }

    static func normalisedHost(_ pattern: String) -> String {
        var host = pattern.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    /// `nil` unless the prefix starts with `/`; trailing slashes are dropped except for the root.
    static func normalisedPrefix(_ prefix: String) -> String? {
        guard prefix.hasPrefix("/") else { return prefix.isEmpty ? "/" : nil }
        var result = Substring(prefix)
        while result.count > 1 && result.hasSuffix("/") { result = result.dropLast() }
        return String(result)
    }

    /// The path of a request target: origin form (`/a?b`) or absolute form (`http://h/a?b`).
    static func pathWithoutQuery(_ target: String) -> Substring {
        var target = Substring(target)
        if !target.hasPrefix("/") {
            // Absolute form: skip `scheme://authority`.
            let lower = target.lowercased()
            if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
                let afterScheme = target.dropFirst(lower.hasPrefix("http://") ? 7 : 8)
                target = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
            }
        }
        if let end = target.firstIndex(where: { $0 == "?" || $0 == "#" }) { target = target[..<end] }
        return target
    }

    static func path(_ path: Substring, isUnder prefix: String) -> Bool {
        if prefix == "/" { return true }
        guard path.hasPrefix(prefix) else { return false }
        let rest = path.utf8.dropFirst(prefix.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }
}
