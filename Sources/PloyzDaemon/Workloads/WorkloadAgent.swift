import Foundation
import Logging
import NATSClient
import PloyzModel
import PloyzRuntime
import PloyzStore

/// Runs this machine's share of the cluster's workloads: every second it reads the desired state
/// (`workloads`) and the containers of this network on the local engine, carries out
/// `AgentPlan.actions`, and publishes one instance record per container (address, readiness from
/// Docker's healthcheck). It also beats this machine's heartbeat and, on the machine with the
/// lowest id among the live ones, moves the slots of machines that died (`Rescheduler`).
///
/// Containers outlive the agent (Docker runs them); a new agent adopts them by their labels and
/// leaves healthy ones alone.
actor WorkloadAgent {
    struct Node: Sendable {
        var network: String
        var machineID: String
        var machineName: String
        var subnet: IPv4CIDR
    }

    static let settle: TimeInterval = 2
    static let drain: TimeInterval = 2
    static let heartbeatEvery: TimeInterval = 5

    let node: Node
    let store: ClusterStore
    let runtime: any ContainerRuntime
    let logger: Logger

    private var loop: Task<Void, Never>?
    private var readySince: [String: Date] = [:]
    private var withdrawnAt: [String: Date] = [:]
    /// Containers and slots with an operation in flight (create, start, remove), never doubled.
    private var busy = Set<String>()
    /// The instance records this agent last wrote, by instance id.
    private var published: [String: InstanceRecord] = [:]
    private var lastHeartbeat = Date.distantPast
    /// The instance ids of the last sweep for stale records (nil: none yet).
    private var sweptFor: Set<String>?
    private var networkReady = false
    private(set) var runtimeProblem: String?
    private let startedAt = Date()
    private var lastProblemLogged: String?

    init(node: Node, store: ClusterStore, runtime: any ContainerRuntime, logger: Logger) {
        self.node = node
        self.store = store
        self.runtime = runtime
        self.logger = logger
    }

    /// Rounds run every second, and at once when the desired state changes or a container of
    /// this network starts, dies or changes health: a deploy does not wait for the next tick.
    func start() {
        guard loop == nil else { return }
        loop = Task { [weak self] in
            while !Task.isCancelled {
                await self?.round()
                await self?.nap()
            }
        }
        watchers = [
            Task { [weak self, store] in
                while !Task.isCancelled {
                    guard let bucket = try? await store.bucket(.workloads) else { try? await Task.sleep(for: .seconds(1)); continue }
                    let watcher = bucket.watch()
                    await withTaskCancellationHandler {
                        do {
                            for try await _ in watcher { await self?.wake() }
                        } catch {}
                    } onCancel: {
                        watcher.stop()
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            },
            Task { [weak self, runtime, networkLabels] in
                while !Task.isCancelled {
                    do {
                        for try await _ in runtime.events(labels: networkLabels) { await self?.wake() }
                    } catch {}
                    try? await Task.sleep(for: .seconds(1))
                }
            },
        ]
    }

    func stop() {
        loop?.cancel()
        loop = nil
        watchers.forEach { $0.cancel() }
        watchers = []
        wake()
    }

    // MARK: Waking

    private var watchers: [Task<Void, Never>] = []
    private var napping: CheckedContinuation<Void, Never>?
    private var woken = false
    private var napNumber = 0

    /// Waits a second, or less when `wake()` comes first.
    private func nap() async {
        if woken {
            woken = false
            return
        }
        napNumber += 1
        let number = napNumber
        await withCheckedContinuation { continuation in
            napping = continuation
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(1))
                await self?.endNap(number)
            }
        }
    }

    private func endNap(_ number: Int) {
        guard number == napNumber, let continuation = napping else { return }
        napping = nil
        continuation.resume()
    }

    func wake() {
        if let continuation = napping {
            napping = nil
            continuation.resume()
        } else {
            woken = true
        }
    }

    /// The labels that select this network's containers on the engine.
    var networkLabels: [String: String] { [WorkloadLabels.network: node.network] }

    /// The Docker network workloads of this machine attach to: the node's subnet on the bridge the
    /// daemon made (`ployz0`), `.1` the node, `.2` its DNS, `.3`-`.254` instances.
    var networkSpec: NetworkSpec {
        NetworkSpec(name: "ployz-\(node.network)", subnet: node.subnet.description, gateway: node.subnet.nodeAddress.description,
                    reservedAddresses: ["dns": node.subnet.dnsAddress.description], mtu: 1420, bridgeName: ServiceSidecars.bridge,
                    labels: networkLabels)
    }

    // MARK: One round

    func round() async {
        let runtimeVersion = await checkRuntime()
        await beat(runtime: runtimeVersion)
        guard runtimeVersion != nil else { return }
        let records: [WorkloadRecord]
        let running: [ContainerInfo]
        do {
            records = try await store.workloads()
            running = try await runtime.listContainers(labels: networkLabels)
        } catch {
            logProblem("workload round: \(error)")
            return
        }
        await Rescheduler(store: store, ownID: node.machineID, logger: logger).run(records: records, agentAge: Date().timeIntervalSince(startedAt))
        let desired = Self.desiredSlots(records, machine: node.machineID)
        let containers = running.compactMap(Self.running)
        let now = Date()
        for container in containers where container.isReady && readySince[container.id] == nil && withdrawnAt[container.id] == nil {
            // Counted from the round that publishes it ready.
            readySince[container.id] = now
        }
        let actions = AgentPlan.actions(desired: desired, running: containers, readySince: readySince, withdrawnAt: withdrawnAt,
                                        now: now, settle: Self.settle, drain: Self.drain)
        for action in actions { await carryOut(action, containers: running) }
        await publishInstances(running.filter { withdrawnAt[$0.id] == nil })
        forgetGone(running)
    }

    /// The engine's name, or nil with `runtimeProblem` set when it does not answer.
    private func checkRuntime() async -> String? {
        do {
            try await runtime.ping()
            if !networkReady {
                try await runtime.ensureNetwork(networkSpec)
                networkReady = true
                logger.info("workload network ready", metadata: ["network": "\(networkSpec.name)", "subnet": "\(node.subnet)"])
            }
            runtimeProblem = nil
            lastProblemLogged = nil
            return "docker"
        } catch {
            networkReady = false
            runtimeProblem = "\(error)"
            logProblem("container runtime: \(error)")
            return nil
        }
    }

    private func beat(runtime version: String?) async {
        guard Date().timeIntervalSince(lastHeartbeat) >= Self.heartbeatEvery else { return }
        let heartbeat = MachineHeartbeat(machine: node.machineID, runtime: version, runtimeProblem: version == nil ? runtimeProblem : nil)
        do {
            try await store.putHeartbeat(heartbeat)
            lastHeartbeat = Date()
        } catch {
            logProblem("heartbeat: \(error)")
        }
    }

    private func logProblem(_ message: String) {
        guard message != lastProblemLogged else { return }
        lastProblemLogged = message
        logger.warning("workloads", metadata: ["problem": "\(message)"])
    }

    // MARK: Actions

    private func carryOut(_ action: AgentPlan.Action, containers: [ContainerInfo]) async {
        switch action {
        case .create(let slot):
            guard busy.insert(slot.instanceID).inserted else { return }
            Task { await self.create(slot); await self.done(slot.instanceID); await self.wake() }
        case .start(let id):
            guard busy.insert(id).inserted else { return }
            Task {
                do { try await self.runtime.startContainer(id: id) } catch {
                    await self.logProblem("start \(id.prefix(12)): \(error)")
                }
                await self.done(id)
            }
        case .withdraw(let id):
            withdrawnAt[id] = Date()
            readySince[id] = nil
            if let container = containers.first(where: { $0.id == id }), let instance = container.labels[WorkloadLabels.instance] {
                await unpublish(instance)
                logger.info("instance withdrawn", metadata: ["instance": "\(instance)", "container": "\(id.prefix(12))"])
            }
        case .remove(let id):
            guard busy.insert(id).inserted else { return }
            let grace = containers.first { $0.id == id }.map(Self.stopGrace) ?? 10
            Task {
                do {
                    try await self.runtime.stopContainer(id: id, grace: grace)
                    try await self.runtime.removeContainer(id: id, force: true)
                } catch {
                    await self.logProblem("remove \(id.prefix(12)): \(error)")
                }
                await self.done(id)
            }
        }
    }

    private func done(_ key: String) { busy.remove(key) }

    private func create(_ slot: AgentPlan.Desired) async {
        let name = WorkloadLabels.containerName(network: node.network, instanceID: slot.instanceID)
        let labels = [
            WorkloadLabels.network: node.network, WorkloadLabels.namespace: slot.namespace, WorkloadLabels.service: slot.service,
            WorkloadLabels.slot: String(slot.slot), WorkloadLabels.revision: slot.revision, WorkloadLabels.instance: slot.instanceID,
            WorkloadLabels.stopGrace: String(slot.template.stopGracePeriod),
        ]
        do {
            try await ensureImage(slot.template.image)
            let spec = ContainerCreateSpec(name: name, template: slot.template, labels: labels, network: networkSpec.name,
                                           dnsServers: [node.subnet.dnsAddress.description])
            let id = try await runtime.createContainer(spec)
            try await runtime.startContainer(id: id)
            logger.info("instance started", metadata: ["instance": "\(slot.instanceID)", "container": "\(id.prefix(12))"])
        } catch {
            logProblem("create \(slot.instanceID): \(error)")
        }
    }

    /// Pulls the image when this engine does not have it.
    func ensureImage(_ image: String) async throws {
        guard try await !runtime.imageExists(image) else { return }
        logger.info("pulling image", metadata: ["image": "\(image)"])
        let logger = self.logger
        do {
            try await runtime.pullImage(image) { line in logger.debug("pull", metadata: ["image": "\(image)", "progress": "\(line)"]) }
        } catch let error as RuntimeError {
            if case .unavailable = error { throw error }
            throw ControlError(.usage, "image \(image) is not on \(node.machineName) and cannot be pulled: \(error)")
        }
    }

    // MARK: Instance records

    private func publishInstances(_ containers: [ContainerInfo]) async {
        var current: [String: InstanceRecord] = [:]
        for container in containers {
            let previous = container.labels[WorkloadLabels.instance].flatMap { published[$0]?.address }
            guard let record = Self.instanceRecord(container, machine: node.machineID, lastAddress: previous) else { continue }
            current[record.id] = record
        }
        for (id, record) in current where published[id] != record {
            do {
                try await store.putInstance(record)
                published[id] = record
            } catch {
                logProblem("publish \(id): \(error)")
            }
        }
        // Records of this machine's instances whose container is gone (removed, or lost while the
        // daemon was away) are deleted; hand-published records (no workload) are left alone. The
        // store is read for that only when the set of containers changed, not every round.
        let ids = Set(current.keys)
        guard ids != sweptFor, let stored = try? await store.instances(onMachine: node.machineID) else { return }
        for record in stored where record.workload != nil && current[record.id] == nil {
            await unpublish(record.id)
        }
        sweptFor = ids
    }

    private func unpublish(_ id: String) async {
        do {
            try await store.deleteInstance(id: id)
            published[id] = nil
        } catch {
            logProblem("unpublish \(id): \(error)")
        }
    }

    private func forgetGone(_ running: [ContainerInfo]) {
        let ids = Set(running.map(\.id))
        readySince = readySince.filter { ids.contains($0.key) }
        withdrawnAt = withdrawnAt.filter { ids.contains($0.key) }
    }

    /// Removes every container of this network on this machine (for `mesh stop --force`), with
    /// their records first. The agent must be stopped, or it would start them again.
    func removeAll() async -> [String] {
        guard let running = try? await runtime.listContainers(labels: networkLabels) else { return [] }
        var removed: [String] = []
        for container in running {
            if let instance = container.labels[WorkloadLabels.instance] { await unpublish(instance) }
            do {
                try await runtime.stopContainer(id: container.id, grace: Self.stopGrace(container))
                try await runtime.removeContainer(id: container.id, force: true)
                removed.append(container.labels[WorkloadLabels.instance] ?? container.name)
            } catch {
                logger.warning("remove container", metadata: ["container": "\(container.id.prefix(12))", "error": "\(error)"])
            }
        }
        return removed
    }

    // MARK: Pure mapping

    /// The slots of every workload assigned to `machine`, with their templates.
    static func desiredSlots(_ records: [WorkloadRecord], machine: String) -> [AgentPlan.Desired] {
        records.flatMap { record in
            record.slots.filter { $0.machine == machine }.compactMap { slot in
                guard let template = record.templates[slot.revision] else { return nil }
                return AgentPlan.Desired(namespace: record.spec.namespace, service: record.spec.name, slot: slot.index,
                                         revision: slot.revision, template: template, updateOrder: record.spec.updateOrder)
            }
        }
    }

    /// A container as the plan sees it, or nil when its labels are not Ployz's.
    static func running(_ info: ContainerInfo) -> AgentPlan.Running? {
        let labels = info.labels
        guard let namespace = labels[WorkloadLabels.namespace], let service = labels[WorkloadLabels.service],
              let slot = labels[WorkloadLabels.slot].flatMap(Int.init), let revision = labels[WorkloadLabels.revision] else { return nil }
        return AgentPlan.Running(id: info.id, namespace: namespace, service: service, slot: slot, revision: revision,
                                 state: info.state.rawValue, health: info.health.rawValue)
    }

    /// The record of a container; a stopped container has no address, so it keeps `lastAddress`.
    /// Seconds a container gets between SIGTERM and SIGKILL: its service's stop_grace_period, kept
    /// in a label so that a container whose service is gone still gets it.
    static func stopGrace(_ info: ContainerInfo) -> Double {
        info.labels[WorkloadLabels.stopGrace].flatMap(Double.init) ?? 10
    }

    static func instanceRecord(_ info: ContainerInfo, machine: String, lastAddress: String? = nil) -> InstanceRecord? {
        guard let plan = running(info), let id = info.labels[WorkloadLabels.instance],
              let address = info.ipv4Address ?? lastAddress else { return nil }
        let since = plan.state == "running" ? info.startedAt : info.finishedAt
        return InstanceRecord(id: id, namespace: plan.namespace, service: plan.service, machine: machine, address: address,
                              ready: plan.isReady,
                              workload: WorkloadInstance(slot: plan.slot, revision: plan.revision, container: String(info.id.prefix(12)),
                                                         state: plan.state, health: plan.health, since: since, restarts: info.restartCount))
    }
}
