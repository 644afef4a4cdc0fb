import PloyzModel

/// Plans the smallest change that turns the device's peers into the desired ones. Pure.
public enum PeerPlan {
    /// Only the differences: new peers (with their allowed IPs), removed peers, and for kept peers a
    /// changed endpoint, allowed-IP set or keepalive. Peer and allowed-IP order do not matter; the
    /// result lists peers by public key. A desired peer without endpoint keeps the device's (it
    /// may have learned one from the peer's traffic). If `desired` names a key twice, the first wins.
    public static func diff(current: [WireGuardPeerState], desired: [WireGuardPeer]) -> WireGuardDeviceUpdate {
        var currentIndex = [KeyID: Int](minimumCapacity: current.count)
        for (index, peer) in current.enumerated() {
            let id = KeyID(peer.publicKey)
            if currentIndex[id] == nil { currentIndex[id] = index }
        }
        var kept = [Bool](repeating: false, count: current.count)
        var seen = Set<KeyID>(minimumCapacity: desired.count)
        var updates: [PlannedUpdate] = []
        for peer in desired {
            let id = KeyID(peer.publicKey)
            guard seen.insert(id).inserted else { continue }
            if let index = currentIndex[id] {
                kept[index] = true
                if let change = change(from: current[index], to: peer) { updates.append(PlannedUpdate(id: id, update: change)) }
            } else {
                updates.append(PlannedUpdate(id: id, update: WireGuardPeerUpdate(
                    publicKey: peer.publicKey, endpoint: peer.endpoint, replaceAllowedIPs: true,
                    allowedIPs: normalized(peer.allowedIPs),
                    persistentKeepalive: peer.persistentKeepalive.flatMap { $0 == 0 ? nil : $0 })))
            }
        }
        for (id, index) in currentIndex where !kept[index] {
            updates.append(PlannedUpdate(id: id, update: .removal(of: current[index].publicKey)))
        }
        updates.sort { $0.id < $1.id }
        return WireGuardDeviceUpdate(peers: updates.map(\.update))
    }

    /// The update for a peer the device already has, or nil when it is already as desired.
    static func change(from existing: WireGuardPeerState, to peer: WireGuardPeer) -> WireGuardPeerUpdate? {
        var update = WireGuardPeerUpdate(publicKey: peer.publicKey)
        if let endpoint = peer.endpoint, !sameEndpoint(existing.endpoint, endpoint) {
            update.endpoint = endpoint
        }
        if !sameAllowedIPs(existing.allowedIPs, peer.allowedIPs) {
            update.replaceAllowedIPs = true
            update.allowedIPs = normalized(peer.allowedIPs)
        }
        if (existing.persistentKeepalive ?? 0) != (peer.persistentKeepalive ?? 0) {
            update.persistentKeepalive = peer.persistentKeepalive ?? 0
        }
        return update == WireGuardPeerUpdate(publicKey: peer.publicKey) ? nil : update
    }

    // The device reports canonical text and callers usually pass it too, so plain comparison
    // decides most cases and parsing is only paid when the texts differ.
    private static func sameEndpoint(_ current: String?, _ desired: String) -> Bool {
        guard let current else { return false }
        return current == desired || WireGuardText.normalizedEndpoint(current) == WireGuardText.normalizedEndpoint(desired)
    }

    private static func sameAllowedIPs(_ current: [String], _ desired: [String]) -> Bool {
        if current == desired { return true }
        let currentSet = Set(current)
        if currentSet == Set(desired) { return true }
        return Set(normalized(current)) == Set(normalized(desired))
    }

    /// Canonical CIDRs without repeats, in first-seen order; text that is not a CIDR is kept as-is
    /// so that applying the update reports it.
    private static func normalized(_ cidrs: [String]) -> [String] {
        var seen = Set<String>()
        return cidrs.map { WireGuardText.normalizedCIDR($0) ?? $0 }.filter { seen.insert($0).inserted }
    }

    /// A public key as four words: hashes and compares far faster than 32 separate bytes, which
    /// matters with thousands of peers. Orders like the key's bytes.
    private struct KeyID: Hashable, Comparable {
        let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

        init(_ key: WireGuardKey) {
            (w0, w1, w2, w3) = key.bytes.withUnsafeBytes { raw in
                (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self).bigEndian,
                 raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian,
                 raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).bigEndian,
                 raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self).bigEndian)
            }
        }

        static func < (lhs: KeyID, rhs: KeyID) -> Bool {
            (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
        }
    }

    private struct PlannedUpdate {
        let id: KeyID
        let update: WireGuardPeerUpdate
    }
}
