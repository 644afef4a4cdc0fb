import Foundation
import PloyzModel

/// The control API between `ployzctl` and `ployzd`: one JSON object per line over the daemon's
/// unix socket, a request then its response. Types here are shared by both sides; the methods and
/// their payloads are in `ControlCall.swift` and `ControlCalls+*.swift`.
public enum ControlAPI {
    /// Bumped when a request or response changes incompatibly (2: one typed payload per method,
    /// errors with a `code`).
    public static let version = 2
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
