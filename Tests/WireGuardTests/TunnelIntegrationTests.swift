import Foundation
import PloyzModel
import Testing
@testable import WireGuard

/// Real wireguard-go devices in two network namespaces: configure, ping through, read back.
@Suite(.serialized, .enabled(if: TestHost.canRunWireGuardGo, "needs root, /dev/net/tun and wireguard-go"))
struct TunnelIntegrationTests {
    @Test func pingsAcrossTunnelOverIPv4AndOverlayIPv6() async throws {
        let lab = try TwoNodeLab()
        defer { lab.tearDown() }
        try await lab.startWireGuard()
        try await lab.configure(lab.a, peer: lab.b)
        try await lab.configure(lab.b, peer: lab.a)

        let ping4 = try lab.a.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", lab.b.subnetAddress])
        #expect(ping4.status == 0, "IPv4 ping through the tunnel failed: \(ping4.stdout)")
        let ping6 = try lab.a.exec(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "\(lab.b.overlay)"])
        #expect(ping6.status == 0, "overlay IPv6 ping through the tunnel failed: \(ping6.stdout)")

        let state = try await lab.a.uapi.get()
        #expect(state.publicKey == lab.a.keys.publicKey)
        #expect(state.listenPort == 51820)
        let peer = try #require(state.peers.first)
        #expect(state.peers.count == 1)
        #expect(peer.publicKey == lab.b.keys.publicKey)
        #expect(peer.endpoint == "192.0.2.2:51820")
        #expect(Set(peer.allowedIPs) == Set(["10.250.2.0/24", "\(lab.b.overlay)/128"]))
        let handshake = try #require(peer.lastHandshake)
        #expect(abs(handshake.timeIntervalSinceNow) < 120)
        #expect(peer.rxBytes > 0)
        #expect(peer.txBytes > 0)

        // Applied state matches the plan: planning again changes nothing.
        #expect(PeerPlan.diff(current: state.peers, desired: [lab.b.asPeer]).isEmpty)
    }

    @Test func linkSetupIsReadableAndIdempotent() async throws {
        let lab = try TwoNodeLab()
        defer { lab.tearDown() }
        try await lab.startWireGuard()
        try await lab.configure(lab.a, peer: lab.b)
        // Configuring twice must not fail: addresses and routes are replaced, not duplicated.
        try await lab.configure(lab.a, peer: lab.b)

        let node = lab.a
        #expect(Link.exists(node.interface, netns: node.namespace))
        #expect(!Link.exists(node.interface))
        let addresses = try Link.addresses(of: node.interface, netns: node.namespace)
        #expect(addresses.contains("10.250.1.1/32"))
        #expect(addresses.contains("\(node.overlay)/128"))
        #expect(addresses.filter { $0 == "10.250.1.1/32" }.count == 1)
        let routes = try Link.routes(dev: node.interface, netns: node.namespace)
        #expect(routes.contains("10.250.2.0/24"))
        #expect(routes.contains("fd00::/8"))
        let mtu = try node.exec(["cat", "/sys/class/net/\(node.interface)/mtu"])
        #expect(mtu.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1420")

        try Link.deleteRoute("10.250.2.0/24", dev: node.interface, netns: node.namespace)
        try Link.deleteRoute("10.250.2.0/24", dev: node.interface, netns: node.namespace)
        #expect(try !Link.routes(dev: node.interface, netns: node.namespace).contains("10.250.2.0/24"))

        #expect(throws: LinkError.self) { try Link.setMTU("\(lab.tag)none", 1420, netns: node.namespace) }
    }

    @Test func peerChangesApplyThroughUAPIAndWG() async throws {
        let lab = try TwoNodeLab()
        defer { lab.tearDown() }
        try await lab.startWireGuard()
        try await lab.configure(lab.a, peer: lab.b)
        let control = lab.a.uapi

        // Add a second peer, move the first to another endpoint and give it keepalive.
        let extra = WireGuardPeer(
            publicKey: WireGuardKeyPair.generate().publicKey, endpoint: "[2001:db8::7]:51820",
            allowedIPs: ["10.250.9.0/24"], persistentKeepalive: 25)
        var moved = lab.b.asPeer
        moved.endpoint = "192.0.2.99:51821"
        moved.persistentKeepalive = 15
        let desired = [moved, extra]
        let update = PeerPlan.diff(current: try await control.get().peers, desired: desired)
        #expect(update.peers.count == 2)
        try await control.set(update)
        var state = try await control.get()
        #expect(PeerPlan.diff(current: state.peers, desired: desired).isEmpty)
        let movedState = try #require(state.peers.first { $0.publicKey == moved.publicKey })
        #expect(movedState.endpoint == "192.0.2.99:51821")
        #expect(movedState.persistentKeepalive == 15)
        #expect(state.peers.first { $0.publicKey == extra.publicKey }?.endpoint == "[2001:db8::7]:51820")

        // The wg-tool control reads the same device (wg falls back to the UAPI socket) and removes a peer.
        let wgControl = KernelControl(interface: lab.a.interface)
        let viaWG = try await wgControl.get()
        #expect(viaWG.publicKey == lab.a.keys.publicKey)
        #expect(Set(viaWG.peers.map(\.publicKey)) == Set(state.peers.map(\.publicKey)))
        try await wgControl.set(PeerPlan.diff(current: viaWG.peers, desired: [extra]))
        state = try await control.get()
        #expect(state.peers.map(\.publicKey) == [extra.publicKey])

        // Key rotation and port change through wg (the private key goes over stdin, never argv).
        let rotated = WireGuardKeyPair.generate()
        try await wgControl.set(WireGuardDeviceUpdate(privateKey: rotated.privateKey, listenPort: 51999))
        let afterRotation = try await control.get()
        #expect(afterRotation.publicKey == rotated.publicKey)
        #expect(afterRotation.listenPort == 51999)

        // replacePeers drops everything not named, through both controls.
        try await wgControl.set(WireGuardDeviceUpdate(replacePeers: true, peers: []))
        #expect(try await control.get().peers.isEmpty)
        try await control.set(WireGuardDeviceUpdate(peers: [WireGuardPeerUpdate(publicKey: extra.publicKey, allowedIPs: ["10.250.9.0/24"])]))
        try await control.set(WireGuardDeviceUpdate(replacePeers: true))
        #expect(try await control.get().peers.isEmpty)

        // The device answers a request it cannot apply with a non-zero errno.
        let answer = try UAPISocket.exchange("set=1\nno_such_key=1\n\n", path: control.socketPath, timeout: .seconds(5))
        #expect(try UAPIMessage.errno(inAnswer: answer) != 0)
    }

    @Test func waitingForAMissingSocketTimesOut() async throws {
        let interface = uniqueTag() + "x"
        await #expect(throws: WireGuardError.socketTimeout(
            path: UAPIClient.socketPath(interface: interface), timeout: .milliseconds(100))) {
            try await WireGuardBackend.waitForUAPISocket(interface: interface, timeout: .milliseconds(100))
        }
    }

    @Test func backendDetectionMatchesTheKernel() throws {
        let probe = "\(uniqueTag())k"
        let kernelHasWireGuard = try Command.run(Link.ip, ["link", "add", probe, "type", "wireguard"]).status == 0
        defer { try? Link.delete(probe) }
        #expect(WireGuardBackend.detect() == (kernelHasWireGuard ? .kernel : .userspace))
        #expect(!Link.exists(probe) || kernelHasWireGuard)
    }
}
