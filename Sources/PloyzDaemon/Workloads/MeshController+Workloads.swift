import Foundation
import NATSClient
import PloyzModel
import PloyzRuntime
import PloyzStore

extension MeshController {
    // MARK: Agent lifecycle

    /// Starts this machine's workload agent and its node-command server on the running network.
    func startWorkloads(record: NetworkRecord) async {
        await releaseWorkloads()
        guard let store else { return }
        let runtime = DockerEngine(socketPath: config.dockerSocket, logger: logger)
        workloadRuntime = runtime
        let node = WorkloadAgent.Node(network: record.name, machineID: record.machineID, machineName: record.machineName, subnet: record.subnet)
        let agent = WorkloadAgent(node: node, store: store.store, runtime: runtime, logger: logger)
        workloadAgent = agent
        await agent.start()
        let server = NodeCommandServer(connection: store.store.connection, machineID: record.machineID, agent: agent,
                                       runtime: runtime, logger: logger)
        nodeCommands = Task { await server.serve() }
    }

    func stopWorkloads() async {
        nodeCommands?.cancel()
        nodeCommands = nil
        await workloadAgent?.stop()
    }

    /// Drops the agent and its engine client (which must be shut down before it goes).
    func releaseWorkloads() async {
        await stopWorkloads()
        workloadAgent = nil
        try? await workloadRuntime?.shutdown()
        workloadRuntime = nil
    }

    // MARK: Deploy

    /// Checks the services, places their instances, makes sure every machine that gets one has
    /// its image, writes the desired state, and follows it in the background. Nothing is written
    /// when any check fails.
    public func deploy(_ specs: [WorkloadSpec]) async throws -> (id: String, lines: [String]) {
        let registry = try registry()
        let store = registry.store
        guard !specs.isEmpty else { throw ControlError(.usage, "the deploy names no service") }
        for spec in specs {
            if let problem = RecordValidation.problem(with: spec.serviceRecord) { throw ControlError(.usage, "\(spec.namespace)/\(spec.name): \(problem)") }
        }
        let keys = specs.map(\.key)
        if let duplicate = keys.first(where: { key in keys.filter { $0 == key }.count > 1 }) {
            throw ControlError(.usage, "service \(duplicate) appears twice in the deploy")
        }
        async let servicesRead = store.services()
        async let workloadsRead = store.workloads()
        async let machinesRead = store.machines()
        async let heartbeatsRead = store.heartbeats()
        let (services, workloads, machines, heartbeats) = try await (servicesRead, workloadsRead, machinesRead, heartbeatsRead)
        for spec in specs {
            if let conflict = spec.routeConflict(with: services) { throw ControlError(.conflict, conflict) }
            if case .machines(let names) = spec.placement {
                let unknown = names.filter { name in !machines.contains { $0.name == name } }
                if !unknown.isEmpty {
                    throw ControlError(.usage, "\(spec.namespace)/\(spec.name): x-ployz.placement names \(unknown.joined(separator: ", ")), not a machine of this mesh (machines: \(machines.map(\.name).joined(separator: ", ")))")
                }
            }
        }
        var candidates = Rescheduler.candidates(members: machines, heartbeats: heartbeats, records: workloads)
        if candidates.isEmpty {
            let problems = machines.filter { $0.lifecycle == .active }.map { machine in
                "\(machine.name): \(heartbeats[machine.id]?.runtimeProblem ?? "no heartbeat")"
            }
            throw ControlError(.usage, "no machine can run containers now (\(problems.joined(separator: "; ")))")
        }
        var records: [(WorkloadRecord, ClusterStore.Versioned<WorkloadRecord>?)] = []
        for spec in specs {
            let existing = workloads.first { $0.key == spec.key }
            let revision = spec.template.revision
            var slots: [WorkloadSlot]
            do {
                slots = try Placement.slots(for: spec, current: existing?.slots ?? [], machines: candidates, revision: revision)
            } catch {
                throw ControlError(.usage, error.description)
            }
            // Start-first rolls every slot at once (each keeps its old instance until the new is
            // ready); stop-first moves one slot at a time (`DeploymentFollower`).
            if spec.updateOrder == .startFirst || existing == nil {
                slots = slots.map { WorkloadSlot(index: $0.index, machine: $0.machine, revision: revision) }
            } else if !slots.contains(where: { $0.revision == revision }), !slots.isEmpty {
                slots[0].revision = revision
            }
            // Later specs of this deploy see these slots as load.
            for slot in slots {
                if let index = candidates.firstIndex(where: { $0.id == slot.machine }) {
                    candidates[index].load += 1
                    candidates[index].freeAddresses -= 1
                }
            }
            var templates = existing?.templates ?? [:]
            templates[revision] = spec.template
            let record = WorkloadRecord(spec: spec, templates: templates, slots: slots).pruned()
            records.append((record, try await store.workload(namespace: spec.namespace, name: spec.name)))
        }
        try await prepareImages(records.map(\.0))
        let names = Dictionary(machines.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var changes: [Deployment.Change] = []
        var lines: [String] = []
        for (record, existing) in records {
            let previousService = services.first { $0.key == record.key }
            do {
                try await store.saveWorkload(record, revision: existing?.revision)
            } catch NATSError.wrongLastRevision, NATSError.keyExists {
                throw ControlError(.conflict, "\(record.key) changed while deploying it; deploy again")
            }
            try await store.putService(record.spec.serviceRecord)
            changes.append(Deployment.Change(spec: record.spec, previous: existing?.record, previousService: previousService))
            let placed = record.slots.map { names[$0.machine] ?? $0.machine }.joined(separator: ", ")
            let verb = existing == nil ? "creating" : (existing?.record.spec == record.spec ? "unchanged" : "updating")
            lines.append("\(verb) \(record.spec.namespace)/\(record.spec.name) (revision \(record.spec.template.revision)): \(record.slots.count) instance(s) on \(placed.isEmpty ? "no machine" : placed)")
        }
        let deployment = Deployment(id: UUID().uuidString.lowercased(), changes: changes)
        lines.forEach(deployment.say)
        deployments[deployment.id] = deployment
        let follower = DeploymentFollower(deployment: deployment, store: store, machineNames: names, logger: logger)
        Task { await follower.run() }
        return (deployment.id, lines)
    }

    /// Lines of a deployment from `offset`, and its outcome once it has one.
    public func deployProgress(id: String, offset: Int) throws -> (lines: [String], done: Bool, error: ControlError?) {
        guard let deployment = deployments[id] else { throw ControlError(.notFound, "no deployment \(id) on this daemon") }
        let (lines, outcome) = deployment.progress(from: offset)
        switch outcome {
        case nil: return (lines, false, nil)
        case .success?: return (lines, true, nil)
        case .failure(let error)?: return (lines, true, error)
        }
    }

    /// Asks every machine that will run a new instance to have its image (pulling it when
    /// missing), so a deploy of an image that does not exist writes nothing.
    private func prepareImages(_ records: [WorkloadRecord]) async throws {
        guard let store else { return }
        var images: [String: Set<String>] = [:]
        for record in records {
            for slot in record.slots {
                if let template = record.templates[slot.revision] { images[slot.machine, default: []].insert(template.image) }
            }
        }
        let client = NodeCommandClient(connection: store.store.connection)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (machine, wanted) in images {
                group.addTask {
                    _ = try await client.call(NodeCommand.prepare, machine: machine, NodeCommand.PrepareRequest(images: wanted.sorted()),
                                              returning: NodeCommand.Done.self, timeout: .seconds(300))
                }
            }
            try await group.waitForAll()
        }
    }

    // MARK: Service views

    public func serviceSummaries() async throws -> [ServiceSummary] {
        let store = try registry().store
        async let services = store.services()
        async let workloads = store.workloads()
        async let instances = store.instances()
        let (allServices, allWorkloads, allInstances) = try await (services, workloads, instances)
        return allServices.map { service in
            Self.summary(service, workload: allWorkloads.first { $0.key == service.key }, instances: allInstances)
        }
    }

    public func serviceStatus(namespace: String, name: String) async throws -> ServiceStatus {
        let store = try registry().store
        guard let service = try await store.get(ServiceRecord.self, in: .services, key: StoreKeys.service(namespace: namespace, name: name))?.record else {
            throw ControlError(.notFound, "service \(namespace)/\(name) does not exist (see `ployzctl service ls`)")
        }
        async let workload = store.workload(namespace: namespace, name: name)
        async let instances = store.instances()
        async let machines = store.machines()
        let (record, all, members) = try await (workload, instances, machines)
        let names = Dictionary(members.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let mine = all.filter { $0.namespace == namespace && $0.service == name }
        return ServiceStatus(summary: Self.summary(service, workload: record?.record, instances: all), instances: mine.map { instance in
            InstanceStatus(id: instance.id, slot: instance.workload?.slot, machine: names[instance.machine] ?? instance.machine,
                           address: instance.address, container: instance.workload?.container, revision: instance.workload?.revision,
                           state: instance.workload?.state ?? "external", health: instance.workload?.health ?? (instance.ready ? "ready" : "not ready"),
                           ready: instance.ready, since: instance.workload?.since, restarts: instance.workload?.restarts)
        }.sorted { ($0.slot ?? Int.max, $0.id) < ($1.slot ?? Int.max, $1.id) })
    }

    static func summary(_ service: ServiceRecord, workload: WorkloadRecord?, instances: [InstanceRecord]) -> ServiceSummary {
        let mine = instances.filter { $0.namespace == service.namespace && $0.service == service.name }
        let routes = service.routes.flatMap { route in route.hostnames.map { "\($0)\(route.pathPrefix == "/" ? "" : route.pathPrefix) -> :\(route.port)" } }
        guard let workload else {
            return ServiceSummary(namespace: service.namespace, name: service.name, image: nil, mode: "manual", ports: service.ports, desired: mine.count,
                                  ready: mine.filter(\.ready).count, routes: routes, revision: nil)
        }
        let mode: String
        switch workload.spec.mode {
        case .replicated(let count): mode = "\(count) replica\(count == 1 ? "" : "s")"
        case .global: mode = "global"
        }
        let revision = workload.spec.template.revision
        return ServiceSummary(namespace: service.namespace, name: service.name, image: workload.spec.template.image, mode: mode,
                              ports: service.ports, desired: workload.slots.count,
                              ready: mine.filter { $0.ready && $0.workload?.revision == revision }.count, routes: routes, revision: revision)
    }

    /// The logs of every instance of a service, oldest first, asked of the machines that run them.
    public func serviceLogs(namespace: String, name: String, tail: Int?, since: Date?) async throws -> [ServiceLogLine] {
        let status = try await serviceStatus(namespace: namespace, name: name)
        guard let store else { return [] }
        let instances = try await store.store.instances().filter { $0.namespace == namespace && $0.service == name && $0.workload != nil }
        let client = NodeCommandClient(connection: store.store.connection)
        let byMachine = Dictionary(grouping: instances, by: \.machine)
        let names = Dictionary(status.instances.map { ($0.id, $0.machine) }, uniquingKeysWith: { a, _ in a })
        var lines: [ServiceLogLine] = []
        for (machine, onMachine) in byMachine {
            let containers = onMachine.compactMap { $0.workload?.container }
            let response = try await client.call(NodeCommand.logs, machine: machine,
                                                 NodeCommand.LogsRequest(containers: containers, tail: tail, since: since),
                                                 returning: NodeCommand.LogsResponse.self, timeout: .seconds(10))
            for entry in response.entries {
                let instance = onMachine.first { $0.workload?.container == entry.container }?.id ?? entry.container
                lines.append(ServiceLogLine(instance: instance, machine: names[instance] ?? machine, time: entry.time, stream: entry.stream, text: entry.text))
            }
        }
        return lines.sorted { ($0.time ?? .distantPast) < ($1.time ?? .distantPast) }
    }

    /// Removes a service: its desired state (the agents then withdraw and remove its containers)
    /// and its record. Waits, bounded, until its instances are gone.
    public func removeWorkloadService(namespace: String, name: String) async throws -> String {
        let store = try registry().store
        let hadWorkload = try await store.workload(namespace: namespace, name: name) != nil
        guard hadWorkload else {
            try await registry().removeService(namespace: namespace, name: name)
            return "service \(namespace)/\(name) removed"
        }
        try await store.deleteWorkload(namespace: namespace, name: name)
        try await store.deleteService(namespace: namespace, name: name)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let left = try await store.instances().filter { $0.namespace == namespace && $0.service == name && $0.workload != nil }
            if left.isEmpty { return "service \(namespace)/\(name) removed; its instances are stopped" }
            try await Task.sleep(for: .milliseconds(250))
        }
        return "service \(namespace)/\(name) removed; its instances are still stopping"
    }
}
