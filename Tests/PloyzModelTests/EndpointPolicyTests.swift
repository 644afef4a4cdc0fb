import PloyzModel
import Testing

private func nic(_ address: String, _ interface: String = "eth0", kind: String = "physical", mtu: Int = 1500, up: Bool = true) -> EndpointCandidate {
    EndpointCandidate(interface: interface, address: address, kind: kind, mtu: mtu, isUp: up)
}

@Suite struct EndpointPolicyTests {
    @Test func ordersPrivateThenCGNATThenPublic() {
        let ordered = EndpointPolicy.order(
            [nic("203.0.113.5"), nic("100.64.1.2", "tailnet0"), nic("192.168.1.10"), nic("10.0.0.4", "eth1")], port: 51820)
        #expect(ordered == ["192.168.1.10:51820", "10.0.0.4:51820", "100.64.1.2:51820", "203.0.113.5:51820"])
    }

    @Test func putsIPv4BeforeIPv6WithinAClassAndKeepsOrderOtherwise() {
        let ordered = EndpointPolicy.order(
            [nic("2001:db8::1"), nic("198.51.100.7"), nic("2001:db8::2", "eth1"), nic("203.0.113.9", "eth1")], port: 7)
        #expect(ordered == ["198.51.100.7:7", "203.0.113.9:7", "[2001:db8::1]:7", "[2001:db8::2]:7"])
    }

    @Test func classifiesRangeEdges() {
        #expect(EndpointPolicy.addressClass(of: "10.255.255.255") == .privateRFC1918)
        #expect(EndpointPolicy.addressClass(of: "172.16.0.0") == .privateRFC1918)
        #expect(EndpointPolicy.addressClass(of: "172.31.255.255") == .privateRFC1918)
        #expect(EndpointPolicy.addressClass(of: "172.32.0.1") == .publicAddress)
        #expect(EndpointPolicy.addressClass(of: "172.15.255.255") == .publicAddress)
        #expect(EndpointPolicy.addressClass(of: "192.168.255.1") == .privateRFC1918)
        #expect(EndpointPolicy.addressClass(of: "192.169.0.1") == .publicAddress)
        #expect(EndpointPolicy.addressClass(of: "100.64.0.0") == .carrierGradeNAT)
        #expect(EndpointPolicy.addressClass(of: "100.127.255.255") == .carrierGradeNAT)
        #expect(EndpointPolicy.addressClass(of: "100.128.0.0") == .publicAddress)
        #expect(EndpointPolicy.addressClass(of: "100.63.255.255") == .publicAddress)
        #expect(EndpointPolicy.addressClass(of: "2001:db8::1") == .publicAddress)
    }

    @Test func dropsLoopbackLinkLocalULAAndNonAddresses() {
        let dropped = [
            "127.0.0.1", "127.8.9.10", "169.254.1.1", "169.254.255.255", "::1", "fe80::1", "febf::1", "fe80::1%eth0",
            "fc00::1", "fd12:3456::1", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255",
            "", "eth0", "10.0.0.1/24", "300.1.1.1", "[2001:db8::1]",
        ]
        for address in dropped {
            #expect(EndpointPolicy.order([nic(address)], port: 1).isEmpty, "\(address) should be dropped")
            #expect(EndpointPolicy.addressClass(of: address) == nil, "\(address) should have no class")
        }
        // Just outside the dropped ranges.
        #expect(EndpointPolicy.order([nic("169.253.255.255"), nic("fec0::1"), nic("fe00::1")], port: 1)
            == ["169.253.255.255:1", "[fec0::1]:1", "[fe00::1]:1"])
    }

    @Test func dropsHelperAndOverlayInterfaces() {
        let helpers = ["loopback", "container", "bridge", "veth", "tun", "wireguard"].map { nic("192.168.5.5", $0, kind: $0) }
        #expect(EndpointPolicy.order(helpers, port: 51820).isEmpty)
        let kept = EndpointPolicy.order([nic("192.168.5.5", kind: "physical"), nic("192.168.6.6", "bond0", kind: "other")], port: 1)
        #expect(kept == ["192.168.5.5:1", "192.168.6.6:1"])
    }

    @Test func dropsInterfacesThatAreDown() {
        #expect(EndpointPolicy.order([nic("192.168.1.2", up: false)], port: 1).isEmpty)
    }

    @Test func dropsInterfacesBelowOverlayMTUPlusOverhead() {
        // Default overlay MTU 1420 + 80 bytes overhead: 1500 is the smallest usable MTU.
        #expect(EndpointPolicy.order([nic("192.168.1.2", mtu: 1499)], port: 1).isEmpty)
        #expect(EndpointPolicy.order([nic("192.168.1.2", mtu: 1500)], port: 1) == ["192.168.1.2:1"])
        #expect(EndpointPolicy.order([nic("192.168.1.2", mtu: 9000)], port: 1) == ["192.168.1.2:1"])
        // A smaller overlay MTU admits a smaller underlay.
        #expect(EndpointPolicy.order([nic("192.168.1.2", mtu: 1400)], port: 1, overlayMTU: 1320) == ["192.168.1.2:1"])
        #expect(EndpointPolicy.order([nic("192.168.1.2", mtu: 1399)], port: 1, overlayMTU: 1320).isEmpty)
    }

    @Test func foldsPublicAddressesIntoTheirClass() {
        let ordered = EndpointPolicy.order(
            [nic("2001:db8::5"), nic("192.168.1.2"), nic("100.64.0.9"), nic("198.51.100.1")],
            publicAddresses: ["203.0.113.77", "2001:db8::99", "100.100.0.1"], port: 51820)
        #expect(ordered == [
            "192.168.1.2:51820",
            "100.64.0.9:51820", "100.100.0.1:51820",
            "198.51.100.1:51820", "203.0.113.77:51820",
            "[2001:db8::5]:51820", "[2001:db8::99]:51820",
        ])
    }

    @Test func publicAddressesAloneAreAdvertisedButStillFiltered() {
        #expect(EndpointPolicy.order([], publicAddresses: ["203.0.113.77"], port: 1) == ["203.0.113.77:1"])
        #expect(EndpointPolicy.order([], publicAddresses: ["127.0.0.1", "fe80::1", "fd00::1", "nonsense"], port: 1).isEmpty)
        // An interface address that is dropped by its interface is still advertised when given as public.
        #expect(EndpointPolicy.order([nic("203.0.113.77", "docker0", kind: "bridge")], publicAddresses: ["203.0.113.77"], port: 1)
            == ["203.0.113.77:1"])
    }

    @Test func removesDuplicatesKeepingTheFirst() {
        let ordered = EndpointPolicy.order(
            [nic("192.168.1.2"), nic("192.168.1.2", "eth1"), nic("2001:db8::1"), nic("2001:DB8:0::1", "eth1")],
            publicAddresses: ["192.168.1.2", "2001:db8:0:0::1"], port: 5)
        #expect(ordered == ["192.168.1.2:5", "[2001:db8::1]:5"])
    }

    @Test func emptyInputGivesNoEndpoints() {
        #expect(EndpointPolicy.order([], port: 51820).isEmpty)
    }
}
