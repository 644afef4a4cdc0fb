import Foundation
import PloyzModel
import PloyzTestSupport
import Testing
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Three nodes in one mesh, each with its own dockerd and the busybox image, shared by the
/// workload tests (making it takes a while); removed when the test process exits.
final class WorkloadCluster: @unchecked Sendable {
    let lan: TestLAN
    let nodes: [WorkloadNode]

    private static let made = AsyncOnce<WorkloadCluster>()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: WorkloadCluster?

    static func shared() async throws -> WorkloadCluster {
        try await made.value {
            let cluster = try await WorkloadCluster()
            lock.withLock { current = cluster }
            atexit { WorkloadCluster.lock.withLock { WorkloadCluster.current }?.cleanup() }
            return cluster
        }
    }

    private init() async throws {
        let lan = try TestLAN()
        var nodes: [WorkloadNode] = []
        do {
            for _ in 0..<3 { nodes.append(try await WorkloadNode(lan: lan)) }
            _ = try nodes[0].node.client.call(ControlCalls.MeshInit.self, .init(name: "wl"))
            _ = try nodes[1].node.join(try nodes[0].node.invite())
            _ = try nodes[2].node.join(try nodes[0].node.invite())
        } catch {
            for node in nodes { node.cleanup(withNode: false) }
            lan.cleanup()
            throw error
        }
        self.lan = lan
        self.nodes = nodes
    }

    func cleanup() {
        for node in nodes { node.cleanup(withNode: false) }
        lan.cleanup()
    }

    /// Keeps the nodes' logs of a failing test.
    func keepLogs(_ test: String) {
        for node in nodes { runCommand("/bin/cp", ["-r", node.node.directory, "/tmp/ployz-failed-\(test)-" + node.node.namespace]) }
    }
}

/// Makes a value once, for every caller, even when they ask at once.
final class AsyncOnce<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var task: Task<Value, Error>?

    func value(_ make: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = lock.withLock {
            if let task = self.task { return task }
            let made = Task { try await make() }
            self.task = made
            return made
        }
        return try await task.value
    }

}

@Suite(.serialized, .enabled(if: TestEnvironment.canRunDaemons && TestEnvironment.ployzctlPath != nil, "needs root, ployzd and ployzctl"))
struct WorkloadClusterTests {
    /// Deployed from node 1 with two replicas on nodes 2 and 3: every node's DNS answers exactly
    /// its two addresses, and every node's gateway serves it by host name.
    @Test func deployedFromNodeOneServesOnEveryNode() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let deployed = nodes[0].deploy(webCompose(service: "web", host: "web.wl.test", machines: [nodes[1].name, nodes[2].name]))
        #expect(deployed.status == 0, "\(deployed.output)")
        #expect(deployed.output.contains("deployed default/web: 2 instance(s) ready"), "\(deployed.output)")

        let status = try nodes[0].serviceStatus("web")
        #expect(status.instances.count == 2)
        #expect(Set(status.instances.map(\.machine)) == [nodes[1].name, nodes[2].name], "\(status.instances)")
        #expect(status.instances.allSatisfy { $0.ready && $0.state == "running" && $0.health == "healthy" })
        let addresses = status.instances.map(\.address).sorted()
        for (index, node) in nodes.enumerated() {
            #expect(waitUntil(.seconds(10)) { (try? node.dig("web.default.ployz.internal")) == addresses },
                    "node \(index + 1) DNS: \(String(describing: try? node.dig("web.default.ployz.internal"))), expected \(addresses)")
            var bodies = Set<String>()
            for _ in 0..<6 {
                let answer = node.get(host: "web.wl.test")
                #expect(answer.code == "200", "node \(index + 1) gateway: \(answer)")
                bodies.insert(answer.body)
            }
            #expect(bodies.count == 2, "node \(index + 1) reached both replicas: \(bodies)")
        }
        // The containers run where the store says, with Ployz's labels.
        #expect(nodes[0].containers(service: "web").isEmpty)
        #expect(nodes[1].containers(service: "web").count == 1)
        #expect(nodes[2].containers(service: "web").count == 1)

        // Their logs, asked of the machines that run them, from node 1.
        let logs = nodes[0].ctl(["service", "logs", "web"])
        #expect(logs.status == 0, "\(logs.output)")
        let lines = logs.output.split(separator: "\n").map(String.init)
        #expect(Set(lines) == Set(status.instances.map { "\($0.id) | serving" }), "\(logs.output)")
        // --follow prints the same and keeps going until it is stopped (here by the timeout).
        let followed = nodes[0].ctl(["service", "logs", "web", "--follow"], timeout: .seconds(4))
        #expect(followed.status != 0, "still following when stopped: \(followed.output)")
        #expect(Set(followed.output.split(separator: "\n").map(String.init)) == Set(lines), "\(followed.output)")
    }

    /// An instance whose healthcheck fails leaves DNS and the gateway within seconds, and comes
    /// back when it passes again.
    @Test func unhealthyInstanceLeavesAndComesBack() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let deployed = nodes[0].deploy(webCompose(service: "moody", host: "moody.wl.test", machines: [nodes[1].name, nodes[2].name]))
        try #require(deployed.status == 0, "\(deployed.output)")
        let status = try nodes[0].serviceStatus("moody")
        let sick = try #require(status.instances.first { $0.machine == nodes[1].name })
        let well = try #require(status.instances.first { $0.machine == nodes[2].name })
        let container = try #require(nodes[1].containers(service: "moody").first?["Id"] as? String)

        try nodes[1].inContainer(container, "echo > /tmp/sick")
        #expect(waitUntil(.seconds(15)) { (try? nodes[0].dig("moody.default.ployz.internal")) == [well.address] },
                "DNS: \(String(describing: try? nodes[0].dig("moody.default.ployz.internal")))")
        for _ in 0..<6 {
            let answer = nodes[0].get(host: "moody.wl.test")
            #expect(answer.code == "200" && answer.body.contains(well.container ?? "-"), "only the healthy one serves: \(answer)")
        }
        #expect((try? nodes[0].serviceStatus("moody").instances.first { $0.id == sick.id }?.health) == "unhealthy")

        try nodes[1].inContainer(container, "rm /tmp/sick")
        #expect(waitUntil(.seconds(15)) { (try? nodes[0].dig("moody.default.ployz.internal")) == [sick.address, well.address].sorted() })
    }

    /// `docker kill` of one replica: it is started again, and meanwhile the gateway answers every
    /// GET from the other.
    @Test func killedContainerRestartsWithoutFailedRequests() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let deployed = nodes[0].deploy(webCompose(service: "sturdy", host: "sturdy.wl.test", machines: [nodes[1].name, nodes[2].name]))
        try #require(deployed.status == 0, "\(deployed.output)")
        let container = try #require(nodes[1].containers(service: "sturdy").first?["Id"] as? String)

        let loop = try nodes[0].steadyRequests(host: "sturdy.wl.test", count: 150)
        usleep(800_000)
        let killed = try nodes[1].docker.request("POST", "/containers/\(container)/kill")
        #expect(killed.status == 204, "kill: \(killed.status)")
        let codes = loop.codes()
        #expect(codes.count == 150)
        #expect(codes.allSatisfy { $0 == "200" }, "non-200 answers: \(codes.filter { $0 != "200" })")

        // The same container runs again, ready.
        #expect(waitUntil(.seconds(20)) {
            guard let status = try? nodes[0].serviceStatus("sturdy") else { return false }
            return status.instances.count == 2 && status.instances.allSatisfy(\.ready)
                && status.instances.contains { container.hasPrefix($0.container ?? "-") && $0.machine == nodes[1].name }
        }, "\(String(describing: try? nodes[0].serviceStatus("sturdy")))")
    }

    /// A changed environment rolls start-first: no request fails, every instance ends on the new revision.
    @Test func rollingUpdateLosesNoRequest() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let machines = [nodes[1].name, nodes[2].name]
        let first = nodes[0].deploy(webCompose(service: "roll", host: "roll.wl.test", machines: machines, environment: ["VERSION": "1"]))
        try #require(first.status == 0, "\(first.output)")
        let before = Set(try nodes[0].serviceStatus("roll").instances.compactMap(\.container))

        let loop = try nodes[0].steadyRequests(host: "roll.wl.test", count: 250)
        usleep(500_000)
        let second = nodes[0].deploy(webCompose(service: "roll", host: "roll.wl.test", machines: machines, environment: ["VERSION": "2"]))
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("updating default/roll"), "\(second.output)")
        let codes = loop.codes()
        #expect(codes.count == 250)
        #expect(codes.allSatisfy { $0 == "200" }, "non-200 answers: \(codes.filter { $0 != "200" })")

        let after = try nodes[0].serviceStatus("roll")
        #expect(after.instances.count == 2, "\(after.instances)")
        #expect(after.instances.allSatisfy { $0.revision == after.summary.revision && $0.ready }, "\(after.instances)")
        #expect(before.isDisjoint(with: after.instances.compactMap(\.container)), "new containers replaced the old")
        // Their records went first (traffic moved); the containers follow after the drain time.
        #expect(waitUntil(.seconds(20)) { nodes[1].containers(service: "roll").count == 1 && nodes[2].containers(service: "roll").count == 1 },
                "old containers are removed")

        // Stop-first, one slot at a time: the old instance goes before its new one starts.
        let third = nodes[0].deploy(webCompose(service: "roll", host: "roll.wl.test", machines: machines, environment: ["VERSION": "3"],
                                               order: "stop-first"))
        #expect(third.status == 0, "\(third.output)")
        let last = try nodes[0].serviceStatus("roll")
        #expect(last.instances.count == 2 && last.instances.allSatisfy { $0.revision == last.summary.revision && $0.ready }, "\(last.instances)")
        #expect(last.summary.revision != after.summary.revision)
    }

    /// `kill -9` of a node's ployzd: its instance keeps serving, and the new daemon adopts it.
    @Test func daemonKilledInstancesServeAndAreAdopted() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let deployed = nodes[0].deploy(webCompose(service: "steady", host: "steady.wl.test", replicas: 1, machines: [nodes[2].name]))
        try #require(deployed.status == 0, "\(deployed.output)")
        let container = try #require(try nodes[0].serviceStatus("steady").instances.first?.container)

        nodes[2].node.stopDaemon(signal: SIGKILL)
        for _ in 0..<5 {
            let answer = nodes[0].get(host: "steady.wl.test")
            #expect(answer.code == "200", "served while node 3's daemon is dead: \(answer)")
        }
        try nodes[2].node.startDaemon()
        #expect(waitUntil(.seconds(30)) { (try? nodes[2].node.status().phase) == .running })
        // A few agent rounds later, still the same container, never restarted.
        sleep(3)
        let status = try nodes[2].serviceStatus("steady")
        #expect(status.instances.map(\.container) == [container], "\(status.instances)")
        #expect(status.instances.first?.ready == true)
        #expect(nodes[2].containers(service: "steady").count == 1)
        #expect(nodes[0].get(host: "steady.wl.test").code == "200")
    }

    /// A machine that stops has its instances placed on the others; it comes back empty-handed.
    @Test func instancesOfAStoppedMachineMoveElsewhere() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let deployed = nodes[0].deploy(webCompose(service: "mover", host: "mover.wl.test", machines: [nodes[1].name, nodes[2].name]))
        try #require(deployed.status == 0, "\(deployed.output)")
        #expect(Set(try nodes[0].serviceStatus("mover").instances.map(\.machine)) == [nodes[1].name, nodes[2].name])

        let stopped = nodes[2].ctl(["mesh", "stop", "--force"])
        try #require(stopped.status == 0, "\(stopped.output)")
        defer {
            _ = nodes[2].ctl(["mesh", "start", "wl"])
            _ = waitUntil(.seconds(60)) { nodes[2].ctl(["mesh", "ready"]).status == 0 }
        }
        #expect(waitUntil(.seconds(60)) {
            guard let status = try? nodes[0].serviceStatus("mover") else { return false }
            return status.instances.count == 2 && status.instances.allSatisfy { $0.machine == nodes[1].name && $0.ready }
        }, "\(String(describing: try? nodes[0].serviceStatus("mover").instances))")
        #expect(nodes[1].containers(service: "mover").count == 2)
        #expect(nodes[2].containers(service: "mover").isEmpty)
        #expect(nodes[0].get(host: "mover.wl.test").code == "200")
    }

    /// A deploy whose instances never become healthy fails (exit 1) and is rolled back: no
    /// record, no container.
    @Test func unhealthyDeployRollsBack() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let yaml = webCompose(service: "broken", host: "broken.wl.test", machines: [nodes[1].name, nodes[2].name])
            .replacingOccurrences(of: "test ! -f /tmp/sick && wget", with: "false && wget")
        let deployed = nodes[0].deploy(yaml)
        #expect(deployed.status == 1, "\(deployed.output)")
        #expect(deployed.output.contains("unhealthy") && deployed.output.contains("rolled back"), "\(deployed.output)")
        let services = try nodes[0].node.client.call(ControlCalls.ServiceList.self).services
        #expect(!services.contains { $0.name == "broken" }, "\(services)")
        #expect(waitUntil(.seconds(20)) { nodes.allSatisfy { $0.containers(service: "broken").isEmpty } }, "its containers are removed")
    }

    /// Bad input: one line naming what is wrong, exit 2, and nothing written or started.
    @Test func badDeploysChangeNothing() async throws {
        let cluster = try await WorkloadCluster.shared()
        let nodes = cluster.nodes
        let machines = [nodes[1].name, nodes[2].name]

        let missing = nodes[0].deploy(webCompose(service: "ghost", host: "ghost.wl.test", machines: machines, image: "no-such-image:7"))
        #expect(missing.status == 2, "\(missing.output)")
        #expect(missing.output.contains("no-such-image:7"), "\(missing.output)")
        #expect(missing.output.split(separator: "\n").count == 1, "\(missing.output)")

        let taken = nodes[0].ctl(["route", "set", "owner", "--host", "taken.wl.test", "--port", "80"])
        try #require(taken.status == 0, "\(taken.output)")
        let conflict = nodes[0].deploy(webCompose(service: "ghost", host: "taken.wl.test", machines: machines))
        #expect(conflict.status == 2, "\(conflict.output)")
        #expect(conflict.output.contains("default/owner"), "\(conflict.output)")

        let tooMany = nodes[0].deploy(webCompose(service: "ghost", host: "many.wl.test", replicas: 600, machines: [nodes[1].name]))
        #expect(tooMany.status == 2, "\(tooMany.output)")
        #expect(tooMany.output.contains("no free instance address"), "\(tooMany.output)")

        let unknown = nodes[0].deploy("services:\n  ghost:\n    image: \(BusyboxImage.reference)\n    ports: [\"80:80\"]\n")
        #expect(unknown.status == 2, "\(unknown.output)")
        #expect(unknown.output.contains(":4:") && unknown.output.contains("ports"), "\(unknown.output)")

        let nowhere = nodes[0].deploy(webCompose(service: "ghost", host: "nowhere.wl.test", machines: ["node-99"]))
        #expect(nowhere.status == 2, "\(nowhere.output)")
        #expect(nowhere.output.contains("node-99"), "\(nowhere.output)")

        // Nothing of "ghost" anywhere: no record, no container.
        let services = try nodes[0].node.client.call(ControlCalls.ServiceList.self).services
        #expect(!services.contains { $0.name == "ghost" }, "\(services)")
        for node in nodes { #expect(node.containers(service: "ghost").isEmpty) }
    }
}

/// One node with its own dockerd: `mesh stop` and its workloads, and Docker going away.
@Suite(.serialized, .enabled(if: TestEnvironment.canRunDaemons && TestEnvironment.ployzctlPath != nil, "needs root, ployzd and ployzctl"))
struct WorkloadNodeTests {
    @Test func meshStopRefusesWhileWorkloadsRunAndForceStopsThem() async throws {
        let solo = try await WorkloadNode(lan: nil)
        defer { solo.cleanup() }
        _ = try solo.node.client.call(ControlCalls.MeshInit.self, .init(name: "solo"))
        let deployed = solo.deploy(webCompose(service: "web", host: "web.solo.test", machines: ["solo"]))
        try #require(deployed.status == 0, "\(deployed.output)")
        #expect(solo.containers(service: "web").count == 2)

        let refused = solo.ctl(["mesh", "stop"])
        #expect(refused.status == 2, "\(refused.output)")
        #expect(refused.output.contains("default.web."), "names the workloads: \(refused.output)")
        #expect(solo.containers(service: "web").count == 2, "a refused stop changes nothing")

        let forced = solo.ctl(["mesh", "stop", "--force"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(forced.output.contains("stopped 2 workload(s)"), "\(forced.output)")
        #expect(solo.containers(service: "web").isEmpty)
    }

    @Test func dockerNotRunningIsOneLineAndWritesNothing() async throws {
        let solo = try await WorkloadNode(lan: nil)
        defer { solo.cleanup() }
        _ = try solo.node.client.call(ControlCalls.MeshInit.self, .init(name: "solo"))
        solo.docker.stop()
        // The heartbeat says so within its period.
        var refused: (status: Int32, output: String) = (0, "")
        #expect(waitUntil(.seconds(20)) {
            refused = solo.deploy(webCompose(service: "web", host: "web.solo.test", machines: ["solo"]))
            return refused.output.contains("Docker is not running at \(solo.docker.socketPath)")
        }, "\(refused.output)")
        #expect(refused.status == 2)
        let services = try solo.node.client.call(ControlCalls.ServiceList.self).services
        #expect(services.isEmpty, "\(services)")
    }
}
