import Foundation
import Logging
import PloyzModel
import PloyzRuntime
import WireGuard

/// Owns the node's networks and runs their lifecycle. Operations that change state (create,
/// init, start, stop, resume) run one at a time through `exclusively`; reads (list, status,
/// ready) do not wait for them, so `status` stays fast while a start is in progress.
public actor MeshController {
    public let config: PloyzConfig
    public let paths: DaemonPaths
    let networks: LocalNetworks
    let supervisor: Supervisor
    let logger: Logger

    /// Detected at the first start; nil until then.
    var backend: WireGuardBackendKind?
    var phases: [String: MeshPhase] = [:]
    var lastErrors: [String: String] = [:]
    /// The store connection of the running network.
    var store: StoreSession?
    /// The running network's convergence loop.
    var convergence: Convergence?
    /// The machines as convergence last saw them (routes and replica count follow them).
    var knownMachines: [MachineRecord] = []
    /// The loop that moves the store into the NATS cluster and keeps its routes and replicas.
    var storeMaintenance: Task<Void, Never>?
    /// The replica count the store's assets were last raised to.
    var storeReplicas = 1
    /// The route set last written to the routes file (the file is not read again while unchanged).
    var storeRoutePeers: [IPv6Address]?
    /// Consecutive maintenance rounds in which this node's server had a route to every member.
    var storeRoutedRounds = 0
    /// This machine's share of the workloads, while a network runs.
    var workloadAgent: WorkloadAgent?
    /// The engine client the agent uses (`releaseWorkloads` shuts it down).
    var workloadRuntime: DockerEngine?
    /// Answers other daemons' requests for this machine (`NodeCommandServer`).
    var nodeCommands: Task<Void, Never>?
    /// Deploys this daemon took, by id, for `deploy.status`.
    var deployments: [String: Deployment] = [:]

    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// A controller for the networks under `config`'s data and runtime dirs.
    public init(config: PloyzConfig, logger: Logger) {
        self.config = config
        self.paths = DaemonPaths(config: config)
        self.networks = LocalNetworks(paths: paths)
        self.supervisor = Supervisor(paths: paths, logger: logger)
        self.logger = logger
    }

    /// Runs `body` after every earlier state-changing operation finished.
    func exclusively<T>(_ body: () async throws -> T) async rethrows -> T {
        while busy { await withCheckedContinuation { waiters.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        return try await body()
    }

    func phase(of name: String) -> MeshPhase { phases[name] ?? .stopped }

    func setPhase(_ phase: MeshPhase, of name: String) {
        phases[name] = phase
        logger.info("mesh phase", metadata: ["network": "\(name)", "phase": "\(phase.rawValue)"])
    }

    /// The network that runs or is being started or stopped, if any.
    var liveNetwork: String? {
        phases.first { [.starting, .wireguard, .store, .publish, .sidecars, .running, .stopping].contains($0.value) }?.key
    }

    func resolvedBackend() -> WireGuardBackendKind {
        if let backend { return backend }
        let detected = WireGuardBackend.detect()
        logger.info("wireguard backend", metadata: ["backend": "\(detected.rawValue)"])
        backend = detected
        return detected
    }

    func meshInterface(_ kind: WireGuardBackendKind) -> MeshInterface {
        MeshInterface(name: config.wireguardInterface, listenPort: config.wireguardPort, backend: kind, supervisor: supervisor, logger: logger)
    }

    var natsSidecar: NATSSidecar { NATSSidecar(config: config, paths: paths, supervisor: supervisor, logger: logger) }

    /// Loads a network's record and key, or says it does not exist.
    func load(_ name: String) throws -> (record: NetworkRecord, keyPair: WireGuardKeyPair) {
        try validate(name)
        guard networks.exists(name) else {
            throw ControlError(.notFound, "network \"\(name)\" does not exist; create it with `ployzctl mesh create \(name)` (known: \(knownList))")
        }
        do { return (try networks.record(name), try networks.keyPair(name)) } catch {
            throw ControlError(.failed, "network \"\(name)\": \(error)")
        }
    }

    func validate(_ name: String) throws {
        if let problem = NetworkName.problem(with: name) { throw ControlError(.usage, problem) }
    }

    var knownList: String {
        let names = networks.names()
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }

    /// The name a command without one applies to: the active network.
    func nameOrActive(_ name: String?, command: String) throws -> String {
        if let name { return name }
        if let active = networks.activeName() ?? liveNetwork { return active }
        throw ControlError(.usage, "no network is active; name one: `ployzctl mesh \(command) NAME` (known: \(knownList))")
    }

    func machineRecord(_ record: NetworkRecord, keyPair: WireGuardKeyPair, lifecycle: MachineRecord.Lifecycle) -> MachineRecord {
        MachineRecord(id: record.machineID, name: record.machineName, publicKey: keyPair.publicKey, subnet: record.subnet,
                      endpoints: lifecycle == .active ? advertisedEndpoints() : [], lifecycle: lifecycle)
    }

    /// This node's candidate endpoints, filtered and ordered by the endpoint policy; the public
    /// address comes from `public_ip` (`PLOYZ_PUBLIC_IP`) when set, else from STUN (`PublicAddress`).
    func advertisedEndpoints() -> [String] { Self.advertisedEndpoints(config: config) }

    static func advertisedEndpoints(config: PloyzConfig) -> [String] {
        EndpointPolicy.order(LocalAddresses.enumerate().map(\.candidate), publicAddresses: PublicAddress.addresses(config: config),
                             port: config.wireguardPort)
    }
}
