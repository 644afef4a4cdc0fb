/// One address on one local interface, as the endpoint policy sees it.
public struct EndpointCandidate: Sendable, Equatable {
    public var interface: String
    /// The bare address (`192.0.2.1`, `2001:db8::1`), without prefix length or port.
    public var address: String
    /// `"physical"`, `"bridge"`, `"veth"`, `"wireguard"`, `"tun"`, `"container"`, `"loopback"` or `"other"`.
    public var kind: String
    public var mtu: Int
    public var isUp: Bool

    public init(interface: String, address: String, kind: String, mtu: Int, isUp: Bool) {
        self.interface = interface
        self.address = address
        self.kind = kind
        self.mtu = mtu
        self.isUp = isUp
    }
}

/// Which addresses a node advertises as its WireGuard endpoints, best first. Pure.
///
/// Dropped:
/// - interfaces that are down, or of kind loopback, container, bridge, veth, tun or wireguard
///   (helpers and the overlay itself, not cluster-facing);
/// - interfaces whose MTU is below `overlayMTU + wireGuardOverhead` (1420 + 80 = 1500 by default),
///   since the encapsulated overlay packets would not fit;
/// - loopback (127/8, ::1), link-local (169.254/16, fe80::/10), IPv6 ULA (fc00::/7), unspecified
///   (0/8, ::), multicast (224/4, ff00::/8), 255.255.255.255, and text that is not an address.
///
/// Ordered: RFC 1918 private first, CGNAT (100.64/10) second, everything else ("public") after;
/// IPv4 before IPv6 within a class; otherwise the input order is kept, with `publicAddresses`
/// (from `PLOYZ_PUBLIC_IP` or STUN; interface filters do not apply to them) after the interface
/// addresses of their class. Each address appears once.
public enum EndpointPolicy {
    /// Outer IPv6 header (40) + UDP (8) + WireGuard data header and tag (32): the worst case, so an
    /// overlay packet of `overlayMTU` bytes fits an underlay of `overlayMTU + 80`.
    public static let wireGuardOverhead = 80

    /// Interface kinds that are never advertised.
    public static let excludedKinds: Set<String> = ["loopback", "container", "bridge", "veth", "tun", "wireguard"]

    /// The reachability class of an address; lower sorts first.
    public enum AddressClass: Int, Sendable, Comparable {
        case privateRFC1918 = 0
        case carrierGradeNAT = 1
        case publicAddress = 2

        public static func < (lhs: AddressClass, rhs: AddressClass) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private static let droppedIPv4 = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32"].map { IPv4CIDR($0)! }
    private static let rfc1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map { IPv4CIDR($0)! }
    private static let carrierGradeNAT = IPv4CIDR("100.64.0.0/10")!

    /// Endpoints as `host:port` / `[v6]:port`, best first.
    public static func order(
        _ candidates: [EndpointCandidate], publicAddresses: [String] = [], port: Int, overlayMTU: Int = 1420
    ) -> [String] {
        let usable = candidates.filter {
            $0.isUp && !excludedKinds.contains($0.kind) && $0.mtu >= overlayMTU + wireGuardOverhead
        }
        var seen = Set<String>()
        let ranked = (usable.map(\.address) + publicAddresses).enumerated().compactMap { index, text -> (key: (Int, Int, Int), endpoint: String)? in
            guard let address = Address(text), let addressClass = address.advertisableClass,
                  seen.insert(address.text).inserted else { return nil }
            return ((addressClass.rawValue, address.isIPv6 ? 1 : 0, index), address.endpoint(port: port))
        }
        return ranked.sorted { $0.key < $1.key }.map(\.endpoint)
    }

    /// The class of an address that may be advertised, or nil when the policy drops it.
    public static func addressClass(of text: String) -> AddressClass? {
        Address(text)?.advertisableClass
    }

    /// A parsed IPv4 or IPv6 address in canonical text.
    private enum Address {
        case v4(IPv4Address)
        case v6(IPv6Address)

        init?(_ text: String) {
            if let v4 = IPv4Address(text) {
                self = .v4(v4)
            } else if let v6 = IPv6Address(text), !text.contains("%") {
                self = .v6(v6)
            } else {
                return nil
            }
        }

        var isIPv6: Bool { if case .v6 = self { true } else { false } }

        var text: String {
            switch self {
            case .v4(let address): address.description
            case .v6(let address): address.description
            }
        }

        func endpoint(port: Int) -> String {
            switch self {
            case .v4(let address): "\(address):\(port)"
            case .v6(let address): "[\(address)]:\(port)"
            }
        }

        var advertisableClass: AddressClass? {
            switch self {
            case .v4(let address):
                if EndpointPolicy.droppedIPv4.contains(where: { $0.contains(address) }) { return nil }
                if EndpointPolicy.rfc1918.contains(where: { $0.contains(address) }) { return .privateRFC1918 }
                return EndpointPolicy.carrierGradeNAT.contains(address) ? .carrierGradeNAT : .publicAddress
            case .v6(let address):
                let unspecified = address.bytes.allSatisfy { $0 == 0 }
                let multicast = address.bytes[0] == 0xff
                if unspecified || multicast || address.isLoopback || address.isLinkLocal || address.isUniqueLocal { return nil }
                return .publicAddress
            }
        }
    }
}
