import Foundation
import PloyzModel
import Testing
@testable import WireGuard

@Suite struct InterfaceClassificationTests {
    private func kind(_ name: String, _ infoKind: String?, linkType: String? = "ether", flags: [String] = ["UP"], socket: Bool = false) -> InterfaceKind {
        LocalAddresses.classify(name: name, linkType: linkType, infoKind: infoKind, flags: flags, hasUAPISocket: { _ in socket })
    }

    @Test func classifiesByLinkKindAndName() {
        #expect(kind("lo", nil, linkType: "loopback", flags: ["LOOPBACK", "UP"]) == .loopback)
        #expect(kind("eth0", nil) == .physical)
        #expect(kind("enp3s0", nil) == .physical)
        #expect(kind("br0", "bridge") == .bridge)
        #expect(kind("vethabc", "veth") == .veth)
        #expect(kind("wg0", "wireguard", linkType: "none") == .wireguard)
        #expect(kind("wg0", "tun", linkType: "none", socket: true) == .wireguard)
        #expect(kind("tun0", "tun", linkType: "none") == .tun)
        #expect(kind("docker0", "bridge") == .container)
        #expect(kind("br-1a2b3c", "bridge") == .container)
        #expect(kind("cni0", "bridge") == .container)
        #expect(kind("flannel.1", "vxlan") == .container)
        #expect(kind("bond0", "bond") == .other)
        #expect(kind("eth0.100", "vlan") == .other)
    }

    @Test func parsesIPAddressJSON() throws {
        // Shape of `ip -d -j address show` (iproute2 6.1), trimmed.
        let json = """
            [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"link_type":"loopback",
              "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet6","local":"::1","prefixlen":128}]},
             {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"link_type":"ether",
              "addr_info":[{"family":"inet","local":"192.168.1.5","prefixlen":24},{"family":"inet6","local":"fe80::1","prefixlen":64}]},
             {"ifindex":3,"ifname":"wg0","flags":["POINTOPOINT","NOARP","UP","LOWER_UP"],"mtu":1420,"link_type":"none",
              "linkinfo":{"info_kind":"tun","info_data":{"type":"tun"}},"addr_info":[{"family":"inet","local":"10.101.0.1","prefixlen":32}]},
             {"ifindex":4,"ifname":"br0","flags":["BROADCAST","MULTICAST","UP"],"mtu":1500,"link_type":"ether",
              "linkinfo":{"info_kind":"bridge"},"addr_info":[{"family":"inet","local":"10.9.0.1","prefixlen":24}]},
             {"ifindex":5,"ifname":"eth9","flags":["BROADCAST"],"mtu":1500,"link_type":"ether","addr_info":[]}]
            """
        let addresses = try LocalAddresses.parse(json, hasUAPISocket: { $0 == "wg0" })
        #expect(addresses == [
            LocalAddress(interface: "lo", address: "127.0.0.1", isIPv6: false, mtu: 65536, isUp: true, isLoopback: true, kind: .loopback),
            LocalAddress(interface: "lo", address: "::1", isIPv6: true, mtu: 65536, isUp: true, isLoopback: true, kind: .loopback),
            LocalAddress(interface: "eth0", address: "192.168.1.5", isIPv6: false, mtu: 1500, isUp: true, isLoopback: false, kind: .physical),
            LocalAddress(interface: "eth0", address: "fe80::1", isIPv6: true, mtu: 1500, isUp: true, isLoopback: false, kind: .physical),
            LocalAddress(interface: "wg0", address: "10.101.0.1", isIPv6: false, mtu: 1420, isUp: true, isLoopback: false, kind: .wireguard),
            LocalAddress(interface: "br0", address: "10.9.0.1", isIPv6: false, mtu: 1500, isUp: false, isLoopback: false, kind: .bridge),
        ])
        #expect(EndpointPolicy.order(addresses.map(\.candidate), port: 51820) == ["192.168.1.5:51820"])
        #expect(throws: LinkError.self) { try LocalAddresses.parse("not json", hasUAPISocket: { _ in false }) }
    }
}

/// A real namespace with a veth pair, a bridge, a macvlan and a TUN device.
@Suite(.serialized, .enabled(if: TestHost.canRunNamespaces, "needs root and /dev/net/tun"))
struct LocalAddressesIntegrationTests {
    @Test func enumeratesKindsInsideANamespace() throws {
        let tag = uniqueTag()
        let namespace = "\(tag)n"
        try ip("netns", "add", namespace)
        defer { _ = try? Command.run(Link.ip, ["netns", "delete", namespace]) }
        let n = ["-n", namespace]
        func inside(_ arguments: String...) throws {
            try Command.check(Link.ip, n + arguments) { LinkError(command: $0, status: $1, stderr: $2) }
        }
        try inside("link", "set", "lo", "up")
        try inside("link", "add", "\(tag)va", "type", "veth", "peer", "name", "\(tag)vb")
        try inside("link", "add", "\(tag)br", "type", "bridge")
        try inside("link", "add", "\(tag)m", "link", "\(tag)va", "type", "macvlan")
        try inside("tuntap", "add", "dev", "\(tag)t", "mode", "tun")
        try inside("address", "add", "192.0.2.1/24", "dev", "\(tag)va")
        try inside("address", "add", "10.250.7.1/24", "dev", "\(tag)br")
        try inside("address", "add", "198.51.100.4/24", "dev", "\(tag)m")
        try inside("address", "add", "10.250.8.1/24", "dev", "\(tag)t")
        for link in ["\(tag)va", "\(tag)vb", "\(tag)br", "\(tag)m"] { try inside("link", "set", link, "up") }
        try inside("link", "set", "\(tag)m", "mtu", "1400")

        let addresses = try LocalAddresses.read(netns: namespace)
        func entry(_ address: String) -> LocalAddress? { addresses.first { $0.address == address } }
        #expect(entry("127.0.0.1")?.kind == .loopback)
        #expect(entry("127.0.0.1")?.isLoopback == true)
        #expect(entry("192.0.2.1")?.kind == .veth)
        #expect(entry("192.0.2.1")?.isUp == true)
        #expect(entry("10.250.7.1")?.kind == .bridge)
        #expect(entry("198.51.100.4")?.kind == .other)
        #expect(entry("198.51.100.4")?.mtu == 1400)
        #expect(entry("10.250.8.1")?.kind == .tun)
        #expect(entry("10.250.8.1")?.isUp == false)
        // The caller's own namespace is a different one.
        #expect(!LocalAddresses.enumerate().contains { $0.interface.hasPrefix(tag) })
        // Everything here is a helper, too small, or down: nothing to advertise.
        #expect(EndpointPolicy.order(addresses.map(\.candidate), port: 51820).isEmpty)
    }
}
