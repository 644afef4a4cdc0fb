import Foundation
import Logging
import NATSClient
import PloyzModel
import PloyzStore

/// Moves the slots of machines that died, left, or lost their container engine to live ones, and
/// gives global workloads a slot on machines that joined. One machine does it: the live one with
/// the lowest id; every node computes the same placement, and the write is a compare-and-set, so
/// a second writer in a changing membership only fails and reads again.
struct Rescheduler {
    /// A new agent waits this long before judging others: heartbeats expire after 15 s, so a
    /// cluster that restarts together must not take its members for dead before they beat again.
    static let patience: TimeInterval = 20

    let store: ClusterStore
    let ownID: String
    let logger: Logger

    func run(records: [WorkloadRecord], agentAge: TimeInterval) async {
        guard agentAge >= Self.patience, !records.isEmpty else { return }
        do {
            async let heartbeats = store.heartbeats()
            async let machines = store.machines()
            let (beats, members) = try await (heartbeats, machines)
            guard beats.keys.min() == ownID else { return }
            let candidates = Self.candidates(members: members, heartbeats: beats, records: records)
            for record in records {
                guard let moved = Self.rescheduled(record, candidates: candidates), moved != record.slots else { continue }
                guard let current = try await store.workload(namespace: record.spec.namespace, name: record.spec.name),
                      current.record.slots == record.slots else { continue }
                var updated = current.record
                updated.slots = moved
                updated.updatedAt = Date()
                try await store.saveWorkload(updated.pruned(), revision: current.revision)
                logger.info("workload rescheduled", metadata: ["service": "\(record.key)",
                                                               "machines": "\(moved.map(\.machine).joined(separator: ","))"])
            }
        } catch NATSError.wrongLastRevision {
            return
        } catch {
            logger.debug("reschedule", metadata: ["error": "\(error)"])
        }
    }

    /// The machines that can take instances now: active, beating, with a container engine.
    static func candidates(members: [MachineRecord], heartbeats: [String: MachineHeartbeat], records: [WorkloadRecord]) -> [Placement.Machine] {
        var load: [String: Int] = [:]
        for record in records { for slot in record.slots { load[slot.machine, default: 0] += 1 } }
        return members.filter { $0.lifecycle == .active && heartbeats[$0.id]?.runtime != nil }.map { machine in
            Placement.Machine(id: machine.id, name: machine.name, load: load[machine.id, default: 0],
                              freeAddresses: machine.subnet.instanceCapacity - load[machine.id, default: 0])
        }
    }

    /// The slots `record` should have with these candidates, or nil when none can be placed
    /// (then its slots stay where they are, and their instances come back with their machine).
    static func rescheduled(_ record: WorkloadRecord, candidates: [Placement.Machine]) -> [WorkloadSlot]? {
        try? Placement.slots(for: record.spec, current: record.slots, machines: candidates, revision: record.spec.template.revision)
    }
}
