import Foundation
import PloyzModel

/// The decisions of a node's workload agent, as a pure function: what the store wants on this
/// machine and what runs here in, actions out. The agent only carries the actions out.
enum AgentPlan {
    /// A slot the store assigns to this machine.
    struct Desired: Sendable, Equatable {
        var namespace: String
        var service: String
        var slot: Int
        var revision: String
        var template: ContainerTemplate
        var updateOrder: UpdateOrder

        var instanceID: String { WorkloadLabels.instanceID(namespace: namespace, service: service, slot: slot, revision: revision) }
    }

    /// A container of this network found on this machine, from its labels and state.
    struct Running: Sendable, Equatable {
        var id: String
        var namespace: String
        var service: String
        var slot: Int
        var revision: String
        /// created, running, restarting, paused, exited, dead, removing.
        var state: String
        /// healthy, unhealthy, starting, none.
        var health: String

        var isReady: Bool { state == "running" && (health == "healthy" || health == "none") }
        var isStopped: Bool { state == "exited" || state == "dead" || state == "created" }

        func belongs(to desired: Desired) -> Bool {
            namespace == desired.namespace && service == desired.service && slot == desired.slot
        }
    }

    enum Action: Sendable, Equatable {
        /// Make and start a container for the slot.
        case create(Desired)
        /// Start a stopped container again (its restart policy asks for it).
        case start(containerID: String)
        /// Take the container out of service: its instance record goes, traffic stops.
        case withdraw(containerID: String)
        /// Stop and remove a withdrawn container, once its drain time has passed.
        case remove(containerID: String)
    }

    /// What the agent should do now.
    /// - Parameters:
    ///   - readySince: when each ready container's instance record was first published ready.
    ///   - withdrawnAt: when each withdrawn container was taken out of service.
    ///   - settle: how long a new instance is published ready before the old one of its slot is
    ///     withdrawn (the gateway and DNS need that long to see it).
    ///   - drain: how long a withdrawn container keeps running for requests already sent to it.
    static func actions(desired: [Desired], running: [Running], readySince: [String: Date], withdrawnAt: [String: Date],
                        now: Date, settle: TimeInterval, drain: TimeInterval) -> [Action] {
        var actions: [Action] = []
        var claimed = Set<String>()

        func withdraw(_ container: Running) {
            if withdrawnAt[container.id] == nil { actions.append(.withdraw(containerID: container.id)) }
        }

        for slot in desired {
            let mine = running.filter { $0.belongs(to: slot) }
            claimed.formUnion(mine.map(\.id))
            let current = mine.first { $0.revision == slot.revision && withdrawnAt[$0.id] == nil }
            let others = mine.filter { $0.id != current?.id }
            guard let current else {
                // Stop-first: the old instance goes before the new one starts.
                if slot.updateOrder == .stopFirst && !others.isEmpty {
                    others.forEach(withdraw)
                } else {
                    actions.append(.create(slot))
                }
                continue
            }
            if current.isStopped && (slot.template.restart != .no || current.state == "created") {
                actions.append(.start(containerID: current.id))
            }
            if let since = readySince[current.id], now.timeIntervalSince(since) >= settle {
                others.forEach(withdraw)
            }
        }
        for container in running where !claimed.contains(container.id) {
            withdraw(container)
        }
        for container in running {
            if let at = withdrawnAt[container.id], now.timeIntervalSince(at) >= drain {
                actions.append(.remove(containerID: container.id))
            }
        }
        return actions
    }
}
