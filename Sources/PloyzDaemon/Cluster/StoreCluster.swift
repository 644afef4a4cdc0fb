import Foundation
import PloyzModel
import PloyzStore
import WireGuard

/// The store as a NATS cluster. Every member runs a nats-server. The first node's runs
/// standalone (nats-server 2.9 cannot elect a JetStream leader alone in a cluster); when the first
/// peer's server is reachable it moves into the cluster: its records are exported, the server
/// restarts with a `cluster` block, and the records are imported into the clustered store. From
/// then on the routes file follows the machines (for the server's next start; a newcomer routes
/// to every member itself) and, from three members, every bucket and stream has three replicas.
extension MeshController {
    /// How often the store's membership is checked.
    static let storeMaintenanceInterval: Duration = .seconds(1)
    /// How long a clustered node waits for the store's records (the first node may be moving
    /// them into the cluster: a restart, a leader election and the import).
    static let seedTimeout: Duration = .seconds(45)
    /// Members from which every asset has three replicas (any one can die without a lost write).
    static let replicatedFrom = 3

    /// Overlay addresses of the machines this node's nats-server routes to: every other member
    /// that is active or stopped (a stopped one is routed to again when it comes back).
    static func routePeers(_ machines: [MachineRecord], ownID: String) -> [IPv6Address] {
        machines.filter { $0.id != ownID && ($0.lifecycle == .active || $0.lifecycle == .stopped) }
            .map(\.overlayIPv6)
            .sorted { $0.description < $1.description }
    }

    /// The replica count the store should have with these machines: 1, or 3 from three members.
    static func desiredReplicas(_ machines: [MachineRecord]) -> Int {
        let members = machines.filter { $0.lifecycle == .active || $0.lifecycle == .stopped }.count
        return members >= replicatedFrom ? 3 : 1
    }

    /// Convergence reports every change of the machines here.
    func machinesChanged(_ machines: [MachineRecord]) {
        knownMachines = machines
    }

    func startStoreMaintenance(_ name: String) {
        storeMaintenance?.cancel()
        storeMaintenance = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.storeMaintenanceInterval)
                guard !Task.isCancelled else { return }
                await self?.maintainStore(name)
            }
        }
    }

    func stopStoreMaintenance() {
        storeMaintenance?.cancel()
        storeMaintenance = nil
        storeRoutePeers = nil
    }

    /// One round: move into the cluster when a peer's server answers; otherwise keep the routes
    /// and the replica count in line with the machines.
    func maintainStore(_ name: String) async {
        guard liveNetwork == name, phase(of: name) == .running, let (record, keyPair) = try? load(name) else { return }
        let machines = knownMachines
        let peers = Self.routePeers(machines, ownID: record.machineID)
        let serverConfig = natsSidecar.serverConfig(record, overlay: keyPair.publicKey.overlayAddress)
        if record.clustered == true && store == nil {
            do {
                try await exclusively { try await self.finishMoveIntoCluster(name) }
            } catch {
                logger.error("finishing the store's move into the cluster failed; retrying", metadata: ["network": "\(name)", "error": "\(error)"])
            }
            return
        }
        guard record.clustered == true else {
            let active = machines.filter { $0.id != record.machineID && $0.lifecycle == .active }.map(\.overlayIPv6)
            guard await Self.anyClusterPortAnswers(active, port: serverConfig.clusterPort) else { return }
            do {
                try await exclusively { try await self.moveStoreIntoCluster(name, peers: peers) }
            } catch {
                logger.error("moving the store into the cluster failed; retrying", metadata: ["network": "\(name)", "error": "\(error)"])
            }
            return
        }
        // The routes file is kept current for the server's next start, but the running server is
        // not reloaded: a newcomer's server routes to every member itself (and NATS gossips the
        // rest), and nats-server 2.9 stops announcing its own clients' subscriptions to its routes
        // after a reload that adds a route (seen here: every reply to such a client is lost).
        if peers != storeRoutePeers {
            do {
                if try natsSidecar.writeRoutes(serverConfig, peers: peers, network: name) {
                    logger.info("store routes written for the next start", metadata: ["network": "\(name)", "routes": "\(peers.count)"])
                }
                storeRoutePeers = peers
            } catch {
                logger.warning("cannot write the store's routes", metadata: ["error": "\(error)"])
            }
        }
        let replicas = Self.desiredReplicas(machines)
        guard replicas > storeReplicas, let session = store else { return }
        // Only once this server has had routes to enough servers for two rounds: a replica placed
        // on a server whose routes are still forming stalls its catch-up (about 10 s in
        // nats-server 2.9), and writes wait for it meanwhile. (Members whose servers have not
        // started yet, e.g. joins waiting for the join lease, are not waited for.)
        let routed = (try? NATSProbe.routeAddresses(monitorPort: serverConfig.monitorPort)) ?? []
        guard routed.count + 1 >= replicas else {
            storeRoutedRounds = 0
            return
        }
        storeRoutedRounds += 1
        guard storeRoutedRounds >= 2 else { return }
        do {
            let moved = try await withTimeout(.seconds(10), "raising the store's replicas") { try await session.store.raiseReplicas(to: replicas) }
            storeReplicas = replicas
            logger.info("store replicas raised", metadata: ["replicas": "\(replicas)", "streams": "\(moved)"])
        } catch {
            // Usually a new member's server is not in the JetStream cluster yet; next round.
            logger.debug("cannot raise the store's replicas yet", metadata: ["error": "\(error)"])
        }
    }

    /// True when any of `hosts` answers on its NATS cluster port (the route listener sends INFO).
    static func anyClusterPortAnswers(_ hosts: [IPv6Address], port: Int) async -> Bool {
        guard !hosts.isEmpty else { return false }
        return await Task.detached {
            hosts.contains { (try? NATSProbe.info(host: $0.description, port: port, timeout: .milliseconds(300))) != nil }
        }.value
    }

    /// Moves this node's standalone store into the cluster (see the type's comment). The export
    /// is on disk before the server restarts, and the record says `clustered` before it does, so
    /// a crash at any point resumes at the next start (`importPendingExport`).
    func moveStoreIntoCluster(_ name: String, peers: [IPv6Address]) async throws {
        guard let (loaded, keyPair) = try? load(name), loaded.clustered != true, let session = store else { return }
        var record = loaded
        logger.info("moving the store into the NATS cluster", metadata: ["network": "\(name)", "peers": "\(peers.count)"])
        await convergence?.setSuspended(true)
        let export: StoreExport
        do {
            export = try await withTimeout(.seconds(10), "exporting the store") { try await session.store.exportRecords() }
            try AtomicFile.write(JSONEncoder.ployz.encode(export), to: paths.storeExportFile(name), mode: 0o600)
        } catch {
            await convergence?.setSuspended(false)
            throw error
        }
        record.clustered = true
        try networks.update(record)
        await convergence?.stop()
        convergence = nil
        // The agent works through this connection; it starts again on the clustered one.
        await releaseWorkloads()
        await session.close()
        store = nil
        let overlay = keyPair.publicKey.overlayAddress
        // The standalone streams go aside (the export holds their records): a clustered server
        // would restore them as orphans beside the cluster's streams of the same names.
        await supervisor.stop(NATSSidecar.name, network: name)
        let standalone = Self.standaloneStoreDir(paths, network: name)
        try? FileManager.default.removeItem(atPath: standalone)
        if FileManager.default.fileExists(atPath: paths.natsStoreDir(name) + "/jetstream") {
            try FileManager.default.moveItem(atPath: paths.natsStoreDir(name) + "/jetstream", toPath: standalone)
        }
        try await natsSidecar.bringUp(record, overlay: overlay, peers: peers, rollback: Rollback())
        try await finishMoveIntoCluster(name)
        logger.info("store moved into the NATS cluster", metadata: ["network": "\(name)", "records": "\(export.recordCount)"])
    }

    /// The second half of the move, also run by `maintainStore` when the first try failed after the
    /// restart (no leader elected in time): connect to the clustered server, import what waits on
    /// disk, and converge again.
    func finishMoveIntoCluster(_ name: String) async throws {
        guard store == nil, let (record, keyPair) = try? load(name), record.clustered == true else { return }
        let serverConfig = natsSidecar.serverConfig(record, overlay: keyPair.publicKey.overlayAddress)
        let clustered = try await StoreSession.connect(url: serverConfig.clientURL, user: record.natsUser,
                                                       password: record.natsPassword, timeout: .seconds(5))
        do {
            try await importPendingExport(name, store: clustered)
        } catch {
            await clustered.close()
            throw error
        }
        store = clustered
        let own = machineRecord(record, keyPair: keyPair, lifecycle: .active)
        await startConvergence(record: record, interface: meshInterface(backend ?? resolvedBackend()), own: own)
        await startWorkloads(record: record)
    }

    /// Where the standalone server's JetStream files wait while the store moves into the cluster.
    static func standaloneStoreDir(_ paths: DaemonPaths, network: String) -> String {
        paths.natsStoreDir(network) + "/jetstream.standalone"
    }

    /// When an export waits on disk (the store was being moved into the cluster): waits for the
    /// cluster's JetStream, makes the assets, imports what is missing, and removes the file.
    func importPendingExport(_ name: String, store: StoreSession) async throws {
        let path = paths.storeExportFile(name)
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let export: StoreExport
        do { export = try JSONDecoder.ployz.decode(StoreExport.self, from: data) } catch {
            throw StoreSessionError(description: "\(path) cannot be read (\(error)); move it away to start without it")
        }
        let deadline = ContinuousClock.now + Self.seedTimeout
        while true {
            do {
                try await withTimeout(.seconds(5), "ensuring the store's buckets") { try await store.ensureAssets() }
                break
            } catch {
                // No JetStream leader yet: the peers' servers are still electing one.
                guard ContinuousClock.now < deadline else {
                    throw StoreSessionError(description: "the NATS cluster elected no JetStream leader within \(Self.seedTimeout) (last: \(PhaseRunner.oneLine(error))); is another member's nats-server running and reachable on its cluster port?")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        let written = try await withTimeout(.seconds(30), "importing the store's records") { try await store.store.importMissing(export) }
        try FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: Self.standaloneStoreDir(paths, network: name))
        logger.info("store records imported into the cluster", metadata: ["network": "\(name)", "written": "\(written)", "records": "\(export.recordCount)"])
    }

    /// Waits until the store holds the network's records (the network signing key is imported
    /// last, so its presence means the rest is there).
    static func waitUntilSeeded(_ store: StoreSession, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let seeded = try await withTimeout(.seconds(2), "reading the network key") {
                    try await store.store.get(NetworkSigningKey.self, in: .network, key: NetworkSigningKey.storeKey) != nil
                }
                if seeded { return }
                last = "the store has no network key yet"
            } catch {
                last = PhaseRunner.oneLine(error)
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw StoreSessionError(description: "the clustered store did not hold the network's records within \(timeout) (last: \(last)); the first member may still be moving its store into the cluster, or no member's nats-server is reachable")
    }
}
