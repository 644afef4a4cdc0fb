import Foundation
import PloyzModel

/// The control API between `ployzctl` and `ployzd`: one JSON object per line over the daemon's
/// unix socket, a request then its response. Types here are shared by both sides.
public enum ControlAPI {
    /// Bumped when a request or response changes incompatibly.
    public static let version = 1
}

/// A request: `{"method": "...", "params": {...}}`.
public struct ControlRequest: Codable, Sendable {
    public var method: ControlMethod
    public var params: ControlParams

    public init(_ method: ControlMethod, _ params: ControlParams = ControlParams()) {
        self.method = method
        self.params = params
    }
}

public enum ControlMethod: String, Codable, Sendable {
    case meshCreate = "mesh.create"
    case meshInit = "mesh.init"
    case meshStart = "mesh.start"
    case meshStop = "mesh.stop"
    case meshList = "mesh.list"
    case meshStatus = "mesh.status"
    case meshReady = "mesh.ready"
    case meshInvite = "mesh.invite"
    case meshJoin = "mesh.join"
    case daemonInfo = "daemon.info"
    case serviceSet = "service.set"
    case serviceList = "service.ls"
    case serviceRemove = "service.rm"
    case instanceSet = "instance.set"
    case instanceList = "instance.ls"
    case instanceRemove = "instance.rm"
    case routeSet = "route.set"
    case routeList = "route.ls"
    case routeRemove = "route.rm"
    case certSet = "cert.set"
    case certList = "cert.ls"
    case certRemove = "cert.rm"
    case dnsList = "dns.ls"
}

/// Parameters of every method; each method reads the fields it needs.
public struct ControlParams: Codable, Sendable, Equatable {
    public var name: String?
    public var force: Bool?
    /// `mesh join`: the invite token.
    public var token: String?
    /// `mesh invite`: how long the token is valid, in seconds.
    public var ttlSeconds: Double?
    public var namespace: String?
    public var id: String?
    public var hostname: String?
    public var service: ServiceRecord?
    public var instance: InstanceRecord?
    public var route: HTTPRoute?
    public var certificate: CertificateRecord?

    public init(name: String? = nil, force: Bool? = nil, token: String? = nil, ttlSeconds: Double? = nil,
                namespace: String? = nil, id: String? = nil, hostname: String? = nil, service: ServiceRecord? = nil,
                instance: InstanceRecord? = nil, route: HTTPRoute? = nil, certificate: CertificateRecord? = nil) {
        self.name = name
        self.force = force
        self.token = token
        self.ttlSeconds = ttlSeconds
        self.namespace = namespace
        self.id = id
        self.hostname = hostname
        self.service = service
        self.instance = instance
        self.route = route
        self.certificate = certificate
    }
}

/// A response: exactly one of `result` or `error`.
public struct ControlResponse: Codable, Sendable {
    public var result: ControlResult?
    public var error: ControlError?

    public init(result: ControlResult) { self.result = result; self.error = nil }
    public init(error: ControlError) { self.result = nil; self.error = error }
}

/// Results; each method fills the field it returns.
public struct ControlResult: Codable, Sendable, Equatable {
    public var network: NetworkStatus?
    public var networks: [NetworkSummary]?
    public var ready: ReadyReport?
    public var daemon: DaemonInfo?
    public var message: String?
    /// `mesh invite`: the token to hand to the new node.
    public var token: String?
    public var services: [ServiceRecord]?
    public var instances: [InstanceRecord]?
    public var routes: [RouteSummary]?
    public var certificates: [CertificateSummary]?
    public var dnsRecords: [DNSRecordSummary]?

    public init(network: NetworkStatus? = nil, networks: [NetworkSummary]? = nil, ready: ReadyReport? = nil,
                daemon: DaemonInfo? = nil, message: String? = nil, token: String? = nil, services: [ServiceRecord]? = nil,
                instances: [InstanceRecord]? = nil, routes: [RouteSummary]? = nil, certificates: [CertificateSummary]? = nil,
                dnsRecords: [DNSRecordSummary]? = nil) {
        self.network = network
        self.networks = networks
        self.ready = ready
        self.daemon = daemon
        self.message = message
        self.token = token
        self.services = services
        self.instances = instances
        self.routes = routes
        self.certificates = certificates
        self.dnsRecords = dnsRecords
    }
}

/// An error the daemon reports; `kind` decides `ployzctl`'s exit code.
public struct ControlError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// Bad input: a name, an argument, a state that does not allow the command. Exit 2.
        case usage
        /// The named thing does not exist. Exit 2.
        case notFound
        /// It exists already or conflicts with what exists. Exit 2.
        case conflict
        /// The command was valid but failed while running. Exit 1.
        case failed
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
    public var exitCode: Int32 { kind == .failed ? 1 : 2 }
}

/// Mesh lifecycle phases, in start order.
public enum MeshPhase: String, Codable, Sendable, CaseIterable {
    case created, starting, wireguard, store, publish, sidecars, running, stopping, stopped, failed
}

/// One line of `mesh list`.
public struct NetworkSummary: Codable, Sendable, Equatable {
    public var name: String
    public var active: Bool
    public var phase: MeshPhase
    public var subnet: String
    public var overlayIPv6: String
    public var clusterCIDR: String

    public init(name: String, active: Bool, phase: MeshPhase, subnet: String, overlayIPv6: String, clusterCIDR: String) {
        self.name = name
        self.active = active
        self.phase = phase
        self.subnet = subnet
        self.overlayIPv6 = overlayIPv6
        self.clusterCIDR = clusterCIDR
    }
}

/// A sidecar process as the daemon sees it.
public struct SidecarStatus: Codable, Sendable, Equatable {
    public var name: String
    public var pid: Int32?
    public var running: Bool
    /// Where it serves, e.g. `nats://[fd..]:4222`.
    public var endpoint: String?

    public init(name: String, pid: Int32?, running: Bool, endpoint: String? = nil) {
        self.name = name
        self.pid = pid
        self.running = running
        self.endpoint = endpoint
    }
}

/// A WireGuard peer as `mesh status` shows it.
public struct PeerStatus: Codable, Sendable, Equatable {
    public var name: String
    public var machineID: String
    public var publicKey: String
    public var subnet: String
    public var overlayIPv6: String
    public var endpoint: String?
    public var lastHandshake: Date?
    public var rxBytes: UInt64
    public var txBytes: UInt64

    public init(name: String, machineID: String, publicKey: String, subnet: String, overlayIPv6: String,
                endpoint: String?, lastHandshake: Date?, rxBytes: UInt64, txBytes: UInt64) {
        self.name = name
        self.machineID = machineID
        self.publicKey = publicKey
        self.subnet = subnet
        self.overlayIPv6 = overlayIPv6
        self.endpoint = endpoint
        self.lastHandshake = lastHandshake
        self.rxBytes = rxBytes
        self.txBytes = txBytes
    }
}

/// `mesh status NAME`.
public struct NetworkStatus: Codable, Sendable, Equatable {
    public var name: String
    public var active: Bool
    public var phase: MeshPhase
    public var machineID: String
    public var machineName: String
    public var clusterCIDR: String
    public var subnet: String
    public var nodeAddress: String
    public var overlayIPv6: String
    public var publicKey: String
    public var interface: String
    /// "kernel" or "wireguard-go".
    public var backend: String?
    public var listenPort: Int
    public var sidecars: [SidecarStatus]
    public var peers: [PeerStatus]
    public var lastError: String?
    /// The store as this node's nats-server serves it: standalone, or clustered with its routes
    /// and replica count. Nil when the network is not running.
    public var store: String?

    public init(name: String, active: Bool, phase: MeshPhase, machineID: String, machineName: String, clusterCIDR: String,
                subnet: String, nodeAddress: String, overlayIPv6: String, publicKey: String, interface: String,
                backend: String?, listenPort: Int, sidecars: [SidecarStatus], peers: [PeerStatus], lastError: String? = nil,
                store: String? = nil) {
        self.store = store
        self.name = name
        self.active = active
        self.phase = phase
        self.machineID = machineID
        self.machineName = machineName
        self.clusterCIDR = clusterCIDR
        self.subnet = subnet
        self.nodeAddress = nodeAddress
        self.overlayIPv6 = overlayIPv6
        self.publicKey = publicKey
        self.interface = interface
        self.backend = backend
        self.listenPort = listenPort
        self.sidecars = sidecars
        self.peers = peers
        self.lastError = lastError
    }
}

/// `mesh ready`: healthy only when every check passes.
public struct ReadyReport: Codable, Sendable, Equatable {
    public struct Check: Codable, Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String

        public init(name: String, ok: Bool, detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var network: String?
    public var checks: [Check]
    public var ready: Bool { !checks.isEmpty && checks.allSatisfy(\.ok) }

    public init(network: String?, checks: [Check]) {
        self.network = network
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey { case network, checks, ready }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        network = try c.decodeIfPresent(String.self, forKey: .network)
        checks = try c.decode([Check].self, forKey: .checks)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(network, forKey: .network)
        try c.encode(checks, forKey: .checks)
        try c.encode(ready, forKey: .ready)
    }
}

public struct DaemonInfo: Codable, Sendable, Equatable {
    public var version: String
    public var pid: Int32
    public var apiVersion: Int
    public var activeNetwork: String?

    public init(version: String, pid: Int32, apiVersion: Int = ControlAPI.version, activeNetwork: String?) {
        self.version = version
        self.pid = pid
        self.apiVersion = apiVersion
        self.activeNetwork = activeNetwork
    }
}

/// One name the cluster DNS answers, for `ployzctl dns ls`.
public struct DNSRecordSummary: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    public var value: String
    public var ttl: Int

    public init(name: String, type: String, value: String, ttl: Int) {
        self.name = name
        self.type = type
        self.value = value
        self.ttl = ttl
    }
}
