import Foundation
import PloyzModel

/// What an interface is, for deciding whether its addresses are worth advertising.
public enum InterfaceKind: String, Sendable, Codable, CaseIterable {
    case physical, bridge, veth, wireguard, tun, container, loopback, other
}

/// One address on one local interface.
public struct LocalAddress: Sendable, Equatable {
    public var interface: String
    /// The bare address, without prefix length.
    public var address: String
    public var isIPv6: Bool
    public var mtu: Int
    /// Administratively up and with carrier (`UP` and `LOWER_UP`).
    public var isUp: Bool
    public var isLoopback: Bool
    public var kind: InterfaceKind

    public init(interface: String, address: String, isIPv6: Bool, mtu: Int, isUp: Bool, isLoopback: Bool, kind: InterfaceKind) {
        self.interface = interface
        self.address = address
        self.isIPv6 = isIPv6
        self.mtu = mtu
        self.isUp = isUp
        self.isLoopback = isLoopback
        self.kind = kind
    }

    /// The same address as the endpoint policy's input.
    public var candidate: EndpointCandidate {
        EndpointCandidate(interface: interface, address: address, kind: kind.rawValue, mtu: mtu, isUp: isUp)
    }
}

/// The machine's interface addresses with their interface facts.
///
/// Read with `ip -d -j address show`, which reports the link kind (`info_kind`: bridge, veth, tun,
/// wireguard, …), flags and MTU of the namespace it runs in. (/sys/class/net shows the namespace
/// sysfs was mounted in, which is not always the caller's, so it is not used.)
public enum LocalAddresses {
    /// Interface name prefixes of container runtimes and CNI plugins.
    static let containerPrefixes = ["docker", "br-", "cni", "podman", "flannel", "cali", "cilium", "weave", "lxc", "lxd", "virbr", "kube", "vxlan"]

    /// Every address on every interface of the current namespace (or of `netns`); empty when
    /// `ip` cannot be run.
    public static func enumerate(netns: String? = nil) -> [LocalAddress] {
        (try? read(netns: netns)) ?? []
    }

    /// Like `enumerate`, but says why reading failed.
    public static func read(netns: String? = nil, runDirectory: String = "/var/run/wireguard") throws -> [LocalAddress] {
        let arguments = (netns.map { ["-n", $0] } ?? []) + ["-d", "-j", "address", "show"]
        let json = try Command.check(Link.ip, arguments, timeout: Link.timeout) { line, status, stderr in
            LinkError(command: line, status: status, stderr: stderr)
        }
        return try parse(json) { name in
            FileManager.default.fileExists(atPath: UAPIClient.socketPath(interface: name, runDirectory: runDirectory))
        }
    }

    /// Parses `ip -d -j address show`. `hasUAPISocket` tells a wireguard-go TUN from any other TUN.
    static func parse(_ json: String, hasUAPISocket: (String) -> Bool) throws -> [LocalAddress] {
        let links: [LinkJSON]
        do {
            links = try JSONDecoder().decode([LinkJSON].self, from: Data(json.utf8))
        } catch {
            throw LinkError(command: "ip -d -j address show", status: 0, stderr: "output is not the expected JSON: \(error)")
        }
        return links.flatMap { link -> [LocalAddress] in
            let flags = link.flags ?? []
            let kind = classify(
                name: link.ifname, linkType: link.link_type, infoKind: link.linkinfo?.info_kind, flags: flags,
                hasUAPISocket: hasUAPISocket)
            return (link.addr_info ?? []).compactMap { info in
                guard let local = info.local else { return nil }
                return LocalAddress(
                    interface: link.ifname, address: local, isIPv6: info.family == "inet6", mtu: link.mtu ?? 0,
                    isUp: flags.contains("UP") && flags.contains("LOWER_UP"), isLoopback: kind == .loopback, kind: kind)
            }
        }
    }

    /// The kind of an interface from what iproute2 says about it.
    static func classify(
        name: String, linkType: String?, infoKind: String?, flags: [String], hasUAPISocket: (String) -> Bool
    ) -> InterfaceKind {
        if flags.contains("LOOPBACK") || linkType == "loopback" { return .loopback }
        if containerPrefixes.contains(where: name.hasPrefix) { return .container }
        switch infoKind {
        case "wireguard": return .wireguard
        case "tun": return hasUAPISocket(name) ? .wireguard : .tun
        case "bridge": return .bridge
        case "veth": return .veth
        // Real NICs have no rtnl link ops, so iproute2 reports no kind for them.
        case nil: return .physical
        default: return .other
        }
    }
}

private struct LinkJSON: Decodable {
    struct LinkInfo: Decodable {
        let info_kind: String?
    }
    struct AddressInfo: Decodable {
        let family: String?
        let local: String?
    }
    let ifname: String
    let flags: [String]?
    let mtu: Int?
    let link_type: String?
    let linkinfo: LinkInfo?
    let addr_info: [AddressInfo]?
}
