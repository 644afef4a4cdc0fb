import Foundation
import Testing
@testable import PloyzModel

@Suite struct AllocationTests {
    let cluster = IPv4CIDR("10.101.0.0/16")!

    @Test func firstFreeSkipsTaken() throws {
        let taken: Set = [cluster.subnet(0, prefixLength: 24)!, cluster.subnet(1, prefixLength: 24)!]
        #expect(try SubnetAllocation.first(in: cluster, prefixLength: 24, taken: taken).description == "10.101.2.0/24")
        #expect(try SubnetAllocation.first(in: cluster, prefixLength: 24, taken: taken, start: 255).description == "10.101.255.0/24")
    }

    @Test func overlappingClaimsCountAsTaken() throws {
        // A /23 claimed by someone covers two /24s.
        let taken: Set = [IPv4CIDR("10.101.0.0/23")!]
        #expect(try SubnetAllocation.first(in: cluster, prefixLength: 24, taken: taken).description == "10.101.2.0/24")
    }

    @Test func fullClusterSaysSo() {
        let small = IPv4CIDR("10.9.0.0/30")!
        let taken: Set = [IPv4CIDR("10.9.0.0/31")!, IPv4CIDR("10.9.0.2/31")!]
        let error = #expect(throws: SubnetAllocation.Exhausted.self) {
            try SubnetAllocation.first(in: small, prefixLength: 31, taken: taken)
        }
        #expect(error?.description == "cluster_cidr 10.9.0.0/30 is full: all 2 /31 subnets are taken; widen cluster_cidr or lengthen subnet_prefix_len")
    }

    @Test func candidatesAreDistinctAndInside() {
        let all = SubnetAllocation.candidates(in: cluster, prefixLength: 24, taken: [], start: 17)
        #expect(all.count == 256)
        #expect(Set(all).count == 256)
        #expect(all.first?.description == "10.101.17.0/24")
        #expect(all.allSatisfy { cluster.contains($0) })
    }
}

@Suite struct NetworkNameTests {
    @Test func acceptsOrdinaryNames() {
        for name in ["my-cluster", "staging", "a", "prod1", String(repeating: "x", count: 63)] {
            #expect(NetworkName.problem(with: name) == nil, "\(name)")
        }
    }

    @Test func rejectsWithAReason() {
        #expect(NetworkName.problem(with: "")?.contains("empty") == true)
        #expect(NetworkName.problem(with: String(repeating: "x", count: 64))?.contains("at most 63") == true)
        #expect(NetworkName.problem(with: "a/b")?.contains("'/'") == true)
        #expect(NetworkName.problem(with: "My Cluster")?.contains("not allowed") == true)
        #expect(NetworkName.problem(with: "-lead") != nil)
        #expect(NetworkName.problem(with: "..") != nil)
    }
}

@Suite struct SnapshotTests {
    @Test func savesAtomicallyAndLoadsBack() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ployz-snap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = WireGuardKeyPair.generate().publicKey
        var snapshot = ClusterSnapshot()
        snapshot.machines["m1"] = MachineRecord(id: "m1", name: "node-1", publicKey: key, subnet: IPv4CIDR("10.101.1.0/24")!,
                                                endpoints: ["192.168.1.10:51820"], lifecycle: .active,
                                                updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
        snapshot.instances["i2"] = InstanceRecord(id: "i2", service: "web", machine: "m1", address: "10.101.1.4")
        snapshot.instances["i1"] = InstanceRecord(id: "i1", service: "web", machine: "m1", address: "10.101.1.3")
        snapshot.instances["i3"] = InstanceRecord(id: "i3", service: "web", machine: "m1", address: "10.101.1.5", ready: false)
        let path = dir.appendingPathComponent("snapshot.json").path
        try snapshot.save(to: path)
        let loaded = try ClusterSnapshot.load(from: path)
        #expect(loaded == snapshot)
        #expect(loaded.readyInstances(namespace: "default", service: "web").map(\.id) == ["i1", "i2"])
        #expect(loaded.machines["m1"]?.overlayIPv6 == key.overlayAddress)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func certificateKeysEncodeWildcards() {
        #expect(StoreKeys.certificate(hostname: "*.Example.com") == "_wildcard.example.com")
        #expect(StoreKeys.certificate(hostname: "api.example.com") == "api.example.com")
        #expect(StoreKeys.subnetLock(IPv4CIDR("10.101.3.0/24")!) == "subnet.10-101-3-0_24")
    }
}

@Suite struct DateEncodingTests {
    struct Box: Codable, Equatable { var at: Date }

    @Test func millisecondDatesRoundTripExactly() throws {
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: Double.random(in: 0...4_000_000_000)).roundedToMilliseconds
            let back = try JSONDecoder.ployz.decode(Box.self, from: JSONEncoder.ployz.encode(Box(at: date)))
            #expect(back.at == date)
        }
    }

    @Test func textForm() throws {
        let data = try JSONEncoder.ployz.encode(Box(at: Date(timeIntervalSince1970: 1_800_000_000.5)))
        #expect(String(decoding: data, as: UTF8.self) == #"{"at":"2027-01-15T08:00:00.500Z"}"#)
        #expect(PloyzDateFormat.date(from: "2027-01-15T08:00:00Z") == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(PloyzDateFormat.date(from: "2027-01-15T08:00:00.1Z") == Date(timeIntervalSince1970: 1_800_000_000.1))
        #expect(PloyzDateFormat.date(from: "2027-01-15 08:00:00") == nil)
    }
}
