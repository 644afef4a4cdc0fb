import Foundation
import PloyzModel
@testable import WireGuard
#if canImport(Glibc)
import Glibc
#endif

/// Integration tests need root, /dev/net/tun, iproute2 and wireguard-go.
enum TestHost {
    static var canRunNamespaces: Bool {
        getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/net/tun")
            && FileManager.default.isExecutableFile(atPath: Link.ip)
    }
    static var canRunWireGuardGo: Bool {
        canRunNamespaces && FileManager.default.isExecutableFile(atPath: WireGuardBackend.userspaceExecutable)
    }
}

/// A unique tag for names this test run creates (`pwg` + 6 hex digits: short enough that
/// `<tag>xa` fits the 15-byte interface name limit).
func uniqueTag() -> String {
    "pwg" + String(format: "%06x", UInt32.random(in: 0..<0xFF_FFFF))
}

/// Runs `ip` and fails the test on a non-zero exit.
@discardableResult
func ip(_ arguments: String...) throws -> String {
    try Command.check(Link.ip, arguments) { line, status, stderr in LinkError(command: line, status: status, stderr: stderr) }
}

/// One WireGuard node of a lab: a namespace with a veth to the other node and a wireguard-go device.
struct LabNode {
    let namespace: String
    let veth: String
    /// Underlay address on the veth (TEST-NET-1, inside the namespace only).
    let underlay: String
    let interface: String
    let keys: WireGuardKeyPair
    /// The node's own address in its subnet 10.250.<n>.0/24 (inside the namespace only).
    let subnetAddress: String
    let subnet: String
    var overlay: IPv6Address { keys.publicKey.overlayAddress }
    var uapi: UAPIClient { UAPIClient(socketPath: UAPIClient.socketPath(interface: interface)) }

    /// The peer entry another node needs for this one.
    var asPeer: WireGuardPeer {
        WireGuardPeer(publicKey: keys.publicKey, endpoint: "\(underlay):51820", allowedIPs: [subnet, "\(overlay)/128"])
    }

    /// Runs a command inside the namespace and returns its output (whatever the exit status).
    func exec(_ arguments: [String], timeout: Duration = .seconds(15)) throws -> CommandOutput {
        try Command.run(Link.ip, ["netns", "exec", namespace] + arguments, timeout: timeout)
    }
}

/// Two network namespaces joined by a veth pair, each running `wireguard-go`. Everything it
/// creates carries a unique tag and is removed by `tearDown()`, which tests call in `defer`.
final class TwoNodeLab: @unchecked Sendable {
    let tag: String
    let a: LabNode
    let b: LabNode
    private var processes: [Process] = []

    init() throws {
        let tag = uniqueTag()
        self.tag = tag
        func node(_ letter: String, _ number: Int) -> LabNode {
            LabNode(
                namespace: "\(tag)\(letter)", veth: "\(tag)v\(letter)", underlay: "192.0.2.\(number)",
                interface: "\(tag)w\(letter)", keys: .generate(),
                subnetAddress: "10.250.\(number).1", subnet: "10.250.\(number).0/24")
        }
        a = node("a", 1)
        b = node("b", 2)
        do {
            try ip("netns", "add", a.namespace)
            try ip("netns", "add", b.namespace)
            try ip("link", "add", a.veth, "netns", a.namespace, "type", "veth", "peer", "name", b.veth, "netns", b.namespace)
            for node in [a, b] {
                try ip("-n", node.namespace, "link", "set", "lo", "up")
                try ip("-n", node.namespace, "address", "add", "\(node.underlay)/24", "dev", node.veth)
                try ip("-n", node.namespace, "link", "set", node.veth, "up")
            }
        } catch {
            tearDown()
            throw error
        }
    }

    /// Starts wireguard-go for both nodes and waits for their UAPI sockets.
    func startWireGuard() async throws {
        for node in [a, b] {
            let command = WireGuardBackend.userspaceCommand(interface: node.interface)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Link.ip)
            process.arguments = ["netns", "exec", node.namespace, command.executable] + command.arguments
            process.environment = ProcessInfo.processInfo.environment.merging(command.environment) { _, new in new }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            processes.append(process)
        }
        for node in [a, b] {
            try await WireGuardBackend.waitForUAPISocket(interface: node.interface, timeout: .seconds(10))
        }
    }

    /// Gives `node` its key, port, peer, addresses, MTU and routes the way the daemon will.
    func configure(_ node: LabNode, peer: LabNode) async throws {
        let plan = PeerPlan.diff(current: try await node.uapi.get().peers, desired: [peer.asPeer])
        var update = plan
        update.privateKey = node.keys.privateKey
        update.listenPort = 51820
        try await node.uapi.set(update)
        try Link.setMTU(node.interface, 1420, netns: node.namespace)
        try Link.addAddress("\(node.subnetAddress)/32", to: node.interface, netns: node.namespace)
        try Link.addAddress("\(node.overlay)/128", to: node.interface, netns: node.namespace)
        try Link.setUp(node.interface, netns: node.namespace)
        try Link.addRoute(peer.subnet, dev: node.interface, source: node.subnetAddress, netns: node.namespace)
        try Link.addRoute("fd00::/8", dev: node.interface, source: "\(node.overlay)", netns: node.namespace)
    }

    /// Stops wireguard-go (TERM, then KILL after 3 s) and deletes both namespaces, whatever state
    /// the test left them in.
    func tearDown() {
        for process in processes where process.isRunning {
            process.terminate()
        }
        for process in processes {
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        processes.removeAll()
        for node in [a, b] {
            _ = try? Command.run(Link.ip, ["netns", "delete", node.namespace])
            try? FileManager.default.removeItem(atPath: UAPIClient.socketPath(interface: node.interface))
        }
    }
}
