import Foundation
import PloyzModel
import WireGuard

extension MeshController {
    /// `mesh create NAME`: writes the network's record and key; starts nothing.
    public func create(_ name: String) async throws -> NetworkStatus {
        try await exclusively {
            try createRecord(name)
            return try await status(name)
        }
    }

    /// `mesh init NAME`: create, start and make it the active network. When the start fails the
    /// network is removed again, so a failed init leaves the disk as it was.
    public func initialize(_ name: String) async throws -> NetworkStatus {
        try await exclusively {
            try validate(name)
            try refuseIfAnotherIsActive(name)
            try createRecord(name)
            do {
                try await startNetwork(name)
            } catch {
                networks.remove(name)
                try? FileManager.default.removeItem(atPath: paths.runtimeNetworkDir(name))
                phases[name] = nil
                lastErrors[name] = nil
                throw error
            }
            return try await status(name)
        }
    }

    /// `mesh start NAME`: brings an existing network up and makes it the active one.
    public func start(_ name: String) async throws -> NetworkStatus {
        try await exclusively {
            _ = try load(name)
            try refuseIfAnotherIsActive(name)
            if phase(of: name) != .running { try await startNetwork(name) }
            return try await status(name)
        }
    }

    /// `mesh stop [--force]`: stops the active network's sidecars, removes its interface and
    /// clears `active`. Refuses while workloads run on this machine unless `force`.
    public func stop(force: Bool) async throws -> String {
        try await exclusively {
            guard let name = networks.activeName() ?? liveNetwork else {
                throw ControlError(.usage, "no network is active; nothing to stop")
            }
            let workloads = await runningWorkloads(name)
            if !force && !workloads.isEmpty {
                throw ControlError(.conflict, "\(workloads.count) workload(s) still run on network \"\(name)\" (\(workloads.prefix(5).joined(separator: ", "))); stop them first or use `ployzctl mesh stop --force`")
            }
            await stopWorkloads()
            let removed = force ? await workloadAgent?.removeAll() ?? [] : []
            // Without its heartbeat this machine is no candidate any more: its slots move at once.
            if let store, let record = try? networks.record(name) {
                _ = try? await withTimeout(.seconds(2), "removing the heartbeat") { try await store.store.delete(in: .heartbeats, key: record.machineID) }
            }
            await stopNetwork(name)
            return removed.isEmpty ? "network \"\(name)\" stopped" : "stopped \(removed.count) workload(s); network \"\(name)\" stopped"
        }
    }

    /// On daemon start: brings back the network `<data_dir>/active` names, adopting its running
    /// sidecars and re-applying the interface state. A failure is kept for `status`, and
    /// `active` stays so the next daemon start tries again.
    public func resume() async {
        await exclusively {
            guard let name = networks.activeName() else { return }
            guard networks.exists(name) else {
                logger.warning("active network does not exist; not resuming", metadata: ["network": "\(name)"])
                return
            }
            logger.info("resuming network", metadata: ["network": "\(name)"])
            do { try await startNetwork(name) } catch {
                logger.error("resume failed", metadata: ["network": "\(name)", "error": "\(error)"])
            }
        }
    }

    /// Running workloads (instance ids) of this machine on `name`, from the store's `instances`;
    /// when the store cannot be asked, none are assumed (stop must stay possible).
    func runningWorkloads(_ name: String) async -> [String] {
        guard let store, let record = try? networks.record(name) else { return [] }
        return (try? await withTimeout(.seconds(2), "store instances") { try await store.instances(onMachine: record.machineID) }) ?? []
    }

    private func createRecord(_ name: String) throws {
        try validate(name)
        if networks.exists(name) {
            throw ControlError(.conflict, "network \"\(name)\" already exists; start it with `ployzctl mesh start \(name)` or choose another name")
        }
        try refuseAddressConflicts(config.clusterCIDR, network: name)
        let record = NetworkRecord.new(name: name, config: config, machineName: config.machineName ?? Self.hostname())
        do {
            try networks.create(record, keyPair: .generate())
            try NetworkSigningKey.generate().save(paths, network: name)
        } catch {
            networks.remove(name)
            throw ControlError(.failed, "mesh create \"\(name)\": \(error)")
        }
        phases[name] = .created
        logger.info("network created", metadata: ["network": "\(name)", "subnet": "\(record.subnet)"])
    }

    /// The kernel's host name, without the DNS lookup `ProcessInfo.hostName` may do (a node
    /// without a resolver would wait for it to time out).
    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(cString: buffer)
    }

    /// Refuses a `cluster_cidr` that this host routes elsewhere or that overlaps another network's.
    private func refuseAddressConflicts(_ cidr: IPv4CIDR, network name: String) throws {
        let others = networks.names().compactMap { other in (try? networks.record(other)).map { (name: other, cidr: $0.clusterCIDR) } }
        if let problem = AddressConflicts.problem(with: cidr, network: name, routes: HostRoute.current(),
                                                  ownInterfaces: [config.wireguardInterface, ServiceSidecars.bridge], otherNetworks: others) {
            throw ControlError(.usage, problem)
        }
    }

    private func refuseIfAnotherIsActive(_ name: String) throws {
        if let other = liveNetwork ?? networks.activeName(), other != name {
            throw ControlError(.conflict, "network \"\(other)\" is active; only one network runs at a time: stop it first with `ployzctl mesh stop`")
        }
    }

    /// Runs the start phases; on failure earlier phases are undone and a `.failed` error names the phase.
    func startNetwork(_ name: String) async throws {
        let (record, keyPair) = try load(name)
        try refuseAddressConflicts(record.clusterCIDR, network: name)
        let interface = meshInterface(resolvedBackend())
        let nats = natsSidecar
        let overlay = keyPair.publicKey.overlayAddress
        let serverConfig = nats.serverConfig(record, overlay: overlay)
        let own = machineRecord(record, keyPair: keyPair, lifecycle: .active)
        let session = SessionBox()
        let services = serviceSidecars
        let peerCache = paths.peerCacheFile(name)
        let clustered = record.clustered == true
        let routePeers = Self.routePeers(Convergence.cachedMachines(peerCache), ownID: record.machineID)
        let phases: [PhaseRunner.Phase] = [
            .init(phase: .starting) { _ in },
            .init(phase: .wireguard) { rollback in
                try await interface.bringUp(record, keyPair: keyPair, rollback: rollback)
                try await Convergence.applyCached(peerCache, ownID: record.machineID, control: interface.control)
            },
            .init(phase: .store) { rollback in
                try await nats.bringUp(record, overlay: overlay, peers: routePeers, rollback: rollback)
                let store = try await StoreSession.connect(url: serverConfig.clientURL, user: record.natsUser,
                                                           password: record.natsPassword, timeout: .seconds(5))
                session.value = store
                rollback.record("disconnect from the store") { await store.close() }
                if clustered {
                    try await self.importPendingExport(name, store: store)
                    try await Self.waitUntilSeeded(store, timeout: Self.seedTimeout)
                }
            },
            .init(phase: .publish) { rollback in
                guard let store = session.value else { return }
                // A standalone server's assets are made here; a cluster's come with its store
                // (made by the first node, replicas raised by `maintainStore`).
                if !clustered {
                    try await withTimeout(.seconds(10), "ensuring the store's buckets") { try await store.ensureAssets() }
                }
                // In a cluster a step can meet a passing condition (an election, a route still
                // exchanging interest): each is retried for a bounded time.
                let patience: Duration = clustered ? .seconds(30) : .zero
                try await retryingStore("claiming the node's subnet", within: patience) { try await store.claimOwnSubnet(own) }
                let paths = self.paths
                _ = try await retryingStore("sharing the network signing key", within: patience) {
                    try await NetworkSigningKey.reconcile(paths, network: name, store: store.store)
                }
                try await retryingStore("publishing the machine record", within: patience) { try await store.publish(own) }
                rollback.record("mark the machine record stopped") {
                    let stopped = MachineRecord(id: own.id, name: own.name, publicKey: own.publicKey, subnet: own.subnet,
                                                endpoints: own.endpoints, lifecycle: .stopped)
                    _ = try? await withTimeout(.seconds(2), "unpublishing") { try await store.publish(stopped) }
                }
            },
            .init(phase: .sidecars) { rollback in
                try await services.bringUp(record, overlay: overlay, rollback: rollback)
            },
        ]
        lastErrors[name] = nil
        do {
            try await PhaseRunner.run(phases, rollback: Rollback()) { phase in self.setPhase(phase, of: name) }
        } catch let failure as PhaseFailure {
            setPhase(.failed, of: name)
            let message = "mesh start \"\(name)\": \(failure)"
            lastErrors[name] = message
            throw ControlError(.failed, message)
        }
        if let old = store { await old.close() }
        store = session.value
        do { try networks.setActive(name) } catch {
            throw ControlError(.failed, "mesh start \"\(name)\": cannot record the active network: \(error)")
        }
        setPhase(.running, of: name)
        await startConvergence(record: record, interface: interface, own: own)
        startStoreMaintenance(name)
        await startWorkloads(record: record)
    }

    /// Starts the loop that keeps WireGuard peers equal to the store's machines (replacing any old one).
    func startConvergence(record: NetworkRecord, interface: MeshInterface, own: MachineRecord) async {
        await convergence?.stop()
        guard let store else { return }
        let config = self.config
        let loop = Convergence(store: store.store, control: interface.control, ownID: record.machineID, logger: logger, own: own,
                               cachePath: paths.peerCacheFile(record.name), endpoints: { Self.advertisedEndpoints(config: config) },
                               onMachines: { [weak self] machines in await self?.machinesChanged(machines) })
        convergence = loop
        await loop.start()
    }

    /// Undoes the start phases in reverse: unpublish, disconnect, sidecars, interface, `active`.
    func stopNetwork(_ name: String) async {
        setPhase(.stopping, of: name)
        await releaseWorkloads()
        stopStoreMaintenance()
        await convergence?.stop()
        convergence = nil
        if let store {
            if let (record, keyPair) = try? load(name) {
                let stopped = machineRecord(record, keyPair: keyPair, lifecycle: .stopped)
                _ = try? await withTimeout(.seconds(2), "unpublishing") { try await store.publish(stopped) }
            }
            await store.close()
            self.store = nil
        }
        await serviceSidecars.tearDown(network: name)
        await natsSidecar.tearDown(network: name)
        await meshInterface(backend ?? resolvedBackend()).tearDown(network: name)
        try? networks.setActive(nil)
        lastErrors[name] = nil
        setPhase(.stopped, of: name)
    }
}

/// Carries the store connection from the phase that opens it to the phases after it.
final class SessionBox: @unchecked Sendable {
    var value: StoreSession?
}
