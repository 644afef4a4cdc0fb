import Foundation

/// Network interfaces, addresses and routes through iproute2 (`ip`), each call bounded by a timeout.
/// Every function works on the caller's own network namespace unless `netns` names another one
/// (`ip -n NAME`, i.e. a namespace under /run/netns); the daemon uses the default.
public enum Link {
    static let ip = "/usr/sbin/ip"
    static let timeout: Duration = .seconds(10)

    /// True when an interface called `name` exists.
    public static func exists(_ name: String, netns: String? = nil) -> Bool {
        (try? Command.run(ip, arguments(netns, ["link", "show", "dev", name]), timeout: timeout).status) == 0
    }

    /// Creates a kernel WireGuard interface; fails when the kernel has no WireGuard module.
    public static func createKernelWireGuard(_ name: String, netns: String? = nil) throws {
        try run(netns, ["link", "add", "dev", name, "type", "wireguard"])
    }

    /// Creates a Linux bridge (the workload bridge); one that exists already is left as it is.
    public static func createBridge(_ name: String, netns: String? = nil) throws {
        guard !exists(name, netns: netns) else { return }
        try run(netns, ["link", "add", "dev", name, "type", "bridge"])
    }

    /// Deletes the interface; an interface that is already gone is not an error.
    public static func delete(_ name: String, netns: String? = nil) throws {
        guard exists(name, netns: netns) else { return }
        try run(netns, ["link", "delete", "dev", name])
    }

    public static func setMTU(_ name: String, _ mtu: Int, netns: String? = nil) throws {
        try run(netns, ["link", "set", "dev", name, "mtu", String(mtu)])
    }

    public static func setUp(_ name: String, netns: String? = nil) throws {
        try run(netns, ["link", "set", "dev", name, "up"])
    }

    /// Adds `cidr` (e.g. `10.101.3.1/32`, `fd12::1/128`) to the interface; already present is fine.
    /// IPv6 addresses skip duplicate address detection so services can bind them at once.
    public static func addAddress(_ cidr: String, to name: String, netns: String? = nil) throws {
        var command = ["address", "replace", cidr, "dev", name]
        if cidr.contains(":") { command.append("nodad") }
        try run(netns, command)
    }

    /// The interface's addresses as `address/prefix`, IPv4 first, in kernel order.
    public static func addresses(of name: String, netns: String? = nil) throws -> [String] {
        let json = try run(netns, ["-j", "address", "show", "dev", name])
        let links = try decode([IPAddressJSON].self, from: json, command: "ip -j address show dev \(name)")
        return links.flatMap { $0.addr_info ?? [] }.compactMap { info in
            guard let local = info.local, let prefix = info.prefixlen else { return nil }
            return "\(local)/\(prefix)"
        }
    }

    /// Routes `destination` (CIDR) through `dev`, replacing any route to the same destination.
    /// `source` sets the preferred source address (it must be on this host, same family).
    public static func addRoute(_ destination: String, dev: String, source: String? = nil, netns: String? = nil) throws {
        var command = [family(of: destination), "route", "replace", destination, "dev", dev]
        if let source { command += ["src", source] }
        try run(netns, command)
    }

    /// Deletes the route; a route that is already gone is not an error.
    public static func deleteRoute(_ destination: String, dev: String, netns: String? = nil) throws {
        guard try routes(dev: dev, netns: netns).contains(routeKey(destination)) else { return }
        try run(netns, [family(of: destination), "route", "delete", destination, "dev", dev])
    }

    /// Destinations routed through `dev` in the main table (IPv4 then IPv6), as CIDR text with
    /// host routes written `/32` / `/128`, and `default` as-is.
    public static func routes(dev: String, netns: String? = nil) throws -> [String] {
        try ["-4", "-6"].flatMap { family -> [String] in
            let json = try run(netns, ["-j", family, "route", "show", "dev", dev])
            let routes = try decode([IPRouteJSON].self, from: json, command: "ip -j \(family) route show dev \(dev)")
            return routes.compactMap { $0.dst.map(routeKey) }
        }
    }

    /// The form `routes(dev:)` reports a destination in.
    static func routeKey(_ destination: String) -> String {
        if destination == "default" || destination.contains("/") { return destination }
        return destination + (destination.contains(":") ? "/128" : "/32")
    }

    private static func family(of destination: String) -> String { destination.contains(":") ? "-6" : "-4" }

    private static func arguments(_ netns: String?, _ command: [String]) -> [String] {
        (netns.map { ["-n", $0] } ?? []) + command
    }

    @discardableResult
    private static func run(_ netns: String?, _ command: [String]) throws -> String {
        try Command.check(ip, arguments(netns, command), timeout: timeout) { line, status, stderr in
            LinkError(command: line, status: status, stderr: stderr)
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, from json: String, command: String) throws -> T {
        // `ip -j` prints nothing at all (not `[]`) for some empty results.
        let text = json.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try JSONDecoder().decode(T.self, from: Data((text.isEmpty ? "[]" : text).utf8))
        } catch {
            throw LinkError(command: command, status: 0, stderr: "output is not the expected JSON: \(error)")
        }
    }
}

private struct IPAddressJSON: Decodable {
    struct AddressInfo: Decodable {
        let local: String?
        let prefixlen: Int?
    }
    let addr_info: [AddressInfo]?
}

private struct IPRouteJSON: Decodable {
    let dst: String?
}
