import Foundation
import PloyzModel
import Testing
@testable import WireGuard

/// Deterministic distinct keys, so expectations can name them.
private func key(_ n: UInt8) -> WireGuardKey { WireGuardKey(bytes: [n] + [UInt8](repeating: 7, count: 31))! }

private func state(_ peer: WireGuardPeer) -> WireGuardPeerState {
    WireGuardPeerState(
        publicKey: peer.publicKey, endpoint: peer.endpoint, allowedIPs: peer.allowedIPs,
        lastHandshake: Date(timeIntervalSince1970: 1_700_000_000), rxBytes: 1, txBytes: 2,
        persistentKeepalive: peer.persistentKeepalive)
}

private let alpha = WireGuardPeer(publicKey: key(1), endpoint: "192.0.2.1:51820", allowedIPs: ["10.101.1.0/24", "fd01::1/128"])
private let beta = WireGuardPeer(publicKey: key(2), endpoint: "[2001:db8::2]:51820", allowedIPs: ["10.101.2.0/24"], persistentKeepalive: 25)
private let gamma = WireGuardPeer(publicKey: key(3), endpoint: nil, allowedIPs: ["10.101.3.0/24"])

@Suite struct PeerPlanTests {
    @Test func sameSetGivesAnEmptyUpdate() {
        #expect(PeerPlan.diff(current: [], desired: []).isEmpty)
        #expect(PeerPlan.diff(current: [alpha, beta, gamma].map(state), desired: [alpha, beta, gamma]).isEmpty)
    }

    @Test func addsNewPeersWithAllTheirSettings() {
        let update = PeerPlan.diff(current: [state(alpha)], desired: [alpha, beta, gamma])
        #expect(update == WireGuardDeviceUpdate(peers: [
            WireGuardPeerUpdate(
                publicKey: key(2), endpoint: "[2001:db8::2]:51820", replaceAllowedIPs: true,
                allowedIPs: ["10.101.2.0/24"], persistentKeepalive: 25),
            WireGuardPeerUpdate(publicKey: key(3), replaceAllowedIPs: true, allowedIPs: ["10.101.3.0/24"]),
        ]))
    }

    @Test func removesPeersNoLongerWanted() {
        let update = PeerPlan.diff(current: [alpha, beta, gamma].map(state), desired: [beta])
        #expect(update == WireGuardDeviceUpdate(peers: [.removal(of: key(1)), .removal(of: key(3))]))
        #expect(PeerPlan.diff(current: [state(alpha)], desired: []).peers == [.removal(of: key(1))])
    }

    @Test func changesOnlyTheEndpoint() {
        var moved = alpha
        moved.endpoint = "198.51.100.9:51820"
        let update = PeerPlan.diff(current: [state(alpha), state(beta)], desired: [moved, beta])
        #expect(update.peers == [WireGuardPeerUpdate(publicKey: key(1), endpoint: "198.51.100.9:51820")])
    }

    @Test func keepsALearnedEndpointWhenNoneIsDesired() {
        var roamed = state(gamma)
        roamed.endpoint = "203.0.113.4:40000"
        #expect(PeerPlan.diff(current: [roamed], desired: [gamma]).isEmpty)
    }

    @Test func setsAnEndpointTheDeviceDoesNotHaveYet() {
        var unknown = state(alpha)
        unknown.endpoint = nil
        #expect(PeerPlan.diff(current: [unknown], desired: [alpha]).peers == [
            WireGuardPeerUpdate(publicKey: key(1), endpoint: "192.0.2.1:51820"),
        ])
    }

    @Test func replacesChangedAllowedIPs() {
        var grown = alpha
        grown.allowedIPs.append("10.101.9.0/24")
        #expect(PeerPlan.diff(current: [state(alpha)], desired: [grown]).peers == [
            WireGuardPeerUpdate(publicKey: key(1), replaceAllowedIPs: true, allowedIPs: ["10.101.1.0/24", "fd01::1/128", "10.101.9.0/24"]),
        ])
        var shrunk = alpha
        shrunk.allowedIPs = ["fd01::1/128"]
        #expect(PeerPlan.diff(current: [state(alpha)], desired: [shrunk]).peers == [
            WireGuardPeerUpdate(publicKey: key(1), replaceAllowedIPs: true, allowedIPs: ["fd01::1/128"]),
        ])
        var emptied = alpha
        emptied.allowedIPs = []
        #expect(PeerPlan.diff(current: [state(alpha)], desired: [emptied]).peers == [
            WireGuardPeerUpdate(publicKey: key(1), replaceAllowedIPs: true, allowedIPs: []),
        ])
    }

    @Test func changesKeepaliveAndTurnsItOff() {
        var off = beta
        off.persistentKeepalive = nil
        #expect(PeerPlan.diff(current: [state(beta)], desired: [off]).peers == [
            WireGuardPeerUpdate(publicKey: key(2), persistentKeepalive: 0),
        ])
        var zero = beta
        zero.persistentKeepalive = 0
        #expect(PeerPlan.diff(current: [state(off)], desired: [zero]).isEmpty)
        var faster = beta
        faster.persistentKeepalive = 10
        #expect(PeerPlan.diff(current: [state(beta)], desired: [faster]).peers == [
            WireGuardPeerUpdate(publicKey: key(2), persistentKeepalive: 10),
        ])
    }

    @Test func combinesAllChangesForOnePeer() {
        let changed = WireGuardPeer(publicKey: key(2), endpoint: "192.0.2.2:1", allowedIPs: ["10.101.22.0/24"], persistentKeepalive: 5)
        #expect(PeerPlan.diff(current: [state(beta)], desired: [changed]).peers == [
            WireGuardPeerUpdate(publicKey: key(2), endpoint: "192.0.2.2:1", replaceAllowedIPs: true, allowedIPs: ["10.101.22.0/24"], persistentKeepalive: 5),
        ])
    }

    @Test func ignoresOrderOfPeersAndOfAllowedIPs() {
        let current = [alpha, gamma].map(state)
        let desired = [alpha, beta]
        let expected = PeerPlan.diff(current: current, desired: desired)
        #expect(PeerPlan.diff(current: current.reversed(), desired: desired.reversed()) == expected)
        var reordered = alpha
        reordered.allowedIPs.reverse()
        #expect(PeerPlan.diff(current: [state(alpha)], desired: [reordered]).isEmpty)
    }

    @Test func comparesCanonicalForms() {
        // The device reports canonical text; a desired value written differently is the same value.
        let sloppy = WireGuardPeer(publicKey: key(1), endpoint: "[2001:DB8:0::1]:51820", allowedIPs: ["10.101.1.9/24", "10.101.1.0/24", "FD01:0::1/128"])
        let device = WireGuardPeerState(publicKey: key(1), endpoint: "[2001:db8::1]:51820", allowedIPs: ["10.101.1.0/24", "fd01::1/128"])
        #expect(PeerPlan.diff(current: [device], desired: [sloppy]).isEmpty)
        #expect(PeerPlan.diff(current: [], desired: [sloppy]).peers.first?.allowedIPs == ["10.101.1.0/24", "fd01::1/128"])
    }

    @Test func firstOfDuplicateDesiredPeersWins() {
        var second = alpha
        second.endpoint = "192.0.2.200:1"
        #expect(PeerPlan.diff(current: [state(alpha)], desired: [alpha, second]).isEmpty)
    }

    @Test func planForAThousandPeersTouchesOnlyWhatChanged() {
        let workload = PeerPlanBenchmark.workload(peers: 1000)
        let update = PeerPlan.diff(current: workload.current, desired: workload.desired)
        #expect(update.peers.count == workload.expectedChanges)
    }
}
