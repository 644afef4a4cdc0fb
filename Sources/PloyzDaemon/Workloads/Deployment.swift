import Foundation
import Logging
import NATSClient
import PloyzModel
import PloyzStore

/// One `ployzctl deploy`, from the daemon that took it: the services' desired state is written,
/// then this follows their instances until every slot runs the new revision and is ready (printing
/// a line per change), advances stop-first rollouts one slot at a time, and rolls back what it
/// wrote when an instance fails or the deadline passes. It runs in the daemon, so a `ployzctl`
/// that goes away changes nothing; `ployzctl` polls it for its lines.
final class Deployment: @unchecked Sendable {
    /// What one service was before the deploy, for the rollback.
    struct Change: Sendable {
        var spec: WorkloadSpec
        /// Nil for a service the deploy created.
        var previous: WorkloadRecord?
        var previousService: ServiceRecord?
    }

    let id: String
    let changes: [Change]
    private let lock = NSLock()
    private var lines: [String] = []
    private var outcome: Result<Void, ControlError>?

    init(id: String, changes: [Change]) {
        self.id = id
        self.changes = changes
    }

    func say(_ line: String) { lock.withLock { lines.append(line) } }

    func finish(_ result: Result<Void, ControlError>) { lock.withLock { outcome = result } }

    /// Lines from `offset` on, and the outcome once there is one.
    func progress(from offset: Int) -> (lines: [String], outcome: Result<Void, ControlError>?) {
        lock.withLock { (Array(lines.dropFirst(max(0, min(offset, lines.count)))), outcome) }
    }
}

/// Follows a deployment to its end (see `Deployment`).
struct DeploymentFollower {
    let deployment: Deployment
    let store: ClusterStore
    let machineNames: [String: String]
    let logger: Logger

    /// How long a deploy may take: a minute, plus what the slowest healthcheck needs to pass.
    static func deadline(_ specs: [WorkloadSpec]) -> TimeInterval {
        let health = specs.compactMap(\.template.healthcheck).map { $0.startPeriod + $0.interval * Double($0.retries + 1) }.max() ?? 0
        return 60 + health
    }

    func run() async {
        let specs = deployment.changes.map(\.spec)
        let deadline = Date().addingTimeInterval(Self.deadline(specs))
        var seen: [String: String] = [:]
        while Date() < deadline {
            do {
                let instances = try await store.instances()
                var pending = 0
                for change in deployment.changes {
                    let state = try await follow(change.spec, instances: instances, seen: &seen)
                    if let failure = state.failure {
                        await rollBack(because: failure)
                        return
                    }
                    pending += state.pending
                }
                if pending == 0 {
                    for spec in specs {
                        let ready = instances.filter { $0.namespace == spec.namespace && $0.service == spec.name && $0.ready
                            && $0.workload?.revision == spec.template.revision }.count
                        deployment.say("deployed \(spec.namespace)/\(spec.name): \(ready) instance(s) ready, revision \(spec.template.revision)")
                    }
                    deployment.finish(.success(()))
                    return
                }
            } catch {
                logger.debug("deploy follow", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        await rollBack(because: "not every instance was ready within \(Int(Self.deadline(specs)))s")
    }

    private struct FollowState {
        var pending = 0
        var failure: String?
    }

    /// Prints each instance of `spec`'s new revision when its state changes, advances a stop-first
    /// rollout, and says how many slots are not ready yet or why one failed.
    private func follow(_ spec: WorkloadSpec, instances: [InstanceRecord], seen: inout [String: String]) async throws -> FollowState {
        guard let current = try await store.workload(namespace: spec.namespace, name: spec.name) else {
            return FollowState(failure: "\(spec.namespace)/\(spec.name) was removed while it was being deployed")
        }
        let revision = spec.template.revision
        guard current.record.spec.template.revision == revision else {
            return FollowState(failure: "\(spec.namespace)/\(spec.name) was deployed again meanwhile")
        }
        var state = FollowState()
        let mine = instances.filter { $0.namespace == spec.namespace && $0.service == spec.name }
        for slot in current.record.slots {
            guard slot.revision == revision else { state.pending += 1; continue }
            let instance = mine.first { $0.workload?.slot == slot.index && $0.workload?.revision == revision }
            let machine = machineNames[slot.machine] ?? slot.machine
            let label = "\(spec.name).\(slot.index) on \(machine)"
            let line = Self.describe(instance)
            if seen[label] != line {
                seen[label] = line
                deployment.say("\(label): \(line)")
            }
            if let instance, let workload = instance.workload {
                if workload.health == "unhealthy" {
                    state.failure = "\(label) is unhealthy (its healthcheck fails)"
                } else if workload.state == "exited" || workload.state == "dead" {
                    state.failure = "\(label) exited"
                } else if workload.restarts >= 3 {
                    state.failure = "\(label) restarted \(workload.restarts) times"
                }
            }
            if instance?.ready != true { state.pending += 1 }
        }
        // Old instances of this service still published: the rollout is not over.
        let stale = mine.filter { $0.workload != nil && $0.workload?.revision != revision }
        state.pending += stale.count
        if spec.updateOrder == .stopFirst, state.failure == nil {
            try await advanceStopFirst(current, instances: mine)
        }
        return state
    }

    /// Stop-first: one slot at a time moves to the new revision, the next once it is ready.
    private func advanceStopFirst(_ current: ClusterStore.Versioned<WorkloadRecord>, instances: [InstanceRecord]) async throws {
        let record = current.record
        let revision = record.spec.template.revision
        let moved = record.slots.filter { $0.revision == revision }
        let allReady = moved.allSatisfy { slot in
            instances.contains { $0.ready && $0.workload?.slot == slot.index && $0.workload?.revision == revision }
        }
        guard allReady, let next = record.slots.firstIndex(where: { $0.revision != revision }) else { return }
        var updated = record
        updated.slots[next].revision = revision
        updated.updatedAt = Date()
        try await store.saveWorkload(updated.pruned(), revision: current.revision)
    }

    static func describe(_ instance: InstanceRecord?) -> String {
        guard let instance, let workload = instance.workload else { return "creating" }
        if instance.ready { return "ready at \(instance.address)" }
        if workload.state == "running" { return "started at \(instance.address), health \(workload.health)" }
        return workload.state
    }

    /// Puts back what the deploy wrote: a new service is removed, an updated one gets its
    /// previous spec and slots. The agents then stop the new containers.
    private func rollBack(because reason: String) async {
        deployment.say("failed: \(reason); rolling back")
        for change in deployment.changes {
            let spec = change.spec
            do {
                if let previous = change.previous {
                    guard let current = try await store.workload(namespace: spec.namespace, name: spec.name) else { continue }
                    var restored = previous
                    restored.updatedAt = Date()
                    try await store.saveWorkload(restored, revision: current.revision)
                    if let service = change.previousService { try await store.putService(service) }
                } else {
                    try await store.deleteWorkload(namespace: spec.namespace, name: spec.name)
                    try await store.deleteService(namespace: spec.namespace, name: spec.name)
                }
                deployment.say("rolled back \(spec.namespace)/\(spec.name)")
            } catch {
                deployment.say("rollback of \(spec.namespace)/\(spec.name) failed: \(error)")
            }
        }
        deployment.finish(.failure(ControlError(.failed, "deploy failed: \(reason); rolled back")))
    }
}
