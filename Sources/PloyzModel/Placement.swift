/// Where a workload's instances run: a pure function of its spec, its current slots and the
/// machines that can run containers now. Every node computes the same answer from the same input,
/// so whichever node writes it (deploy, or the rescheduler after a machine died) agrees with the rest.
public enum Placement {
    /// A machine that may be given instances.
    public struct Machine: Sendable, Equatable {
        public var id: String
        public var name: String
        /// Instances already placed on it (of every workload), for spreading.
        public var load: Int
        /// Instance addresses it can still give (its subnet's usable addresses less those in use).
        public var freeAddresses: Int

        public init(id: String, name: String, load: Int = 0, freeAddresses: Int = 252) {
            self.id = id
            self.name = name
            self.load = load
            self.freeAddresses = freeAddresses
        }
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The slots `spec` should have. Slots already on an eligible machine stay where they are
    /// (with their revision, so a rescale never restarts them); the others go to the eligible
    /// machine with the fewest instances of this workload, then the fewest in all, then by name.
    /// New and moved slots get `revision`.
    public static func slots(for spec: WorkloadSpec, current: [WorkloadSlot], machines: [Machine],
                             revision: String) throws(Failure) -> [WorkloadSlot] {
        let eligible = try eligibleMachines(spec, machines)
        let byID = Dictionary(uniqueKeysWithValues: eligible.map { ($0.id, $0) })
        var own: [String: Int] = [:]
        var load = Dictionary(uniqueKeysWithValues: eligible.map { ($0.id, $0.load) })
        var free = Dictionary(uniqueKeysWithValues: eligible.map { ($0.id, $0.freeAddresses) })
        var result: [WorkloadSlot] = []

        func take(index: Int) throws(Failure) {
            let candidates = eligible.filter { free[$0.id, default: 0] > 0 }
            guard let best = candidates.min(by: { a, b in
                (own[a.id, default: 0], load[a.id, default: 0], a.name) < (own[b.id, default: 0], load[b.id, default: 0], b.name)
            }) else {
                throw Failure("\(spec.namespace)/\(spec.name): no free instance address left on \(eligible.map(\.name).joined(separator: ", ")) for instance \(index + 1)")
            }
            own[best.id, default: 0] += 1
            load[best.id, default: 0] += 1
            free[best.id, default: 0] -= 1
            result.append(WorkloadSlot(index: index, machine: best.id, revision: revision))
        }

        switch spec.mode {
        case .replicated(let count):
            let kept = current.filter { $0.index < count && byID[$0.machine] != nil }
            var keptIndexes = Set<Int>()
            for slot in kept.sorted(by: { $0.index < $1.index }) where keptIndexes.insert(slot.index).inserted {
                own[slot.machine, default: 0] += 1
                result.append(slot)
            }
            for index in 0..<count where !keptIndexes.contains(index) { try take(index: index) }
        case .global:
            var nextIndex = (current.map(\.index).max() ?? -1) + 1
            for machine in eligible {
                if let slot = current.first(where: { $0.machine == machine.id }) {
                    result.append(slot)
                } else {
                    guard free[machine.id, default: 0] > 0 else {
                        throw Failure("\(spec.namespace)/\(spec.name): no free instance address left on \(machine.name)")
                    }
                    result.append(WorkloadSlot(index: nextIndex, machine: machine.id, revision: revision))
                    nextIndex += 1
                }
            }
        }
        return result.sorted { $0.index < $1.index }
    }

    /// The machines the spec's placement allows, or why there are none.
    static func eligibleMachines(_ spec: WorkloadSpec, _ machines: [Machine]) throws(Failure) -> [Machine] {
        let sorted = machines.sorted { $0.name < $1.name }
        let live = sorted.isEmpty ? "none" : sorted.map(\.name).joined(separator: ", ")
        switch spec.placement {
        case .spread:
            guard !sorted.isEmpty else {
                throw Failure("\(spec.namespace)/\(spec.name): no machine can run containers now (machines with Docker running: none)")
            }
            return sorted
        case .machines(let names):
            let missing = names.filter { name in !sorted.contains { $0.name == name } }
            let eligible = sorted.filter { names.contains($0.name) }
            guard !eligible.isEmpty else {
                throw Failure("\(spec.namespace)/\(spec.name): placement names \(missing.joined(separator: ", ")), which cannot run containers now (machines with Docker running: \(live))")
            }
            return eligible
        }
    }
}

extension IPv4CIDR {
    /// Instance addresses of a node subnet: all but the network, broadcast, `.1` (node) and `.2` (DNS).
    public var instanceCapacity: Int { max(0, (1 << (32 - prefixLength)) - 4) }
}
