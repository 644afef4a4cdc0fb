import Foundation

/// A node of the mesh as every other node sees it (bucket `machines`, key = machine id).
public struct MachineRecord: Codable, Sendable, Equatable {
    public enum Lifecycle: String, Codable, Sendable {
        /// Invited: subnet claimed and provisional key published, not joined yet.
        case pending
        case active
        /// Stopped cleanly; peers remove it.
        case stopped
    }

    public var id: String
    public var name: String
    public var publicKey: WireGuardKey
    public var overlayIPv6: IPv6Address
    public var subnet: IPv4CIDR
    /// Ordered candidate endpoints (`host:port`), best first.
    public var endpoints: [String]
    public var lifecycle: Lifecycle
    public var updatedAt: Date

    public init(id: String, name: String, publicKey: WireGuardKey, subnet: IPv4CIDR,
                endpoints: [String], lifecycle: Lifecycle, updatedAt: Date = Date()) {
        self.id = id
        self.name = name
        self.publicKey = publicKey
        self.overlayIPv6 = publicKey.overlayAddress
        self.subnet = subnet
        self.endpoints = endpoints
        self.lifecycle = lifecycle
        self.updatedAt = updatedAt.roundedToMilliseconds
    }
}

/// A port a service exposes.
public struct ServicePort: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var port: Int
    /// "tcp" or "udp".
    public var transport: String

    public init(name: String, port: Int, transport: String = "tcp") {
        self.name = name
        self.port = port
        self.transport = transport
    }
}

/// An HTTP route into a service: hostnames (exact or `*.` wildcard) and a path prefix.
public struct HTTPRoute: Codable, Sendable, Equatable, Hashable {
    public var hostnames: [String]
    public var pathPrefix: String
    /// The instance port requests are sent to.
    public var port: Int

    public init(hostnames: [String], pathPrefix: String = "/", port: Int) {
        self.hostnames = hostnames
        self.pathPrefix = pathPrefix
        self.port = port
    }
}

/// A service (bucket `services`, key `<namespace>.<name>`).
public struct ServiceRecord: Codable, Sendable, Equatable {
    public var namespace: String
    public var name: String
    public var ports: [ServicePort]
    public var routes: [HTTPRoute]

    public init(namespace: String = "default", name: String, ports: [ServicePort] = [], routes: [HTTPRoute] = []) {
        self.namespace = namespace
        self.name = name
        self.ports = ports
        self.routes = routes
    }

    public var key: String { StoreKeys.service(namespace: namespace, name: name) }
}

/// One running copy of a service (bucket `instances`, key = instance id).
public struct InstanceRecord: Codable, Sendable, Equatable {
    public var id: String
    public var namespace: String
    public var service: String
    public var machine: String
    /// The instance's address: an IPv4 inside its machine's subnet (or any reachable address).
    public var address: String
    public var ready: Bool
    /// What runs it, for instances Ployz started (nil for instances published by hand).
    public var workload: WorkloadInstance?

    public init(id: String, namespace: String = "default", service: String, machine: String, address: String, ready: Bool = true,
                workload: WorkloadInstance? = nil) {
        self.id = id
        self.namespace = namespace
        self.service = service
        self.machine = machine
        self.address = address
        self.ready = ready
        self.workload = workload
    }
}

/// The container behind an instance that Ployz runs, as its node last saw it.
public struct WorkloadInstance: Codable, Sendable, Equatable {
    public var slot: Int
    public var revision: String
    public var container: String
    /// Docker's state: created, running, restarting, exited, ...
    public var state: String
    /// Docker's health: healthy, unhealthy, starting, or none (no healthcheck).
    public var health: String
    /// When the container entered its current state.
    public var since: Date?
    public var restarts: Int

    public init(slot: Int, revision: String, container: String, state: String, health: String, since: Date?, restarts: Int = 0) {
        self.slot = slot
        self.revision = revision
        self.container = container
        self.state = state
        self.health = health
        self.since = since?.roundedToMilliseconds
        self.restarts = restarts
    }
}

/// A TLS certificate for one hostname (bucket `certificates`, key from `StoreKeys.certificate`).
public struct CertificateRecord: Codable, Sendable, Equatable {
    /// Lower-case hostname, possibly `*.example.com`.
    public var hostname: String
    /// PEM chain, leaf first.
    public var certificatePEM: String
    public var privateKeyPEM: String
    public var notAfter: Date?

    public init(hostname: String, certificatePEM: String, privateKeyPEM: String, notAfter: Date? = nil) {
        self.hostname = hostname.lowercased()
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
        self.notAfter = notAfter?.roundedToMilliseconds
    }
}

/// An invitation to join (bucket `invites`, key = invite id).
public struct InviteRecord: Codable, Sendable, Equatable {
    public var id: String
    public var issuer: String
    public var subnet: IPv4CIDR
    public var expiresAt: Date
    public var consumedBy: String?
    public var revoked: Bool

    public init(id: String, issuer: String, subnet: IPv4CIDR, expiresAt: Date, consumedBy: String? = nil, revoked: Bool = false) {
        self.id = id
        self.issuer = issuer
        self.subnet = subnet
        self.expiresAt = expiresAt.roundedToMilliseconds
        self.consumedBy = consumedBy
        self.revoked = revoked
    }
}

extension Date {
    /// Records keep milliseconds, the precision of their JSON, so a stored record reads back equal.
    public var roundedToMilliseconds: Date {
        Date(timeIntervalSince1970: TimeInterval(PloyzDateFormat.milliseconds(self)) / 1000)
    }
}
