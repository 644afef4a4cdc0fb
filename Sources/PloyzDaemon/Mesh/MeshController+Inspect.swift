import Foundation
import PloyzModel
import WireGuard

extension MeshController {
    /// A handshake older than this means the peer is not reachable (WireGuard's rekey window).
    static let handshakeWindow: TimeInterval = 180

    /// `daemon.info`: this daemon's version, pid and API version, and the active network.
    public func info() -> DaemonInfo {
        DaemonInfo(version: Daemon.version, pid: getpid(), activeNetwork: networks.activeName())
    }

    /// `mesh list`: every network of this node, sorted by name.
    public func list() -> [NetworkSummary] {
        let active = networks.activeName()
        return networks.names().compactMap { name in
            guard let record = try? networks.record(name), let keyPair = try? networks.keyPair(name) else { return nil }
            return NetworkSummary(name: name, active: name == active, phase: phase(of: name), subnet: record.subnet.description,
                                  overlayIPv6: keyPair.publicKey.overlayAddress.description, clusterCIDR: record.clusterCIDR.description)
        }
    }

    /// `mesh status [NAME]`: the network's record, its sidecars and the device's peers.
    public func status(_ requested: String?) async throws -> NetworkStatus {
        let name = try nameOrActive(requested, command: "status")
        let (record, keyPair) = try load(name)
        let phase = phase(of: name)
        let isUp = [.wireguard, .store, .publish, .sidecars, .running, .stopping].contains(phase)
        let device = isUp ? await deviceState() : nil
        let natsConfig = natsSidecar.serverConfig(record, overlay: keyPair.publicKey.overlayAddress)
        var sidecars: [SidecarStatus] = []
        if backend == .userspace {
            let process = await supervisor.liveProcess(MeshInterface.sidecarName, network: name)
            sidecars.append(SidecarStatus(name: MeshInterface.sidecarName, pid: process?.pid, running: process != nil,
                                          endpoint: "udp://0.0.0.0:\(config.wireguardPort)"))
        }
        let nats = await supervisor.liveProcess(NATSSidecar.name, network: name)
        sidecars.append(SidecarStatus(name: NATSSidecar.name, pid: nats?.pid, running: nats != nil, endpoint: natsConfig.clientURL))
        sidecars += await serviceSidecarStatus(network: name, overlay: keyPair.publicKey.overlayAddress)
        let peers = await peerStatuses(device?.peers ?? [])
        return NetworkStatus(
            name: name, active: networks.activeName() == name, phase: phase, machineID: record.machineID, machineName: record.machineName,
            clusterCIDR: record.clusterCIDR.description, subnet: record.subnet.description, nodeAddress: record.subnet.nodeAddress.description,
            overlayIPv6: keyPair.publicKey.overlayAddress.description, publicKey: keyPair.publicKey.base64, interface: config.wireguardInterface,
            backend: isUp ? backend?.rawValue : nil, listenPort: device?.listenPort ?? config.wireguardPort, sidecars: sidecars,
            peers: peers, lastError: lastErrors[name], store: await storeSummary(record, monitorPort: natsConfig.monitorPort, running: nats != nil))
    }

    /// One line on the store: standalone, or clustered with the routes this server has among the
    /// members it should route to, and the replica count.
    private func storeSummary(_ record: NetworkRecord, monitorPort: Int, running: Bool) async -> String? {
        guard running, liveNetwork == record.name else { return nil }
        guard record.clustered == true else { return "standalone nats-server (joins the NATS cluster at the first join)" }
        let expected = Set(Self.routePeers(knownMachines, ownID: record.machineID).map(\.description))
        let routed = await Task.detached { (try? NATSProbe.routeAddresses(monitorPort: monitorPort)) ?? [] }.value
        return "NATS cluster, routes to \(routed.intersection(expected).count) of \(expected.count) members, \(storeReplicas) replica(s)"
    }

    /// `mesh ready [NAME]`: each health check with what it found.
    public func ready(_ requested: String?) async -> ReadyReport {
        let name: String
        let record: NetworkRecord
        let keyPair: WireGuardKeyPair
        do {
            name = try nameOrActive(requested, command: "ready")
            (record, keyPair) = try load(name)
        } catch {
            return ReadyReport(network: requested, checks: [.init(name: "network", ok: false, detail: "\(error)")])
        }
        var checks: [ReadyReport.Check] = []
        let phase = phase(of: name)
        checks.append(.init(name: "phase", ok: phase == .running,
                            detail: phase == .running ? "running" : "phase is \(phase.rawValue)" + (lastErrors[name].map { ": \($0)" } ?? "")))
        checks.append(await wireguardCheck(keyPair))
        checks.append(storeCheck(record, keyPair: keyPair))
        let (recordCheck, machines) = await machineRecordCheck(record, keyPair: keyPair)
        checks.append(recordCheck)
        checks.append(await peersCheck(machines: machines, ownID: record.machineID))
        return ReadyReport(network: name, checks: checks)
    }

    func deviceState() async -> WireGuardDeviceState? {
        guard let backend else { return nil }
        let control = meshInterface(backend).control
        return try? await withTimeout(.seconds(2), "reading the wireguard device") { try await control.get() }
    }

    private func wireguardCheck(_ keyPair: WireGuardKeyPair) async -> ReadyReport.Check {
        guard let backend else { return .init(name: "wireguard", ok: false, detail: "the interface was not set up by this daemon") }
        let interface = meshInterface(backend)
        guard interface.isUp else { return .init(name: "wireguard", ok: false, detail: "interface \(interface.name) is missing or down") }
        guard let device = await deviceState() else {
            return .init(name: "wireguard", ok: false, detail: "interface \(interface.name) does not answer on its \(backend.rawValue) control")
        }
        guard device.publicKey == keyPair.publicKey else {
            return .init(name: "wireguard", ok: false, detail: "interface \(interface.name) holds another key than the network's")
        }
        return .init(name: "wireguard", ok: true, detail: "\(interface.name) up (\(backend.rawValue)), port \(device.listenPort), key \(keyPair.publicKey.base64)")
    }

    private func storeCheck(_ record: NetworkRecord, keyPair: WireGuardKeyPair) -> ReadyReport.Check {
        let url = natsSidecar.serverConfig(record, overlay: keyPair.publicKey.overlayAddress).clientURL
        let host = StoreURL.host(of: url) ?? keyPair.publicKey.overlayAddress.description
        do {
            try NATSProbe.authenticate(host: host, port: StoreURL.port(of: url) ?? config.natsPort,
                                       user: record.natsUser, password: record.natsPassword, timeout: .seconds(2))
            return .init(name: "store", ok: true, detail: "nats answers on \(url) with the network's credential")
        } catch {
            return .init(name: "store", ok: false, detail: "nats on \(url): \(error)")
        }
    }

    private func machineRecordCheck(_ record: NetworkRecord, keyPair: WireGuardKeyPair) async -> (ReadyReport.Check, [MachineRecord]) {
        guard let store else { return (.init(name: "machine_record", ok: false, detail: "not connected to the store"), []) }
        do {
            let machines = try await withTimeout(.seconds(2), "reading machines") { try await store.machines() }
            guard let own = machines.first(where: { $0.id == record.machineID }) else {
                return (.init(name: "machine_record", ok: false, detail: "machine \(record.machineID) is not in the store"), machines)
            }
            guard own.publicKey == keyPair.publicKey, own.lifecycle == .active else {
                return (.init(name: "machine_record", ok: false, detail: "machine \(record.machineID) is published as \(own.lifecycle.rawValue) with key \(own.publicKey)"), machines)
            }
            return (.init(name: "machine_record", ok: true, detail: "machine \(record.machineID) (\(record.machineName)) published, subnet \(own.subnet)"), machines)
        } catch {
            return (.init(name: "machine_record", ok: false, detail: "cannot read machines: \(error)"), [])
        }
    }

    private func peersCheck(machines: [MachineRecord], ownID: String) async -> ReadyReport.Check {
        let expected = machines.filter { $0.id != ownID && $0.lifecycle == .active }
        guard !expected.isEmpty else { return .init(name: "peers", ok: true, detail: "no peers") }
        let handshakes = Dictionary((await deviceState()?.peers ?? []).map { ($0.publicKey, $0.lastHandshake) }, uniquingKeysWith: { a, _ in a })
        let stale = expected.filter { machine in
            guard let handshake = handshakes[machine.publicKey] ?? nil else { return true }
            return Date().timeIntervalSince(handshake) > Self.handshakeWindow
        }
        guard stale.isEmpty else {
            return .init(name: "peers", ok: false, detail: "no handshake within \(Int(Self.handshakeWindow))s with: \(stale.map(\.name).joined(separator: ", "))")
        }
        return .init(name: "peers", ok: true, detail: "\(expected.count) peer(s), all with a handshake within \(Int(Self.handshakeWindow))s")
    }

    private func peerStatuses(_ peers: [WireGuardPeerState]) async -> [PeerStatus] {
        guard !peers.isEmpty else { return [] }
        // The machines convergence applied: what the peers were made from, and no store round
        // trip (a read through a busy cluster must not slow `mesh status`).
        var known = knownMachines
        if known.isEmpty, let store, let all = try? await withTimeout(.seconds(1), "reading machines", { try await store.machines() }) {
            known = all
        }
        let machines = Dictionary(known.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        return peers.map { peer in
            let machine = machines[peer.publicKey]
            return PeerStatus(name: machine?.name ?? "", machineID: machine?.id ?? "", publicKey: peer.publicKey.base64,
                              subnet: machine?.subnet.description ?? "", overlayIPv6: peer.publicKey.overlayAddress.description,
                              endpoint: peer.endpoint, lastHandshake: peer.lastHandshake, rxBytes: peer.rxBytes, txBytes: peer.txBytes)
        }
    }
}
