import Foundation
import PloyzModel

/// Controls a kernel WireGuard interface through wireguard-tools: `wg show <if> dump` to read and
/// `wg set` to change. (Talking generic netlink directly is out of scope for now; `wg` does it for us.)
/// `wg` falls back to the UAPI socket when no kernel interface has the name, so this also drives
/// wireguard-go, which is how it is tested on machines without the kernel module.
public struct KernelControl: WireGuardControl {
    public let interface: String
    static let wg = "/usr/bin/wg"
    static let timeout: Duration = .seconds(10)

    public init(interface: String) {
        self.interface = interface
    }

    public func get() async throws -> WireGuardDeviceState {
        try WGDump.parse(try runWG(["show", interface, "dump"]))
    }

    public func set(_ update: WireGuardDeviceUpdate) async throws {
        guard !update.isEmpty else { return }
        // `wg set` has no replace_peers and its allowed-ips always replace: read the device when the
        // update needs what is there now.
        let needsCurrent = update.replacePeers || update.peers.contains { !$0.remove && !$0.replaceAllowedIPs && !$0.allowedIPs.isEmpty }
        let current = needsCurrent ? try await get() : nil
        let arguments = try WGDump.setArguments(interface: interface, update: update, current: current)
        try runWG(arguments, stdin: update.privateKey.map { $0.base64 + "\n" })
    }

    @discardableResult
    private func runWG(_ arguments: [String], stdin: String? = nil) throws -> String {
        try Command.check(Self.wg, arguments, stdin: stdin, timeout: Self.timeout) { line, status, stderr in
            WireGuardError.wgTool(command: line, status: status, stderr: stderr)
        }
    }
}

/// The text formats of wireguard-tools. Pure.
enum WGDump {
    /// Parses `wg show <if> dump`: a tab-separated device line (private key, public key, listen
    /// port, fwmark), then one line per peer (public key, preshared key, endpoint, allowed IPs,
    /// latest handshake, rx, tx, keepalive).
    static func parse(_ text: String) throws -> WireGuardDeviceState {
        let lines = text.split(separator: "\n")
        guard let first = lines.first else { throw WireGuardError.malformedResponse("wg dump is empty") }
        let device = first.split(separator: "\t", omittingEmptySubsequences: false)
        guard device.count >= 4, let listenPort = Int(device[2]) else {
            throw WireGuardError.malformedResponse("wg dump device line has \(device.count) fields, expected 4")
        }
        var state = WireGuardDeviceState(publicKey: WireGuardKey(base64: String(device[1])), listenPort: listenPort)
        for line in lines.dropFirst() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 8, let key = WireGuardKey(base64: fields[0]),
                  let handshake = TimeInterval(fields[4]), let rx = UInt64(fields[5]), let tx = UInt64(fields[6]) else {
                throw WireGuardError.malformedResponse("wg dump peer line is not 8 valid fields")
            }
            state.peers.append(WireGuardPeerState(
                publicKey: key,
                endpoint: fields[2] == "(none)" ? nil : fields[2],
                allowedIPs: fields[3] == "(none)" ? [] : fields[3].split(separator: ",").map(String.init),
                lastHandshake: handshake == 0 ? nil : Date(timeIntervalSince1970: handshake),
                rxBytes: rx, txBytes: tx,
                persistentKeepalive: Int(fields[7]).flatMap { $0 == 0 ? nil : $0 }))
        }
        return state
    }

    /// `wg set` arguments for `update`; the private key, when set, is read from standard input.
    /// `current` is needed for `replacePeers` and for adding (not replacing) allowed IPs.
    static func setArguments(interface: String, update: WireGuardDeviceUpdate, current: WireGuardDeviceState?) throws -> [String] {
        var arguments = ["set", interface]
        if let listenPort = update.listenPort {
            arguments += ["listen-port", String(try WireGuardText.validUInt16(listenPort, "listen port"))]
        }
        if update.privateKey != nil { arguments += ["private-key", "/dev/stdin"] }
        var peers = update.peers
        if update.replacePeers {
            let kept = Set(update.peers.map(\.publicKey))
            peers += (current?.peers ?? []).filter { !kept.contains($0.publicKey) }.map { .removal(of: $0.publicKey) }
        }
        for peer in peers {
            arguments += ["peer", peer.publicKey.base64]
            if peer.remove {
                arguments.append("remove")
                continue
            }
            if let endpoint = peer.endpoint {
                arguments += ["endpoint", try WireGuardText.validEndpoint(endpoint)]
            }
            if let keepalive = peer.persistentKeepalive {
                let seconds = try WireGuardText.validUInt16(keepalive, "persistent keepalive")
                arguments += ["persistent-keepalive", seconds == 0 ? "off" : String(seconds)]
            }
            if peer.replaceAllowedIPs || !peer.allowedIPs.isEmpty {
                let existing = peer.replaceAllowedIPs ? [] : current?.peers.first { $0.publicKey == peer.publicKey }?.allowedIPs ?? []
                var cidrs = existing
                for allowed in peer.allowedIPs {
                    let cidr = try WireGuardText.validCIDR(allowed)
                    if !cidrs.contains(cidr) { cidrs.append(cidr) }
                }
                arguments += ["allowed-ips", cidrs.joined(separator: ",")]
            }
        }
        return arguments
    }
}
