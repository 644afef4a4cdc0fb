import Foundation
import NATSClient
import PloyzModel
import Testing
@testable import PloyzStore

@Suite struct ClusterStoreTests {
    func connect(_ server: NATSServerProcess) async throws -> ClusterStore {
        try await ClusterStore.connect(servers: [server.url], user: server.user, password: server.password)
    }

    func machine(_ id: String, subnet: String) -> MachineRecord {
        MachineRecord(id: id, name: "node-\(id)", publicKey: WireGuardKeyPair.generate().publicKey,
                      subnet: IPv4CIDR(subnet)!, endpoints: ["192.168.77.11:51820"], lifecycle: .active)
    }

    @Test func ensureAssetsIsIdempotentAndCreatesEveryAsset() async throws {
        let server = try NATSServerProcess()
        let store = try await connect(server)
        try await store.ensureAssets(replicas: 1)
        try await store.ensureAssets(replicas: 1)
        for bucket in StoreBucket.allCases {
            let info = try await store.js.streamInfo("KV_" + bucket.bucketName)
            #expect(info.config.replicas == 1)
            // Reads go to the leader, never to a replica that is catching up.
            #expect(!info.config.allowDirect)
        }
        #expect(try await store.js.streamInfo(StoreStream.events).config.subjects == ["events.>"])
        #expect(try await store.js.streamInfo(StoreStream.jobs).config.retention == .workQueue)
        #expect(try await store.js.streamInfo("KV_ployz_locks").config.maxAge == ClusterStore.lockTTL)
        await store.close()
    }

    @Test func machineRecordsRoundTrip() async throws {
        let server = try NATSServerProcess()
        let store = try await connect(server)
        try await store.ensureAssets(replicas: 1)
        let a = machine("a", subnet: "10.101.0.0/24")
        let b = machine("b", subnet: "10.101.1.0/24")
        try await store.putMachine(b)
        try await store.putMachine(a)
        #expect(try await store.machine(id: "a") == a)
        #expect(try await store.machine(id: "missing") == nil)
        #expect(try await store.machines().map(\.id) == ["a", "b"])
        try await store.deleteMachine(id: "a")
        #expect(try await store.machines().map(\.id) == ["b"])
        await store.close()
    }

    /// What the first node does when its store moves into the cluster: every record is carried
    /// across, a record written on the new side meanwhile keeps its newer value, leases are left
    /// behind, and importing twice writes nothing more.
    @Test func exportAndImportCarryEveryRecordAndKeepNewerOnes() async throws {
        let (oldServer, newServer) = (try NATSServerProcess(), try NATSServerProcess())
        let old = try await connect(oldServer)
        try await old.ensureAssets(replicas: 1)
        let a = machine("a", subnet: "10.101.0.0/24")
        var b = machine("b", subnet: "10.101.1.0/24")
        try await old.putMachine(a)
        try await old.putMachine(b)
        try await old.putService(ServiceRecord(name: "web"))
        try await old.put(["k": "v"], in: .network, key: "signing_key")
        try await old.put(["lease": "x"], in: .locks, key: "lease-1")
        try await old.deleteMachine(id: "gone")
        let export = try await old.exportRecords()
        #expect(export.recordCount == 4, "\(export.buckets.mapValues { $0.keys.sorted() })")
        #expect(export.buckets["locks"] == nil)
        // Survives its own JSON form (it is written to disk between the two steps).
        let decoded = try JSONDecoder.ployz.decode(StoreExport.self, from: JSONEncoder.ployz.encode(export))
        #expect(decoded == export)

        let new = try await connect(newServer)
        try await new.ensureAssets(replicas: 1)
        b.endpoints = ["192.168.77.99:51820"]
        try await new.putMachine(b)
        #expect(try await new.importMissing(decoded) == 3)
        #expect(try await new.machine(id: "a") == a)
        #expect(try await new.machine(id: "b")?.endpoints == ["192.168.77.99:51820"])
        #expect(try await new.services().map(\.name) == ["web"])
        #expect(try await new.get([String: String].self, in: .network, key: "signing_key")?.record == ["k": "v"])
        #expect(try await new.get([String: String].self, in: .locks, key: "lease-1") == nil)
        #expect(try await new.importMissing(decoded) == 0)
        #expect(StoreExport.importOrder.last == .network)
        await old.close()
        await new.close()
    }

    @Test func concurrentSubnetClaimsHaveExactlyOneWinner() async throws {
        let server = try NATSServerProcess()
        let store = try await connect(server)
        try await store.ensureAssets(replicas: 1)
        let subnet = IPv4CIDR("10.101.9.0/24")!
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask { try await store.claimSubnet(subnet, for: "machine-\(i)") }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        let claims = try await store.claimedSubnets()
        #expect(claims.count == 1)
        // The winner claiming again is idempotent; a loser still loses.
        #expect(try await store.claimSubnet(subnet, for: claims[0].machine))
        #expect(try await !store.claimSubnet(subnet, for: "someone-else"))
        await store.close()
    }

    @Test func snapshotSyncFollowsTheStore() async throws {
        let server = try NATSServerProcess()
        let store = try await connect(server)
        try await store.ensureAssets(replicas: 1)
        try await store.putService(ServiceRecord(name: "web", ports: [ServicePort(name: "http", port: 80)]))

        let latest = LatestSnapshot()
        let sync = Task { try await SnapshotSync(store: store).run { latest.set($0) } }
        defer { sync.cancel() }

        let first = try await latest.wait { _ in true }
        #expect(first.services.keys.sorted() == ["default.web"])
        #expect(first.instances.isEmpty)

        try await store.putInstance(InstanceRecord(id: "web-1", service: "web", machine: "a", address: "10.101.0.3"))
        let withInstance = try await latest.wait { $0.instances["web-1"] != nil }
        #expect(withInstance.readyInstances(namespace: "default", service: "web").map(\.address) == ["10.101.0.3"])

        try await store.deleteService(namespace: "default", name: "web")
        let withoutService = try await latest.wait { $0.services["default.web"] == nil }
        #expect(withoutService.services.isEmpty)
        #expect(withoutService.instances.count == 1)
        await store.close()
    }
}

struct DeadlineExceeded: Error {}

/// The newest snapshot a sync handed on, with a bounded wait for one that satisfies a condition.
final class LatestSnapshot: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ClusterSnapshot?

    func set(_ snapshot: ClusterSnapshot) {
        lock.withLock { value = snapshot }
    }

    func wait(within limit: Duration = .seconds(10), until condition: (ClusterSnapshot) -> Bool) async throws -> ClusterSnapshot {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let snapshot = lock.withLock({ value }), condition(snapshot) { return snapshot }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw DeadlineExceeded()
    }
}
