import Foundation
import Logging
import PloyzModel
import WireGuard
#if canImport(Glibc)
import Glibc
#endif

/// The node's WireGuard interface: created (kernel link, or a `wireguard-go` sidecar that makes
/// a TUN device), keyed, addressed and routed. Every step is idempotent, so resuming a network
/// after a daemon restart re-applies the state without disturbing traffic.
///
/// Addresses: the node's `.1` as a /32 (not the subnet's prefix), because the node subnet will
/// live on the workload bridge; a /32 here adds no competing subnet route through the tunnel.
/// The overlay IPv6 as a /128 without duplicate address detection, so NATS can bind it at once.
/// Routes through the interface, source `.1`: the whole `cluster_cidr` and `fd00::/8`.
struct MeshInterface: Sendable {
    static let mtu = 1420
    static let sidecarName = "wireguard-go"
    static let overlayRoute = "fd00::/8"

    let name: String
    let listenPort: Int
    let backend: WireGuardBackendKind
    let supervisor: Supervisor
    let logger: Logger

    var control: any WireGuardControl { WireGuardBackend.control(kind: backend, interface: name) }

    /// Brings the interface up for `record`, recording in `rollback` how to undo each change.
    func bringUp(_ record: NetworkRecord, keyPair: WireGuardKeyPair, rollback: Rollback) async throws {
        try await ensureDevice(network: record.name, rollback: rollback)
        let state = try await control.get()
        if state.publicKey != keyPair.publicKey || state.listenPort != listenPort {
            try await control.set(WireGuardDeviceUpdate(privateKey: keyPair.privateKey, listenPort: listenPort))
        }
        try Link.setMTU(name, Self.mtu)
        let present = Set(try Link.addresses(of: name))
        for address in Self.addresses(subnet: record.subnet, overlay: keyPair.publicKey.overlayAddress) where !present.contains(address) {
            try Link.addAddress(address, to: name)
            rollback.record("remove address \(address)") { [name] in IPAddressCommand.removeAddress(address, from: name) }
        }
        try Link.setUp(name)
        let routed = Set(try Link.routes(dev: name))
        for route in Self.routes(record, overlay: keyPair.publicKey.overlayAddress) where !routed.contains(route.destination) {
            try Link.addRoute(route.destination, dev: name, source: route.source)
            rollback.record("remove route \(route.destination)") { [name] in try? Link.deleteRoute(route.destination, dev: name) }
        }
    }

    /// Moves the device from `old` to `new`: the private key, the overlay address derived from it,
    /// and the overlay route's source (a peer accepts only packets from the address of its key).
    func switchKey(to new: WireGuardKeyPair, from old: WireGuardKeyPair) async throws {
        try await control.set(WireGuardDeviceUpdate(privateKey: new.privateKey))
        let address = "\(new.publicKey.overlayAddress)/128"
        if !(try Link.addresses(of: name)).contains(address) { try Link.addAddress(address, to: name) }
        try Link.addRoute(Self.overlayRoute, dev: name, source: new.publicKey.overlayAddress.description)
        IPAddressCommand.removeAddress("\(old.publicKey.overlayAddress)/128", from: name)
    }

    /// Stops the device: the wireguard-go sidecar (its TUN device goes with it) or the kernel link.
    func tearDown(network: String) async {
        if backend == .userspace { await supervisor.stop(Self.sidecarName, network: network) }
        do { try Link.delete(name) } catch { logger.warning("cannot delete interface", metadata: ["interface": "\(name)", "error": "\(error)"]) }
    }

    /// The interface's addresses as `ip` prints them.
    static func addresses(subnet: IPv4CIDR, overlay: IPv6Address) -> [String] {
        ["\(subnet.nodeAddress)/32", "\(overlay)/128"]
    }

    static func routes(_ record: NetworkRecord, overlay: IPv6Address) -> [(destination: String, source: String)] {
        [(record.clusterCIDR.description, record.subnet.nodeAddress.description), (overlayRoute, overlay.description)]
    }

    /// True when the link exists and is administratively up (IFF_UP in its sysfs flags).
    var isUp: Bool {
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(name)/flags", encoding: .utf8),
              let flags = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2), radix: 16) else { return false }
        return flags & 0x1 != 0
    }

    private func ensureDevice(network: String, rollback: Rollback) async throws {
        switch backend {
        case .kernel:
            guard !Link.exists(name) else { return }
            try Link.createKernelWireGuard(name)
            rollback.record("delete interface \(name)") { [name] in try? Link.delete(name) }
        case .userspace:
            let command = WireGuardBackend.userspaceCommand(interface: name)
            let spec = SidecarSpec(name: Self.sidecarName, executable: command.executable, arguments: command.arguments,
                                   environment: command.environment)
            let (_, outcome) = try await supervisor.ensure(spec, network: network)
            if outcome != .adopted {
                rollback.record("stop wireguard-go") { [self] in await tearDown(network: network) }
            }
            try await waitForUAPISocket(network: network)
        }
    }

    /// Waits for wireguard-go's UAPI socket, failing early (with its log) when it died.
    private func waitForUAPISocket(network: String, timeout: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                try await WireGuardBackend.waitForUAPISocket(interface: name, timeout: .milliseconds(200))
                return
            } catch {
                if await supervisor.liveProcess(Self.sidecarName, network: network) == nil {
                    throw SpawnError(description: "wireguard-go exited: \(supervisor.logTail(Self.sidecarName, network: network))")
                }
                guard ContinuousClock.now < deadline else { throw error }
            }
        }
    }
}

/// The one `ip` call the WireGuard module does not offer: removing an address (for rollback).
enum IPAddressCommand {
    static func removeAddress(_ cidr: String, from interface: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["address", "del", cidr, "dev", interface]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }
}
