import Foundation
import Testing
import PloyzModel
import WireGuard
@testable import PloyzDaemon

struct ClusterPureTests {
    func machine(_ id: String, _ subnet: String, _ lifecycle: MachineRecord.Lifecycle = .active, endpoints: [String] = ["192.168.1.2:51820"]) -> MachineRecord {
        MachineRecord(id: id, name: id, publicKey: WireGuardKeyPair.generate().publicKey, subnet: IPv4CIDR(subnet)!,
                      endpoints: endpoints, lifecycle: lifecycle)
    }

    @Test func desiredPeersAreOtherActiveOrPendingMachines() {
        let own = machine("a", "10.101.0.0/24")
        let active = machine("b", "10.101.1.0/24")
        let pending = machine("c", "10.101.2.0/24", .pending, endpoints: [])
        let stopped = machine("d", "10.101.3.0/24", .stopped)
        let peers = PeerSet.desired(machines: [stopped, pending, own, active], ownID: "a")
        #expect(peers.map(\.publicKey) == [active.publicKey, pending.publicKey])
        #expect(peers[0].allowedIPs == ["10.101.1.0/24", "\(active.overlayIPv6)/128"])
        #expect(peers[0].endpoint == "192.168.1.2:51820")
        #expect(peers[0].persistentKeepalive == 25)
        #expect(peers[1].endpoint == nil)
    }

    @Test func aMachineCarryingTheDevicesOwnKeyIsNeverAPeer() {
        let other = machine("b", "10.101.1.0/24")
        #expect(PeerSet.desired(machines: [other], ownID: "a", ownKey: other.publicKey).isEmpty)
    }

    @Test func diffOfConvergedPeersIsEmptyAndStoppedMachinesAreRemoved() {
        let b = machine("b", "10.101.1.0/24")
        let c = machine("c", "10.101.2.0/24")
        let desired = PeerSet.desired(machines: [b, c], ownID: "a")
        let current = desired.map { WireGuardPeerState(publicKey: $0.publicKey, endpoint: $0.endpoint, allowedIPs: $0.allowedIPs, persistentKeepalive: 25) }
        #expect(PeerPlan.diff(current: current, desired: desired).isEmpty)
        var stoppedC = c
        stoppedC.lifecycle = .stopped
        let update = PeerPlan.diff(current: current, desired: PeerSet.desired(machines: [b, stoppedC], ownID: "a"))
        #expect(update.peers == [.removal(of: c.publicKey)])
    }

    @Test func rotationMovesToTheNextCandidateOnlyAfterPatienceWithoutHandshake() {
        let b = machine("b", "10.101.1.0/24", endpoints: ["192.168.66.2:51820", "192.168.77.2:51820"])
        var rotation = EndpointRotation(patience: 15, staleAfter: 180)
        let start = Date(timeIntervalSince1970: 1_000_000)
        let never: [WireGuardKey: Date?] = [b.publicKey: Date?.none]
        #expect(rotation.rotate(machines: [b], handshakes: never, now: start).isEmpty)
        #expect(rotation.rotate(machines: [b], handshakes: never, now: start + 10).isEmpty)
        #expect(rotation.rotate(machines: [b], handshakes: never, now: start + 16) == ["b"])
        #expect(PeerSet.desired(machines: [b], ownID: "a", endpointIndex: rotation.index)[0].endpoint == "192.168.77.2:51820")
        // A recent handshake keeps the endpoint.
        let fresh: [WireGuardKey: Date?] = [b.publicKey: .some(start + 20)]
        #expect(rotation.rotate(machines: [b], handshakes: fresh, now: start + 40).isEmpty)
        // Wraps around after the last candidate.
        #expect(rotation.rotate(machines: [b], handshakes: never, now: start + 60) == ["b"])
        #expect(rotation.index["b"] == 0)
    }

    @Test func storeURLsRoundTrip() {
        let url = StoreURL.url(host: "fd12::1", port: 4222)
        #expect(url == "nats://[fd12::1]:4222")
        #expect(StoreURL.host(of: url) == "fd12::1")
        #expect(StoreURL.port(of: url) == 4222)
        #expect(StoreURL.host(of: "nats://10.0.0.1:4333") == "10.0.0.1")
        #expect(StoreURL.port(of: "nats://10.0.0.1:4333") == 4333)
    }
}
