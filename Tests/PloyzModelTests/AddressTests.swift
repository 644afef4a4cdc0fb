import Testing
@testable import PloyzModel

@Suite struct IPv4Tests {
    @Test func parsesAndPrints() {
        #expect(IPv4Address("10.101.0.1")?.description == "10.101.0.1")
        #expect(IPv4Address("255.255.255.255")?.value == UInt32.max)
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", " 1.2.3.4", "1.2.3.-4"] {
            #expect(IPv4Address(bad) == nil, "\(bad) should not parse")
        }
    }

    @Test func cidrParsingIsStrict() throws {
        let cidr = try IPv4CIDR.parse("10.101.0.0/16")
        #expect(cidr.network == IPv4Address(10, 101, 0, 0))
        #expect(cidr.prefixLength == 16)
        #expect(throws: IPv4CIDR.ParseError.badPrefix("33")) { try IPv4CIDR.parse("10.101.0.0/33") }
        #expect(throws: IPv4CIDR.ParseError.missingSlash) { try IPv4CIDR.parse("10.101.0.0") }
        #expect(throws: IPv4CIDR.ParseError.hostBitsSet("10.101.0.0/16")) { try IPv4CIDR.parse("10.101.3.0/16") }
        #expect(throws: IPv4CIDR.ParseError.badAddress("10.300.0.0")) { try IPv4CIDR.parse("10.300.0.0/16") }
    }

    @Test func containmentAndOverlap() throws {
        let cluster = try IPv4CIDR.parse("10.101.0.0/16")
        let inside = try IPv4CIDR.parse("10.101.7.0/24")
        let outside = try IPv4CIDR.parse("10.102.0.0/24")
        #expect(cluster.contains(inside))
        #expect(!cluster.contains(outside))
        #expect(cluster.overlaps(inside) && inside.overlaps(cluster))
        #expect(!cluster.overlaps(outside))
        #expect(cluster.contains(IPv4Address(10, 101, 255, 255)))
        #expect(cluster.last == IPv4Address(10, 101, 255, 255))
    }

    @Test func subnetsOfADefaultCluster() throws {
        let cluster = try IPv4CIDR.parse("10.101.0.0/16")
        #expect(cluster.subnetCount(prefixLength: 24) == 256)
        #expect(cluster.subnet(0, prefixLength: 24)?.description == "10.101.0.0/24")
        #expect(cluster.subnet(255, prefixLength: 24)?.description == "10.101.255.0/24")
        #expect(cluster.subnet(256, prefixLength: 24) == nil)
        let subnet = cluster.subnet(3, prefixLength: 24)!
        #expect(subnet.nodeAddress.description == "10.101.3.1")
        #expect(subnet.dnsAddress.description == "10.101.3.2")
        #expect(subnet.size - 2 == 254)
    }
}

@Suite struct IPv6Tests {
    @Test func canonicalText() {
        #expect(IPv6Address("fd00:0:0:0:0:0:0:1")?.description == "fd00::1")
        #expect(IPv6Address("::1")?.isLoopback == true)
        #expect(IPv6Address("fe80::1")?.isLinkLocal == true)
        #expect(IPv6Address("fd12::1")?.isUniqueLocal == true)
        #expect(IPv6Address("2001:db8::1")?.isUniqueLocal == false)
        #expect(IPv6Address("not-an-address") == nil)
        #expect(IPv6Address("10.0.0.1") == nil)
    }
}

@Suite struct ListenAddressTests {
    @Test func parsesBothFamilies() {
        #expect(ListenAddress.parse("0.0.0.0:80") == ListenAddress(host: "0.0.0.0", port: 80))
        #expect(ListenAddress.parse("[::]:443") == ListenAddress(host: "::", port: 443))
        #expect(ListenAddress.parse("[fd00::1]:53")?.description == "[fd00::1]:53")
        for bad in ["0.0.0.0", "0.0.0.0:0", "0.0.0.0:65536", "localhost:80", "[::1]80", "::1:80", "1.2.3.4:-1", "1.2.3.4:8a"] {
            #expect(ListenAddress.parse(bad) == nil, "\(bad) should not parse")
        }
    }
}
