import Crypto
import Foundation

/// What one container of a service runs: everything that, when it changes, needs new containers.
/// Its `revision` (a hash of this value) labels the containers made from it.
public struct ContainerTemplate: Codable, Sendable, Hashable {
    public var image: String
    /// Replaces the image's CMD when set.
    public var command: [String]?
    /// Replaces the image's ENTRYPOINT when set.
    public var entrypoint: [String]?
    public var environment: [String: String]
    /// The user's labels; Ployz adds its own `ployz.*` labels next to them.
    public var labels: [String: String]
    public var healthcheck: HealthCheck?
    public var restart: RestartPolicy
    /// Seconds between SIGTERM and SIGKILL when the container is stopped.
    public var stopGracePeriod: Double
    public var limits: ResourceLimits

    public init(image: String, command: [String]? = nil, entrypoint: [String]? = nil, environment: [String: String] = [:],
                labels: [String: String] = [:], healthcheck: HealthCheck? = nil, restart: RestartPolicy = .unlessStopped,
                stopGracePeriod: Double = 10, limits: ResourceLimits = ResourceLimits()) {
        self.image = image
        self.command = command
        self.entrypoint = entrypoint
        self.environment = environment
        self.labels = labels
        self.healthcheck = healthcheck
        self.restart = restart
        self.stopGracePeriod = stopGracePeriod
        self.limits = limits
    }

    /// 12 hex digits of the SHA-256 of the template's canonical JSON (sorted keys): equal
    /// templates have equal revisions on every node.
    public var revision: String {
        let data = (try? JSONEncoder.ployz.encode(self)) ?? Data()
        return SHA256.hash(data: data).prefix(6).map { String(format: "%02x", $0) }.joined()
    }
}

/// A healthcheck Docker runs; its result is the instance's readiness.
public struct HealthCheck: Codable, Sendable, Hashable {
    /// Docker's form: `["CMD", "prog", "arg"]` or `["CMD-SHELL", "a shell line"]`.
    public var test: [String]
    public var interval: Double
    public var timeout: Double
    public var retries: Int
    public var startPeriod: Double

    public init(test: [String], interval: Double = 30, timeout: Double = 30, retries: Int = 3, startPeriod: Double = 0) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.startPeriod = startPeriod
    }
}

/// Compose's `restart` values, which are Docker's restart policies.
public enum RestartPolicy: String, Codable, Sendable, Hashable, CaseIterable {
    case no
    case always
    case onFailure = "on-failure"
    case unlessStopped = "unless-stopped"
}

/// `deploy.resources.limits`.
public struct ResourceLimits: Codable, Sendable, Hashable {
    /// CPUs, e.g. 0.5.
    public var cpus: Double?
    public var memoryBytes: Int64?

    public init(cpus: Double? = nil, memoryBytes: Int64? = nil) {
        self.cpus = cpus
        self.memoryBytes = memoryBytes
    }
}

/// How many instances a service runs.
public enum WorkloadMode: Codable, Sendable, Hashable {
    case replicated(Int)
    /// One instance on every eligible machine.
    case global
}

/// Where a service's instances may run.
public enum PlacementRule: Codable, Sendable, Hashable {
    /// Any machine; instances spread so that no machine has two while another has none.
    case spread
    /// Only the named machines (machine names as `mesh status` shows them), spread over them.
    case machines([String])
}

/// Compose's `deploy.update_config.order`.
public enum UpdateOrder: String, Codable, Sendable, Hashable {
    /// New instance healthy first, then the old one stops: no gap in service.
    case startFirst = "start-first"
    /// Old instance stops first, then the new one starts: for services that cannot run twice.
    case stopFirst = "stop-first"
}

/// One service of a deploy, as a Compose file describes it.
public struct WorkloadSpec: Codable, Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var template: ContainerTemplate
    public var mode: WorkloadMode
    /// Compose `expose`: the ports instances listen on (named by number, e.g. "8080").
    public var ports: [ServicePort]
    /// `x-ployz.routes`: the gateway's routes into it.
    public var routes: [HTTPRoute]
    public var placement: PlacementRule
    public var updateOrder: UpdateOrder

    public init(namespace: String = "default", name: String, template: ContainerTemplate, mode: WorkloadMode = .replicated(1),
                ports: [ServicePort] = [], routes: [HTTPRoute] = [], placement: PlacementRule = .spread,
                updateOrder: UpdateOrder = .startFirst) {
        self.namespace = namespace
        self.name = name
        self.template = template
        self.mode = mode
        self.ports = ports
        self.routes = routes
        self.placement = placement
        self.updateOrder = updateOrder
    }

    public var key: String { StoreKeys.service(namespace: namespace, name: name) }

    /// The record the gateway and DNS serve from.
    public var serviceRecord: ServiceRecord { ServiceRecord(namespace: namespace, name: name, ports: ports, routes: routes) }
}

/// One place an instance of a workload runs: which machine, and which revision of its template.
public struct WorkloadSlot: Codable, Sendable, Hashable {
    public var index: Int
    /// Machine id.
    public var machine: String
    public var revision: String

    public init(index: Int, machine: String, revision: String) {
        self.index = index
        self.machine = machine
        self.revision = revision
    }
}

/// A service's desired state (bucket `workloads`, key `<namespace>.<name>`): its spec, the
/// templates its slots name (the current one and, during a rollout, the previous one), and the
/// slots. Each node runs the slots assigned to it.
public struct WorkloadRecord: Codable, Sendable, Equatable {
    public var spec: WorkloadSpec
    /// Template by revision; every revision a slot names is here.
    public var templates: [String: ContainerTemplate]
    public var slots: [WorkloadSlot]
    public var updatedAt: Date

    public init(spec: WorkloadSpec, templates: [String: ContainerTemplate], slots: [WorkloadSlot], updatedAt: Date = Date()) {
        self.spec = spec
        self.templates = templates
        self.slots = slots
        self.updatedAt = updatedAt.roundedToMilliseconds
    }

    public var key: String { spec.key }

    /// True when every slot runs the spec's current template.
    public var isRolledOut: Bool { slots.allSatisfy { $0.revision == spec.template.revision } }

    /// The same record without templates no slot names any more.
    public func pruned() -> WorkloadRecord {
        var copy = self
        let used = Set(slots.map(\.revision))
        copy.templates = templates.filter { used.contains($0.key) }
        return copy
    }
}

/// Labels on every container Ployz starts: adoption after a daemon restart reads them.
public enum WorkloadLabels {
    public static let network = "ployz.network"
    public static let namespace = "ployz.namespace"
    public static let service = "ployz.service"
    public static let slot = "ployz.slot"
    public static let revision = "ployz.revision"
    public static let instance = "ployz.instance"
    /// The service's stop_grace_period in seconds, for stopping it after its service is gone.
    public static let stopGrace = "ployz.stop-grace"

    /// The instance id of a slot's container: unique per namespace, service, slot and revision,
    /// so a rollout's new instance never overwrites the old one's record.
    public static func instanceID(namespace: String, service: String, slot: Int, revision: String) -> String {
        "\(namespace).\(service).\(slot).\(revision)"
    }

    /// The container's name in Docker.
    public static func containerName(network: String, instanceID: String) -> String {
        "ployz-\(network)-" + instanceID.replacingOccurrences(of: ".", with: "-")
    }
}

/// A machine's sign of life (bucket `heartbeats`, key = machine id), rewritten every few seconds;
/// the bucket drops it 15 s after the last write, so a machine without one is taken for dead.
public struct MachineHeartbeat: Codable, Sendable, Equatable {
    public var machine: String
    public var at: Date
    /// The container engine this machine runs workloads with (e.g. "docker 26.1.5"), or nil.
    public var runtime: String?
    /// Why it cannot run workloads, when `runtime` is nil (e.g. "Docker is not running at /var/run/docker.sock").
    public var runtimeProblem: String?

    public init(machine: String, at: Date = Date(), runtime: String?, runtimeProblem: String? = nil) {
        self.machine = machine
        self.at = at.roundedToMilliseconds
        self.runtime = runtime
        self.runtimeProblem = runtimeProblem
    }
}
