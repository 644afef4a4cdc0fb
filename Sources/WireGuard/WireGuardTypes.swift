import Foundation
import PloyzModel

/// Which implementation carries the tunnel: the Linux kernel module, or `wireguard-go` on a TUN device.
public enum WireGuardBackendKind: String, Sendable, Codable {
    case kernel
    case userspace = "wireguard-go"
}

/// A peer as the node wants it configured.
public struct WireGuardPeer: Hashable, Sendable {
    public var publicKey: WireGuardKey
    /// `"1.2.3.4:51820"` or `"[fd00::1]:51820"`; nil leaves whatever endpoint the device has (or learned).
    public var endpoint: String?
    /// CIDR text, e.g. `"10.101.3.0/24"`, `"fd12:3456::1/128"`.
    public var allowedIPs: [String]
    /// Seconds; nil or 0 means off.
    public var persistentKeepalive: Int?

    public init(publicKey: WireGuardKey, endpoint: String? = nil, allowedIPs: [String], persistentKeepalive: Int? = nil) {
        self.publicKey = publicKey
        self.endpoint = endpoint
        self.allowedIPs = allowedIPs
        self.persistentKeepalive = persistentKeepalive
    }
}

/// A peer as the device reports it.
public struct WireGuardPeerState: Sendable, Equatable {
    public var publicKey: WireGuardKey
    public var endpoint: String?
    public var allowedIPs: [String]
    /// nil when the peer never completed a handshake.
    public var lastHandshake: Date?
    public var rxBytes: UInt64
    public var txBytes: UInt64
    /// nil when keepalive is off.
    public var persistentKeepalive: Int?

    public init(
        publicKey: WireGuardKey, endpoint: String? = nil, allowedIPs: [String] = [], lastHandshake: Date? = nil,
        rxBytes: UInt64 = 0, txBytes: UInt64 = 0, persistentKeepalive: Int? = nil
    ) {
        self.publicKey = publicKey
        self.endpoint = endpoint
        self.allowedIPs = allowedIPs
        self.lastHandshake = lastHandshake
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.persistentKeepalive = persistentKeepalive
    }
}

/// The device as it reports itself. Holds the public key only: the private key is read to derive it
/// and then dropped, so this value is always safe to log.
public struct WireGuardDeviceState: Sendable, Equatable {
    /// nil when the device has no private key yet.
    public var publicKey: WireGuardKey?
    public var listenPort: Int
    public var peers: [WireGuardPeerState]

    public init(publicKey: WireGuardKey? = nil, listenPort: Int = 0, peers: [WireGuardPeerState] = []) {
        self.publicKey = publicKey
        self.listenPort = listenPort
        self.peers = peers
    }
}

/// A change to one peer. Fields left nil (or `replaceAllowedIPs == false` with no IPs) stay as they are.
public struct WireGuardPeerUpdate: Sendable, Equatable {
    public var publicKey: WireGuardKey
    /// Remove the peer; every other field is then ignored.
    public var remove: Bool
    public var endpoint: String?
    /// Replace the peer's allowed IPs with `allowedIPs` instead of adding to them.
    public var replaceAllowedIPs: Bool
    public var allowedIPs: [String]
    /// Seconds; 0 turns keepalive off, nil leaves it unchanged.
    public var persistentKeepalive: Int?

    public init(
        publicKey: WireGuardKey, remove: Bool = false, endpoint: String? = nil, replaceAllowedIPs: Bool = false,
        allowedIPs: [String] = [], persistentKeepalive: Int? = nil
    ) {
        self.publicKey = publicKey
        self.remove = remove
        self.endpoint = endpoint
        self.replaceAllowedIPs = replaceAllowedIPs
        self.allowedIPs = allowedIPs
        self.persistentKeepalive = persistentKeepalive
    }

    /// An update that removes the peer.
    public static func removal(of publicKey: WireGuardKey) -> WireGuardPeerUpdate {
        WireGuardPeerUpdate(publicKey: publicKey, remove: true)
    }
}

/// A change to the device. Its description never shows the private key.
public struct WireGuardDeviceUpdate: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var privateKey: WireGuardKey?
    public var listenPort: Int?
    /// Remove every peer not named in `peers`, all in one step.
    public var replacePeers: Bool
    public var peers: [WireGuardPeerUpdate]

    public init(privateKey: WireGuardKey? = nil, listenPort: Int? = nil, replacePeers: Bool = false, peers: [WireGuardPeerUpdate] = []) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.replacePeers = replacePeers
        self.peers = peers
    }

    /// True when applying it would change nothing.
    public var isEmpty: Bool { privateKey == nil && listenPort == nil && !replacePeers && peers.isEmpty }

    public var description: String {
        var parts: [String] = []
        if privateKey != nil { parts.append("privateKey=<redacted>") }
        if let listenPort { parts.append("listenPort=\(listenPort)") }
        if replacePeers { parts.append("replacePeers") }
        let removed = peers.filter(\.remove).count
        parts.append("peers: \(peers.count - removed) set, \(removed) removed")
        return "WireGuardDeviceUpdate(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }
}

/// Reads and changes one WireGuard device, whichever backend runs it.
public protocol WireGuardControl: Sendable {
    func get() async throws -> WireGuardDeviceState
    func set(_ update: WireGuardDeviceUpdate) async throws
}
