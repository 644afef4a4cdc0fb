import Foundation
import PloyzModel
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// A LAN for several test nodes: a namespace with a veth pair `lan0`/`lan1` (both up) and one
/// macvlan (bridge mode) on `lan0` per node, moved into the node's namespace as `eth0` with an
/// address of 192.168.77.0/24. macvlan is classified `other`, so the endpoint policy keeps it.
final class TestLAN: @unchecked Sendable {
    let namespace: String
    private(set) var nodes: [TestNode] = []
    private var nextHost = 11

    init() throws {
        namespace = "pdl" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let added = runCommand("/usr/sbin/ip", ["netns", "add", namespace])
        guard added.status == 0 else { throw TestFailure("ip netns add \(namespace): \(added.output)") }
        try exec(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"])
        try exec(["ip", "link", "set", "lan0", "up"])
        try exec(["ip", "link", "set", "lan1", "up"])
    }

    /// A node on the LAN (not started). `deadFirst` gives it first a macvlan on a second veth
    /// parent that leads nowhere (192.168.66.0/24, which no other node can reach), so that its
    /// first advertised address drops every packet.
    func addNode(deadFirst: Bool = false, extraConfig: String = "") throws -> TestNode {
        let node = try TestNode(extraConfig: "machine_name = \"node-\(nextHost)\"\n" + extraConfig)
        nodes.append(node)
        if deadFirst {
            let parent = "dp\(nextHost)"
            try exec(["ip", "link", "add", parent, "type", "veth", "peer", "name", "dq\(nextHost)"])
            try exec(["ip", "link", "set", parent, "up"])
            // The far end is up (so the link has carrier and counts as usable) but leads nowhere.
            try exec(["ip", "link", "set", "dq\(nextHost)", "up"])
            try attach(node, parent: parent, name: "eth0", address: "192.168.66.\(nextHost)/24")
            try attach(node, parent: "lan0", name: "eth1", address: "192.168.77.\(nextHost)/24")
        } else {
            try attach(node, parent: "lan0", name: "eth0", address: "192.168.77.\(nextHost)/24")
        }
        nextHost += 1
        return node
    }

    private func attach(_ node: TestNode, parent: String, name: String, address: String) throws {
        let link = "mv\(nextHost)\(name.last!)"
        try exec(["ip", "link", "add", "name", link, "link", parent, "type", "macvlan", "mode", "bridge"])
        try exec(["ip", "link", "set", link, "netns", node.namespace])
        for arguments in [["link", "set", link, "name", name], ["addr", "add", address, "dev", name], ["link", "set", name, "up"]] {
            let result = runCommand("/usr/sbin/ip", ["-n", node.namespace] + arguments)
            guard result.status == 0 else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.output)") }
        }
    }

    private func exec(_ command: [String]) throws {
        let result = runCommand("/usr/sbin/ip", ["netns", "exec", namespace] + ["/usr/sbin/" + command[0]] + command.dropFirst())
        guard result.status == 0 else { throw TestFailure("\(command.joined(separator: " ")) in \(namespace): \(result.output)") }
    }

    /// Cleans up every node, then the LAN.
    func cleanup() {
        for node in nodes { node.cleanup() }
        runCommand("/usr/sbin/ip", ["netns", "delete", namespace])
    }
}

extension TestNode {
    /// `mesh invite` on this node; the token.
    func invite(ttl: Double? = nil) throws -> String {
        try client.call(ControlCalls.MeshInvite.self, .init(ttlSeconds: ttl)).token
    }

    /// `mesh join --token`; the progress lines.
    func join(_ token: String) throws -> String {
        try ControlClient(socketPath: socketPath, timeout: 300).call(ControlCalls.MeshJoin.self, .init(token: token)).message
    }

    /// Pings `address` (v4 or v6) once from inside the namespace; true when it answered.
    func ping(_ address: String) -> Bool {
        runCommand("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/bin/ping", address.contains(":") ? "-6" : "-4", "-c", "1", "-W", "2", address],
                   timeout: .seconds(5)).status == 0
    }

    func status() throws -> NetworkStatus {
        try client.call(ControlCalls.MeshStatus.self, .init())
    }

    /// Kills the daemon and every sidecar it recorded with SIGKILL (a node that dies entirely);
    /// the namespace and the node's files stay, so `startDaemon()` brings it back.
    func killEverything() {
        stopDaemon(signal: SIGKILL)
        let networks = (try? FileManager.default.contentsOfDirectory(atPath: runtimeDir)) ?? []
        for network in networks {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(runtimeDir)/\(network)")) ?? []
            for file in files where file.hasSuffix(".json") {
                guard let record = SidecarRecord.load(from: "\(runtimeDir)/\(network)/\(file)"), record.isLive else { continue }
                kill(record.pid, SIGKILL)
                _ = waitUntil(.seconds(3)) { !record.isLive }
            }
        }
    }

    /// A JSON document from the node's nats-server monitoring port (127.0.0.1:8222 in its
    /// namespace), or nil when it does not answer.
    func natsMonitor(_ path: String) -> [String: Any]? {
        let result = runCommand("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/bin/curl", "-s", "--max-time", "2",
                                                 "http://127.0.0.1:8222\(path)"], timeout: .seconds(5))
        guard result.status == 0, let data = result.output.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The addresses this node's nats-server has routes with.
    var natsRouteAddresses: Set<String> {
        let routes = natsMonitor("/routez")?["routes"] as? [[String: Any]] ?? []
        return Set(routes.compactMap { $0["ip"] as? String })
    }

    /// Replica count of each JetStream stream this node's server hosts: the leader plus the
    /// followers that are current (caught up).
    var streamReplicas: [String: Int] {
        let accounts = natsMonitor("/jsz?accounts=true&streams=true")?["account_details"] as? [[String: Any]] ?? []
        var replicas: [String: Int] = [:]
        for account in accounts {
            for stream in account["stream_detail"] as? [[String: Any]] ?? [] {
                guard let name = stream["name"] as? String else { continue }
                let followers = ((stream["cluster"] as? [String: Any])?["replicas"] as? [[String: Any]] ?? [])
                    .filter { $0["current"] as? Bool == true }
                replicas[name] = max(replicas[name] ?? 0, followers.count + 1)
            }
        }
        return replicas
    }

    /// The locally known networks.
    var networkNames: [String] {
        LocalNetworks(paths: DaemonPaths(dataDir: dataDir, runtimeDir: runtimeDir, socketPath: socketPath)).names()
    }
}

/// Runs `count` bodies at once, each on a thread of its own (GCD's concurrentPerform would run
/// only as many as there are cores), and waits for all of them (bounded).
func simultaneously(_ count: Int, timeout: TimeInterval = 180, _ body: @escaping @Sendable (Int) -> Void) throws {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread { body(index); group.leave() }.start()
    }
    guard group.wait(timeout: .now() + timeout) == .success else { throw TestFailure("\(count) simultaneous calls did not finish within \(Int(timeout))s") }
}

/// A list several threads append to.
final class LockedList<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.withLock { items.append(item) } }
    var all: [T] { lock.withLock { items } }
}
