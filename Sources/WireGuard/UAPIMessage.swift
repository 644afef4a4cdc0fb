import Foundation
import PloyzModel

/// The WireGuard cross-platform userspace API as text: `get=1` and `set=1` requests, `key=value`
/// lines, a blank line ending each message, `errno=N` closing each answer. Pure: no I/O.
enum UAPIMessage {
    static let getRequest = "get=1\n\n"

    /// The `set=1` request for `update`, keys in hex. Throws for a value the protocol cannot carry.
    static func setRequest(_ update: WireGuardDeviceUpdate) throws -> String {
        var lines = ["set=1"]
        if let privateKey = update.privateKey { lines.append("private_key=\(privateKey.hex)") }
        if let listenPort = update.listenPort {
            lines.append("listen_port=\(try WireGuardText.validUInt16(listenPort, "listen port"))")
        }
        if update.replacePeers { lines.append("replace_peers=true") }
        for peer in update.peers {
            lines.append("public_key=\(peer.publicKey.hex)")
            if peer.remove {
                lines.append("remove=true")
                continue
            }
            if let endpoint = peer.endpoint {
                lines.append("endpoint=\(try WireGuardText.validEndpoint(endpoint))")
            }
            if let keepalive = peer.persistentKeepalive {
                lines.append("persistent_keepalive_interval=\(try WireGuardText.validUInt16(keepalive, "persistent keepalive"))")
            }
            if peer.replaceAllowedIPs { lines.append("replace_allowed_ips=true") }
            for allowed in peer.allowedIPs {
                lines.append("allowed_ip=\(try WireGuardText.validCIDR(allowed))")
            }
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// The errno closing an answer (`errno=0` is success).
    static func errno(inAnswer text: String) throws -> Int {
        for line in text.split(separator: "\n") where line.hasPrefix("errno=") {
            guard let value = Int(line.dropFirst("errno=".count)) else {
                throw WireGuardError.malformedResponse("errno line \"\(line)\" is not a number")
            }
            return value
        }
        throw WireGuardError.malformedResponse("answer has no errno line")
    }

    /// Parses a `get=1` answer. Unknown keys are skipped so a newer wireguard-go still parses.
    static func parseGet(_ text: String) throws -> WireGuardDeviceState {
        var device = WireGuardDeviceState()
        var peer: WireGuardPeerState?
        var handshakeSeconds: Int64 = 0, handshakeNanoseconds: Int64 = 0
        var sawErrno = false

        func finishPeer() {
            guard var current = peer else { return }
            if handshakeSeconds != 0 || handshakeNanoseconds != 0 {
                current.lastHandshake = Date(timeIntervalSince1970: Double(handshakeSeconds) + Double(handshakeNanoseconds) / 1e9)
            }
            device.peers.append(current)
            peer = nil
            handshakeSeconds = 0
            handshakeNanoseconds = 0
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { break }
            guard let equals = line.firstIndex(of: "=") else {
                throw WireGuardError.malformedResponse("line \"\(line)\" is not key=value")
            }
            let key = line[..<equals], value = String(line[line.index(after: equals)...])
            if key == "errno" {
                guard let number = Int(value) else { throw WireGuardError.malformedResponse("errno \"\(value)\" is not a number") }
                guard number == 0 else { throw WireGuardError.uapi(errno: number, operation: "get") }
                sawErrno = true
                break
            }
            if key == "public_key" {
                finishPeer()
                peer = WireGuardPeerState(publicKey: try hexKey(value, field: "public_key"))
                continue
            }
            if var current = peer {
                switch key {
                case "endpoint": current.endpoint = value
                case "allowed_ip": current.allowedIPs.append(value)
                case "last_handshake_time_sec": handshakeSeconds = try number(value, field: key)
                case "last_handshake_time_nsec": handshakeNanoseconds = try number(value, field: key)
                case "rx_bytes": current.rxBytes = try number(value, field: key)
                case "tx_bytes": current.txBytes = try number(value, field: key)
                case "persistent_keepalive_interval":
                    let seconds: Int = try number(value, field: key)
                    current.persistentKeepalive = seconds == 0 ? nil : seconds
                default: break  // preshared_key, protocol_version, and keys added later
                }
                peer = current
            } else {
                switch key {
                case "private_key":
                    let privateKey = try hexKey(value, field: "private_key")
                    // An all-zero key means "none set"; it is not a valid Curve25519 key to derive from.
                    if privateKey.bytes.contains(where: { $0 != 0 }) {
                        device.publicKey = try? WireGuardKeyPair(privateKey: privateKey).publicKey
                    }
                case "listen_port": device.listenPort = try number(value, field: key)
                default: break  // fwmark and keys added later
                }
            }
        }
        guard sawErrno else { throw WireGuardError.malformedResponse("answer ended without errno") }
        finishPeer()
        return device
    }

    private static func hexKey(_ text: String, field: String) throws -> WireGuardKey {
        guard let key = WireGuardKey(hex: text) else {
            throw WireGuardError.malformedResponse("\(field) is not a 64-digit hex key")
        }
        return key
    }

    private static func number<T: FixedWidthInteger>(_ text: String, field: Substring) throws -> T {
        guard let value = T(text) else { throw WireGuardError.malformedResponse("\(field)=\(text) is not a number") }
        return value
    }
}
