import Foundation
import PloyzModel
import WireGuard

/// The WireGuard peers a node wants, computed from the machines in the store. Pure.
enum PeerSet {
    /// Seconds between keepalives, so NAT mappings and stale endpoints are noticed.
    static let persistentKeepalive = 25

    /// Every other machine that is pending or active becomes a peer: allowed IPs are its subnet and
    /// its overlay /128; its endpoint is the candidate `endpointIndex` picks (the first by default).
    /// Stopped machines, and machines without a usable key, are left out (so they get removed).
    static func desired(machines: [MachineRecord], ownID: String, ownKey: WireGuardKey? = nil,
                        endpointIndex: [String: Int] = [:]) -> [WireGuardPeer] {
        machines
            .filter { $0.id != ownID && $0.publicKey != ownKey && ($0.lifecycle == .active || $0.lifecycle == .pending) }
            .sorted { $0.id < $1.id }
            .map { machine in
                WireGuardPeer(publicKey: machine.publicKey,
                              endpoint: endpoint(of: machine, index: endpointIndex[machine.id] ?? 0),
                              allowedIPs: [machine.subnet.description, "\(machine.overlayIPv6)/128"],
                              persistentKeepalive: persistentKeepalive)
            }
    }

    /// The candidate at `index`, wrapping around; nil when the machine advertises none.
    static func endpoint(of machine: MachineRecord, index: Int) -> String? {
        guard !machine.endpoints.isEmpty else { return nil }
        return machine.endpoints[((index % machine.endpoints.count) + machine.endpoints.count) % machine.endpoints.count]
    }
}

/// Which candidate endpoint each peer is tried on, and when to move to the next one: a peer whose
/// endpoint was set `patience` ago without a handshake since (or whose last handshake is older
/// than `staleAfter`, past WireGuard's rekey window) moves on. Pure value; time is passed in.
struct EndpointRotation: Sendable {
    var patience: TimeInterval = 15
    var staleAfter: TimeInterval = 180
    private(set) var index: [String: Int] = [:]
    private var since: [String: Date] = [:]

    init(patience: TimeInterval = 15, staleAfter: TimeInterval = 180) {
        self.patience = patience
        self.staleAfter = staleAfter
    }

    /// Advances peers that have not shaken hands on their current candidate; returns the machine
    /// ids that moved. `handshakes` maps a public key to its last handshake (nil: never).
    mutating func rotate(machines: [MachineRecord], handshakes: [WireGuardKey: Date?], now: Date) -> [String] {
        var moved: [String] = []
        let known = Set(machines.map(\.id))
        index = index.filter { known.contains($0.key) }
        since = since.filter { known.contains($0.key) }
        for machine in machines where machine.endpoints.count > 1 {
            let started = since[machine.id] ?? now
            if since[machine.id] == nil { since[machine.id] = now }
            guard let entry = handshakes[machine.publicKey] else { continue }
            let fresh: Bool
            if let last = entry { fresh = now.timeIntervalSince(last) < staleAfter } else { fresh = false }
            if !fresh && now.timeIntervalSince(started) >= patience {
                index[machine.id] = ((index[machine.id] ?? 0) + 1) % machine.endpoints.count
                since[machine.id] = now
                moved.append(machine.id)
            }
        }
        return moved
    }
}
