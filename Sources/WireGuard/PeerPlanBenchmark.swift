import Foundation
import PloyzModel

/// A repeatable workload for timing `PeerPlan.diff`, for the bench executable to call.
public enum PeerPlanBenchmark {
    /// A device with `peers` peers and a desired set in which every tenth kept peer moved
    /// endpoint, every twentieth gained an allowed IP, ten are new and ten are gone.
    public static func workload(peers: Int) -> (current: [WireGuardPeerState], desired: [WireGuardPeer], expectedChanges: Int) {
        func key(_ index: Int) -> WireGuardKey {
            var bytes = [UInt8](repeating: 0x5a, count: 32)
            withUnsafeBytes(of: UInt32(index).bigEndian) { bytes.replaceSubrange(0..<4, with: $0) }
            return WireGuardKey(bytes: bytes)!
        }
        func peer(_ index: Int) -> WireGuardPeer {
            let subnet = "10.\(100 + index / 256).\(index % 256).0/24"
            return WireGuardPeer(
                publicKey: key(index), endpoint: "192.0.\(2 + index / 256 % 250).\(index % 256):51820",
                allowedIPs: [subnet, "\(key(index).overlayAddress)/128"], persistentKeepalive: 25)
        }
        let current = (0..<peers).map { index -> WireGuardPeerState in
            let p = peer(index)
            return WireGuardPeerState(publicKey: p.publicKey, endpoint: p.endpoint, allowedIPs: p.allowedIPs, persistentKeepalive: 25)
        }
        // Peers 0..<10 are gone, peers..<peers+10 are new; the kept ones in between get changes.
        let churn = min(10, peers)
        var desired = (churn..<peers + churn).map(peer)
        let kept = desired.indices.dropLast(churn)
        var changed = 0
        for index in kept where index % 10 == 0 {
            desired[index].endpoint = "203.0.113.\(index % 256):51821"
            changed += 1
        }
        for index in kept where index % 20 == 5 {
            desired[index].allowedIPs.append("10.250.\(index % 256).0/24")
            changed += 1
        }
        return (current, desired.shuffled(), changed + 2 * churn)
    }

    /// Median wall time of `PeerPlan.diff` over `iterations` runs, in microseconds.
    public static func medianDiffMicroseconds(peers: Int = 1000, iterations: Int = 200) -> Double {
        let workload = workload(peers: peers)
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        var sink = 0
        for _ in 0..<iterations {
            let start = ContinuousClock.now
            sink &+= PeerPlan.diff(current: workload.current, desired: workload.desired).peers.count
            samples.append((ContinuousClock.now - start).timeInterval * 1e6)
        }
        precondition(sink > 0)
        return samples.sorted()[samples.count / 2]
    }
}
