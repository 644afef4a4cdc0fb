import Foundation
import PloyzModel

/// An IPv4 route of this host's main table: which interface carries which range.
public struct HostRoute: Equatable, Sendable {
    public var interface: String
    public var destination: IPv4CIDR

    public init(interface: String, destination: IPv4CIDR) {
        self.interface = interface
        self.destination = destination
    }

    /// Parses `/proc/net/route`: hex fields in the kernel's (little-endian) memory order.
    public static func parse(procNetRoute text: String) -> [HostRoute] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16) else { return nil }
            let prefix = mask.nonzeroBitCount
            return HostRoute(interface: String(fields[0]),
                             destination: IPv4CIDR(network: IPv4Address(UInt32(bigEndian: destination)), prefixLength: prefix))
        }
    }

    /// The routes of the calling process's network namespace.
    public static func current() -> [HostRoute] {
        guard let data = FileManager.default.contents(atPath: "/proc/net/route") else { return [] }
        return parse(procNetRoute: String(decoding: data, as: UTF8.self))
    }
}

/// Checks that a network's `cluster_cidr` does not collide with what this host already uses.
public enum AddressConflicts {
    /// A reason to refuse `cidr`, or nil. Refused: a range routed on this host through another
    /// interface than the mesh's own ones, `ownInterfaces` (the default route does not count), and another network of
    /// this node whose CIDR overlaps without being the same (two networks may share one CIDR,
    /// since only one runs at a time).
    public static func problem(with cidr: IPv4CIDR, network: String, routes: [HostRoute], ownInterfaces: Set<String>,
                               otherNetworks: [(name: String, cidr: IPv4CIDR)]) -> String? {
        for route in routes where !ownInterfaces.contains(route.interface) && route.destination.prefixLength > 0 {
            if route.destination.overlaps(cidr) {
                return "cluster_cidr \(cidr) of network \"\(network)\" overlaps \(route.destination) routed on interface \(route.interface); choose a cluster_cidr that no local network uses"
            }
        }
        for other in otherNetworks where other.name != network && other.cidr != cidr && other.cidr.overlaps(cidr) {
            return "cluster_cidr \(cidr) overlaps \(other.cidr) of network \"\(other.name)\" on this node; use the same cluster_cidr or one that does not overlap"
        }
        return nil
    }
}
