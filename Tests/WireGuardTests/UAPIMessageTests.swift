import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PloyzModel
import Testing
@testable import WireGuard

private let privateHex = "88f4219fb890dc2928b2b0888527c8ba25b8bbd96d768e33dd8dd55da78ab85f"
private let peerHex = "6fd84e0e0d273303934764539fd89f3fd782eb0f9d16c3257d566c05bcb52b65"
private let secondHex = String(repeating: "ab", count: 32)

/// An answer as wireguard-go 0.0.20220316 prints it (captured from a real device).
private let sampleAnswer = """
    private_key=\(privateHex)
    listen_port=51820
    fwmark=0
    public_key=\(peerHex)
    preshared_key=0000000000000000000000000000000000000000000000000000000000000000
    protocol_version=1
    endpoint=[fd00::1]:51820
    last_handshake_time_sec=1700000000
    last_handshake_time_nsec=500000000
    tx_bytes=1234
    rx_bytes=5678
    persistent_keepalive_interval=25
    allowed_ip=10.9.0.0/24
    allowed_ip=fd00::5/128
    public_key=\(secondHex)
    protocol_version=1
    endpoint=192.0.2.7:51821
    last_handshake_time_sec=0
    last_handshake_time_nsec=0
    tx_bytes=0
    rx_bytes=0
    persistent_keepalive_interval=0
    errno=0


    """

@Suite struct UAPIMessageTests {
    @Test func parsesDeviceAndPeers() throws {
        let state = try UAPIMessage.parseGet(sampleAnswer)
        let privateKey = try #require(WireGuardKey(hex: privateHex))
        #expect(state.publicKey == (try WireGuardKeyPair(privateKey: privateKey)).publicKey)
        #expect(state.listenPort == 51820)
        #expect(state.peers.count == 2)

        let first = state.peers[0]
        #expect(first.publicKey == WireGuardKey(hex: peerHex))
        #expect(first.endpoint == "[fd00::1]:51820")
        #expect(first.allowedIPs == ["10.9.0.0/24", "fd00::5/128"])
        #expect(first.lastHandshake == Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(first.txBytes == 1234)
        #expect(first.rxBytes == 5678)
        #expect(first.persistentKeepalive == 25)

        let second = state.peers[1]
        #expect(second.publicKey == WireGuardKey(hex: secondHex))
        #expect(second.endpoint == "192.0.2.7:51821")
        #expect(second.allowedIPs.isEmpty)
        #expect(second.lastHandshake == nil)
        #expect(second.persistentKeepalive == nil)
    }

    @Test func parsesADeviceWithoutKeyOrPeers() throws {
        let state = try UAPIMessage.parseGet("listen_port=0\nerrno=0\n\n")
        #expect(state == WireGuardDeviceState(publicKey: nil, listenPort: 0, peers: []))
        #expect(try UAPIMessage.parseGet("errno=0\n\n") == WireGuardDeviceState())
    }

    @Test func skipsKeysItDoesNotKnow() throws {
        let state = try UAPIMessage.parseGet("listen_port=7\nsome_future_key=x\npublic_key=\(peerHex)\nanother=1\nerrno=0\n\n")
        #expect(state.listenPort == 7)
        #expect(state.peers.map(\.publicKey) == [WireGuardKey(hex: peerHex)!])
    }

    @Test func rejectsErrorsAndMalformedAnswers() {
        #expect(throws: WireGuardError.uapi(errno: 19, operation: "get")) { try UAPIMessage.parseGet("errno=19\n\n") }
        #expect(throws: WireGuardError.self) { try UAPIMessage.parseGet("listen_port=1\n\n") }
        #expect(throws: WireGuardError.self) { try UAPIMessage.parseGet("listen_port\nerrno=0\n\n") }
        #expect(throws: WireGuardError.self) { try UAPIMessage.parseGet("public_key=zz\nerrno=0\n\n") }
        #expect(throws: WireGuardError.self) { try UAPIMessage.parseGet("public_key=\(peerHex)\nrx_bytes=-1\nerrno=0\n\n") }
    }

    @Test func readsTheErrnoOfASetAnswer() throws {
        #expect(try UAPIMessage.errno(inAnswer: "errno=0\n\n") == 0)
        #expect(try UAPIMessage.errno(inAnswer: "errno=22\n\n") == 22)
        #expect(throws: WireGuardError.self) { try UAPIMessage.errno(inAnswer: "\n") }
    }

    @Test func rendersAFullSetRequestByteExact() throws {
        let update = WireGuardDeviceUpdate(
            privateKey: WireGuardKey(hex: privateHex), listenPort: 51820, replacePeers: true,
            peers: [
                WireGuardPeerUpdate(
                    publicKey: WireGuardKey(hex: peerHex)!, endpoint: "[fd00::0001]:51820", replaceAllowedIPs: true,
                    allowedIPs: ["10.9.0.7/24", "fd00::5/128"], persistentKeepalive: 25),
                .removal(of: WireGuardKey(hex: secondHex)!),
            ])
        let expected = """
            set=1
            private_key=\(privateHex)
            listen_port=51820
            replace_peers=true
            public_key=\(peerHex)
            endpoint=[fd00::1]:51820
            persistent_keepalive_interval=25
            replace_allowed_ips=true
            allowed_ip=10.9.0.0/24
            allowed_ip=fd00::5/128
            public_key=\(secondHex)
            remove=true


            """
        #expect(try UAPIMessage.setRequest(update) == expected)
    }

    @Test func rendersOnlyWhatChanges() throws {
        let update = WireGuardDeviceUpdate(peers: [
            WireGuardPeerUpdate(publicKey: WireGuardKey(hex: peerHex)!, persistentKeepalive: 0),
        ])
        #expect(try UAPIMessage.setRequest(update) == "set=1\npublic_key=\(peerHex)\npersistent_keepalive_interval=0\n\n")
    }

    @Test func refusesValuesTheProtocolCannotCarry() {
        let key = WireGuardKey(hex: peerHex)!
        for bad in [
            WireGuardDeviceUpdate(listenPort: 70000),
            WireGuardDeviceUpdate(peers: [WireGuardPeerUpdate(publicKey: key, endpoint: "1.2.3.4:51820\nremove=true")]),
            WireGuardDeviceUpdate(peers: [WireGuardPeerUpdate(publicKey: key, endpoint: "fd00::1:51820")]),
            WireGuardDeviceUpdate(peers: [WireGuardPeerUpdate(publicKey: key, allowedIPs: ["10.0.0.0"])]),
            WireGuardDeviceUpdate(peers: [WireGuardPeerUpdate(publicKey: key, allowedIPs: ["10.0.0.0/33"])]),
            WireGuardDeviceUpdate(peers: [WireGuardPeerUpdate(publicKey: key, persistentKeepalive: -1)]),
        ] {
            #expect(throws: WireGuardError.self) { try UAPIMessage.setRequest(bad) }
        }
    }

    @Test func updateDescriptionNeverShowsThePrivateKey() {
        let keys = WireGuardKeyPair.generate()
        let update = WireGuardDeviceUpdate(privateKey: keys.privateKey, listenPort: 51820)
        for text in [update.description, String(describing: update), String(reflecting: update), "\(update)"] {
            #expect(!text.contains(keys.privateKey.base64))
            #expect(!text.contains(keys.privateKey.hex))
        }
        #expect(update.description.contains("<redacted>"))
    }
}

@Suite struct WGDumpTests {
    private let privateKey = WireGuardKeyPair.generate()
    private let peer = WireGuardKeyPair.generate().publicKey
    private let other = WireGuardKeyPair.generate().publicKey

    @Test func parsesDump() throws {
        let dump = """
            \(privateKey.privateKey.base64)\t\(privateKey.publicKey.base64)\t51820\toff
            \(peer.base64)\t(none)\t[fd00::1]:51820\t10.9.0.0/24,fd00::5/128\t1700000000\t10\t20\t25
            \(other.base64)\t(none)\t(none)\t(none)\t0\t0\t0\toff

            """
        let state = try WGDump.parse(dump)
        #expect(state.publicKey == privateKey.publicKey)
        #expect(state.listenPort == 51820)
        #expect(state.peers == [
            WireGuardPeerState(
                publicKey: peer, endpoint: "[fd00::1]:51820", allowedIPs: ["10.9.0.0/24", "fd00::5/128"],
                lastHandshake: Date(timeIntervalSince1970: 1_700_000_000), rxBytes: 10, txBytes: 20, persistentKeepalive: 25),
            WireGuardPeerState(publicKey: other),
        ])
        #expect(throws: WireGuardError.self) { try WGDump.parse("") }
        #expect(throws: WireGuardError.self) { try WGDump.parse("a\tb\n") }
    }

    @Test func rendersSetArgumentsWithReplacePeersAndAddedAllowedIPs() throws {
        let current = WireGuardDeviceState(peers: [
            WireGuardPeerState(publicKey: peer, allowedIPs: ["10.9.0.0/24"]),
            WireGuardPeerState(publicKey: other),
        ])
        let update = WireGuardDeviceUpdate(
            privateKey: privateKey.privateKey, listenPort: 51820, replacePeers: true,
            peers: [WireGuardPeerUpdate(publicKey: peer, endpoint: "192.0.2.1:51820", allowedIPs: ["fd00::5/128"], persistentKeepalive: 0)])
        let arguments = try WGDump.setArguments(interface: "wg0", update: update, current: current)
        #expect(arguments == [
            "set", "wg0", "listen-port", "51820", "private-key", "/dev/stdin",
            "peer", peer.base64, "endpoint", "192.0.2.1:51820", "persistent-keepalive", "off",
            "allowed-ips", "10.9.0.0/24,fd00::5/128",
            "peer", other.base64, "remove",
        ])
        #expect(!arguments.contains(privateKey.privateKey.base64))
    }
}

@Suite struct WireGuardTextTests {
    @Test func normalizesCIDRs() {
        #expect(WireGuardText.normalizedCIDR("10.1.2.3/24") == "10.1.2.0/24")
        #expect(WireGuardText.normalizedCIDR("10.1.2.3/32") == "10.1.2.3/32")
        #expect(WireGuardText.normalizedCIDR("0.0.0.0/0") == "0.0.0.0/0")
        #expect(WireGuardText.normalizedCIDR("FD00:0::1/8") == "fd00::/8")
        #expect(WireGuardText.normalizedCIDR("fd12:3456:789a::1/128") == "fd12:3456:789a::1/128")
        #expect(WireGuardText.normalizedCIDR("fd12:34ff::/20") == "fd12:3000::/20")
        for bad in ["10.1.2.3", "10.1.2.3/33", "fd00::/129", "x/8", "10.1.2.3/", "10.1.2.3/-1", "fe80::1%eth0/64"] {
            #expect(WireGuardText.normalizedCIDR(bad) == nil, "\(bad)")
        }
    }

    @Test func normalizesEndpoints() {
        #expect(WireGuardText.normalizedEndpoint("192.0.2.1:51820") == "192.0.2.1:51820")
        #expect(WireGuardText.normalizedEndpoint("[FD00:0::1]:51820") == "[fd00::1]:51820")
        for bad in ["192.0.2.1", "fd00::1:51820", "[fd00::1]", "192.0.2.1:0", "192.0.2.1:65536", "host:1", "[1.2.3.4]:5"] {
            #expect(WireGuardText.normalizedEndpoint(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct UAPIClientTests {
    @Test func socketPathFollowsTheConvention() {
        #expect(UAPIClient.socketPath(interface: "wg0") == "/var/run/wireguard/wg0.sock")
        #expect(UAPIClient.socketPath(interface: "wg0", runDirectory: "/run/ployz/wg") == "/run/ployz/wg/wg0.sock")
    }

    @Test func aMissingSocketFailsWithItsErrno() async {
        let path = "/tmp/\(uniqueTag()).sock"
        await #expect(throws: WireGuardError.socket(errno: ENOENT, operation: "connect", path: path)) {
            try await UAPIClient(socketPath: path).get()
        }
    }

    @Test func anEmptyUpdateSendsNothing() async throws {
        // No device listens here: an empty update must not even connect.
        try await UAPIClient(socketPath: "/tmp/\(uniqueTag()).sock").set(WireGuardDeviceUpdate())
    }
}
