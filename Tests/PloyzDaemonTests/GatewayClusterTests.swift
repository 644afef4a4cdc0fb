import Foundation
import Testing
import PloyzModel
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// The gateway across nodes: a request to one node's gateway reaches a backend on another node
/// over the WireGuard overlay.
@Suite(.serialized, .enabled(if: TestEnvironment.canRunDaemons, "needs root and a built ployzd"))
struct GatewayClusterTests {
    /// `curl` inside `node`'s namespace with `Host: host`; bounded by curl's own 3 s limit.
    func curl(_ node: TestNode, _ url: String, host: String) -> String {
        runCommand("/usr/sbin/ip", ["netns", "exec", node.namespace, "curl", "-s", "-m", "3", "-H", "Host: \(host)", url],
                   timeout: .seconds(10)).output
    }

    @Test func requestToOneNodesGatewayReachesABackendOnAnotherNode() throws {
        try ClusterIntegrationTests().withLAN(2) { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            _ = try a.client.call(ControlCalls.MeshInit.self, .init(name: "gw"))
            let joined = try b.join(try a.invite())
            #expect(joined.hasSuffix("ready"), "\(joined)")
            let statusB = try b.status()

            // A backend on node B only, bound to B's node address (reachable from A over the overlay).
            let backend = try b.startStaticSite(bind: statusB.nodeAddress, port: 8080, files: ["hello.txt": "hello from node b\n"])
            defer { stopProcess(backend) }
            #expect(waitUntil(.seconds(10)) { curl(b, "http://\(statusB.nodeAddress):8080/hello.txt", host: "x") == "hello from node b\n" },
                    "the backend did not start on node B")

            // Registered through node B, routed by node A's gateway.
            _ = try b.client.call(ControlCalls.RouteSet.self, .init(service: "web", route: HTTPRoute(hostnames: ["cross.example.com"], port: 8080)))
            _ = try b.client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(id: "web-b", service: "web", machine: "", address: statusB.nodeAddress)))
            let served = waitUntil(.seconds(20)) { curl(a, "http://127.0.0.1/hello.txt", host: "cross.example.com") == "hello from node b\n" }
            #expect(served, "node A's gateway answered: \(curl(a, "http://127.0.0.1/hello.txt", host: "cross.example.com"))")
            #expect(curl(a, "http://127.0.0.1/hello.txt", host: "elsewhere.example.com").contains("no route"))
        }
    }
}

extension TestNode {
    /// `python3 -m http.server` inside the node's namespace on `bind:port`, serving `files`
    /// (name to content) from a directory of the node's; stop it with `stopProcess`.
    func startStaticSite(bind: String, port: Int, files: [String: String]) throws -> Process {
        let site = directory + "/site-\(port)"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        for (name, content) in files { try content.write(toFile: site + "/" + name, atomically: true, encoding: .utf8) }
        let backend = Process()
        backend.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        backend.arguments = ["netns", "exec", namespace, "/usr/bin/python3", "-m", "http.server", "--bind", bind, "--directory", site, "\(port)"]
        backend.standardOutput = FileHandle.nullDevice
        backend.standardError = FileHandle.nullDevice
        try backend.run()
        return backend
    }
}

/// Kills a helper process the test started and waits (bounded) for it to end. SIGKILL: a child of
/// the test runner may inherit a blocked SIGTERM.
func stopProcess(_ process: Process) {
    kill(process.processIdentifier, SIGKILL)
    _ = waitUntil(.seconds(5)) { !process.isRunning }
}
