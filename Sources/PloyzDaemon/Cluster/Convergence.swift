import Foundation
import Logging
import NATSClient
import PloyzModel
import PloyzStore
import WireGuard

/// The node's convergence loop: watches the store's `machines` bucket and applies only the
/// difference to the WireGuard device's peers (routes need no change: the whole `cluster_cidr`
/// and `fd00::/8` are routed through the interface once). Every few seconds it also rotates peers
/// that have not shaken hands on their current endpoint to their next candidate.
actor Convergence {
    /// How often the device's handshakes are checked for endpoint rotation.
    static let rotationInterval: Duration = .seconds(3)

    let store: ClusterStore
    let control: any WireGuardControl
    let ownID: String
    let logger: Logger
    /// Called with the machines after every change (NATS routes, replica count).
    let onMachines: @Sendable ([MachineRecord]) async -> Void
    /// This node's record as last published, and how to read its current endpoint candidates:
    /// when the local addresses change, the record is published again.
    private var own: MachineRecord?
    let endpoints: @Sendable () -> [String]

    private(set) var machines: [String: MachineRecord] = [:]
    /// True once the watch delivered every machine that existed when it started.
    private(set) var synced = false
    private var rotation = EndpointRotation()
    private var tasks: [Task<Void, Never>] = []
    /// While set, nothing is applied (the store is being moved and may read as empty or partial).
    private var suspended = false
    private var watcher: KVWatcher?

    /// Where the machines last seen are kept, so that a restarted node can reach its peers (and
    /// through them the store) before it has read the store again.
    let cachePath: String?

    init(store: ClusterStore, control: any WireGuardControl, ownID: String, logger: Logger, own: MachineRecord? = nil,
         cachePath: String? = nil, endpoints: @escaping @Sendable () -> [String] = { [] },
         onMachines: @escaping @Sendable ([MachineRecord]) async -> Void = { _ in }) {
        self.own = own
        self.cachePath = cachePath
        self.endpoints = endpoints
        self.store = store
        self.control = control
        self.ownID = ownID
        self.logger = logger
        self.onMachines = onMachines
    }

    /// Starts the watch and the rotation ticker; both run until `stop()`.
    func start() {
        guard tasks.isEmpty else { return }
        tasks.append(Task { await self.watchLoop() })
        tasks.append(Task { await self.rotationLoop() })
    }

    /// Holds (or releases) every change to the device, e.g. while the store is moved into the
    /// NATS cluster: a store that reads empty for a moment must not remove the node's peers.
    func setSuspended(_ value: Bool) { suspended = value }

    func stop() {
        for task in tasks { task.cancel() }
        tasks = []
        watcher?.stop()
        watcher = nil
    }

    /// Waits (bounded) until the initial machines were read and applied; returns how many peers
    /// the node has then.
    func waitUntilSynced(timeout: Duration) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if synced { return peerMachines.count }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return synced ? peerMachines.count : nil
    }

    /// The other machines that are peers (pending or active).
    var peerMachines: [MachineRecord] {
        machines.values.filter { $0.id != ownID && ($0.lifecycle == .active || $0.lifecycle == .pending) }
    }

    private func watchLoop() async {
        while !Task.isCancelled {
            do {
                let kv = try await store.bucket(.machines)
                let watch = kv.watch()
                watcher = watch
                var initial = true
                var seen: [String: MachineRecord] = [:]
                for try await event in watch {
                    if Task.isCancelled { break }
                    switch event {
                    case .entry(let entry):
                        let record: MachineRecord? = entry.operation == .put
                            ? try? JSONDecoder.ployz.decode(MachineRecord.self, from: Data(entry.value.readableBytesView)) : nil
                        if initial {
                            seen[entry.key] = record
                        } else {
                            machines[entry.key] = record
                            await apply()
                        }
                    case .initialValuesDone:
                        guard initial else { continue }
                        // A view without this node's own record is incomplete: the consumer
                        // sits on a replica still catching up, or the store is being moved.
                        // Look again shortly instead of acting on it.
                        if !seen.keys.contains(ownID) {
                            logger.debug("machines view lacks this machine; reading again")
                            throw ConvergenceRetry()
                        }
                        initial = false
                        machines = seen
                        await apply()
                        synced = true
                    }
                }
            } catch is ConvergenceRetry {
                watcher?.stop()
                try? await Task.sleep(for: .milliseconds(250))
                continue
            } catch {
                if Task.isCancelled { break }
                logger.warning("machines watch failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func rotationLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.rotationInterval)
            guard synced, !Task.isCancelled else { continue }
            await readvertise()
            guard let state = try? await control.get() else { continue }
            var handshakes: [WireGuardKey: Date?] = [:]
            for peer in state.peers { handshakes[peer.publicKey] = .some(peer.lastHandshake) }
            let moved = rotation.rotate(machines: peerMachines, handshakes: handshakes, now: Date())
            if !moved.isEmpty {
                logger.info("rotating peer endpoints", metadata: ["machines": "\(moved.joined(separator: ","))"])
                await apply()
            }
        }
    }

    /// Publishes this node's record again when its endpoint candidates changed.
    private func readvertise() async {
        guard var record = own else { return }
        let current = endpoints()
        guard current != record.endpoints else { return }
        record.endpoints = current
        record.updatedAt = Date().roundedToMilliseconds
        do {
            try await store.putMachine(record)
            own = record
            logger.info("local addresses changed; endpoints re-advertised", metadata: ["endpoints": "\(current.joined(separator: ","))"])
        } catch {
            logger.warning("cannot re-advertise endpoints", metadata: ["error": "\(error)"])
        }
    }

    /// Computes the desired peers and applies only the difference.
    func apply() async {
        let all = Array(machines.values)
        // A store without this node's own record is not the store this node joined (a moved
        // store before its import, a wiped one): acting on it would drop every peer.
        guard !suspended, all.contains(where: { $0.id == ownID }) else {
            if !suspended { logger.warning("the store has no record of this machine; peers left as they are") }
            return
        }
        do {
            let state = try await control.get()
            var desired = PeerSet.desired(machines: all, ownID: ownID, ownKey: state.publicKey, endpointIndex: rotation.index)
            // A peer with a recent handshake keeps the endpoint the device has (WireGuard follows
            // a roaming peer); only peers without one are pointed at their chosen candidate.
            let now = Date()
            let fresh = Set(state.peers.filter { peer in
                peer.lastHandshake.map { now.timeIntervalSince($0) < rotation.staleAfter } ?? false
            }.map(\.publicKey))
            for index in desired.indices where fresh.contains(desired[index].publicKey) { desired[index].endpoint = nil }
            let update = PeerPlan.diff(current: state.peers, desired: desired)
            if !update.isEmpty {
                try await control.set(update)
                logger.info("peers converged", metadata: ["peers": "\(desired.count)", "update": "\(update)"])
            }
        } catch {
            logger.warning("cannot apply peers", metadata: ["error": "\(error)"])
        }
        if let cachePath { try? Self.writeCache(all, to: cachePath) }
        await onMachines(all)
    }
}

/// The machines view was incomplete; the watch starts over.
private struct ConvergenceRetry: Error {}

extension Convergence {
    /// The machines of the cache file; empty when there is none.
    static func cachedMachines(_ cachePath: String) -> [MachineRecord] {
        guard let data = FileManager.default.contents(atPath: cachePath) else { return [] }
        return (try? JSONDecoder.ployz.decode([MachineRecord].self, from: data)) ?? []
    }

    /// Writes the cache file (machines sorted by id).
    static func writeCache(_ machines: [MachineRecord], to cachePath: String) throws {
        try AtomicFile.write(try JSONEncoder.ployz.encode(machines.sorted { $0.id < $1.id }), to: cachePath, mode: 0o600)
    }

    /// Points the device at the machines of the cache file (when there is one): used at start,
    /// before the store is reachable. Only adds or updates peers; the loop removes stale ones later.
    static func applyCached(_ cachePath: String, ownID: String, control: any WireGuardControl) async throws {
        let machines = cachedMachines(cachePath)
        guard !machines.isEmpty else { return }
        let state = try await control.get()
        let desired = PeerSet.desired(machines: machines, ownID: ownID, ownKey: state.publicKey)
        let known = Set(state.peers.map(\.publicKey))
        var update = PeerPlan.diff(current: state.peers, desired: desired)
        update.peers.removeAll { $0.remove && known.contains($0.publicKey) }
        if !update.isEmpty { try await control.set(update) }
    }
}
