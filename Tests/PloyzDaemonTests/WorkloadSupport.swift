import Foundation
import PloyzModel
import PloyzRuntime
import PloyzTestSupport
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// A test node with its own dockerd (in the node's namespace) and the busybox test image.
final class WorkloadNode: @unchecked Sendable {
    let node: TestNode
    let docker: DockerDaemonFixture
    /// Machine name, as placement names it.
    let name: String

    /// Adds a node to `lan` (or a node of its own when nil), starts its dockerd, imports the test
    /// image and starts `ployzd` pointed at that dockerd.
    init(lan: TestLAN?) async throws {
        let root = "/tmp/pd-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let config = "docker_socket = \"\(root)/docker.sock\""
        let node = try lan?.addNode(extraConfig: config) ?? TestNode(extraConfig: "machine_name = \"solo\"\n" + config)
        self.node = node
        name = try String(contentsOfFile: node.configPath, encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("machine_name") }.map { $0.split(separator: "\"")[1] }.map(String.init) ?? "solo"
        do {
            docker = try DockerDaemonFixture.start(namespace: node.namespace, root: root)
        } catch {
            if lan == nil { node.cleanup() }
            throw error
        }
        do {
            let tar = root + "/rootfs.tar"
            try BusyboxImage.makeRootfsTar(at: tar)
            let engine = DockerEngine(socketPath: docker.socketPath)
            do {
                try await engine.importImage(tarPath: tar, reference: BusyboxImage.reference)
                try await engine.shutdown()
            } catch {
                try? await engine.shutdown()
                throw error
            }
            try node.startDaemon()
        } catch {
            cleanup()
            throw error
        }
    }

    /// Stops dockerd (and its containers) and, for a node of its own, the node.
    func cleanup(withNode: Bool = true) {
        docker.stop()
        if withNode { node.cleanup() }
    }

    /// `ployzctl ARGS` against this node's daemon: exit status and output (stdout and stderr).
    func ctl(_ arguments: [String], timeout: Duration = .seconds(240)) -> (status: Int32, output: String) {
        runCommand(TestEnvironment.ployzctlPath!, ["--socket", node.socketPath] + arguments, timeout: timeout)
    }

    /// Writes `yaml` to a file and deploys it from this node.
    func deploy(_ yaml: String) -> (status: Int32, output: String) {
        let path = node.directory + "/compose-\(UInt32.random(in: 0...UInt32.max)).yaml"
        FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8))
        return ctl(["deploy", "-f", path])
    }

    func serviceStatus(_ name: String, namespace: String = "default") throws -> ServiceStatus {
        try node.client.call(ControlCalls.ServiceStatusCall.self, .init(namespace: namespace, name: name))
    }

    /// The containers of this node's dockerd with the label `ployz.service=NAME`.
    func containers(service: String) -> [[String: Any]] {
        let filter = "{\"label\":[\"ployz.service=\(service)\"]}".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        guard let reply = try? docker.request("GET", "/containers/json?all=1&filters=\(filter)"), reply.status == 200 else { return [] }
        return (try? JSONSerialization.jsonObject(with: reply.body) as? [[String: Any]]) ?? []
    }

    /// Runs a shell line inside a container (its mount namespace, through its pid): the test's
    /// way to make an instance sick or well without an exec API.
    func inContainer(_ id: String, _ line: String) throws {
        guard let reply = try? docker.request("GET", "/containers/\(id)/json"), reply.status == 200,
              let object = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
              let pid = (object["State"] as? [String: Any])?["Pid"] as? Int, pid > 0 else {
            throw TestFailure("container \(id) has no process")
        }
        let result = runCommand("/usr/bin/nsenter", ["-t", String(pid), "-m", "-p", "--", "/bin/sh", "-c", line])
        guard result.status == 0 else { throw TestFailure("in container \(id): \(line): \(result.output)") }
    }

    /// `dig +short NAME A` against this node's DNS (on its overlay address); sorted addresses.
    func dig(_ name: String) throws -> [String] {
        let overlay = try node.status().overlayIPv6
        let result = runCommand("/usr/sbin/ip", ["netns", "exec", node.namespace, "/usr/bin/dig", "+short", "+time=2", "+tries=2",
                                                 "@\(overlay)", name, "A"], timeout: .seconds(15))
        return result.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.sorted()
    }

    /// One GET through this node's gateway with `Host: host`: status code and body.
    func get(host: String) -> (code: String, body: String) {
        let result = runCommand("/usr/sbin/ip", ["netns", "exec", node.namespace, "/usr/bin/curl", "-s", "-m", "10", "-w", "\n%{http_code}",
                                                 "-H", "Host: \(host)", "http://127.0.0.1/"], timeout: .seconds(15))
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.last.map(String.init) ?? "", lines.dropLast().joined(separator: "\n"))
    }

    /// Starts `count` GETs through this node's gateway, one after the other; `codes()` waits for
    /// them and returns every status code.
    func steadyRequests(host: String, count: Int) throws -> RequestLoop {
        try RequestLoop(namespace: node.namespace, host: host, count: count, directory: node.directory)
    }
}

/// A bounded loop of GETs in a node's namespace, run by a shell in the background.
final class RequestLoop {
    private let process = Process()
    private let output: String

    init(namespace: String, host: String, count: Int, directory: String) throws {
        output = directory + "/codes-\(UInt32.random(in: 0...UInt32.max))"
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace, "/bin/sh", "-c",
                             "for i in $(seq 1 \(count)); do curl -s -o /dev/null -m 15 -w '%{http_code}\\n' -H 'Host: \(host)' http://127.0.0.1/; sleep 0.02; done > \(output)"]
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The status codes, once the loop has ended (bounded).
    func codes(timeout: Duration = .seconds(180)) -> [String] {
        if !waitUntil(timeout, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }
}

/// A Compose file for the busybox web service the tests deploy.
/// Its instances say "serving" on stdout, and are healthy while `/tmp/sick` does not exist.
func webCompose(service: String, host: String, replicas: Int = 2, machines: [String], environment: [String: String] = [:],
                image: String = BusyboxImage.reference, order: String = "start-first") -> String {
    let env = environment.isEmpty ? "" : "    environment:\n" + environment.sorted { $0.key < $1.key }.map { "      \($0.key): \"\($0.value)\"\n" }.joined()
    return """
    services:
      \(service):
        image: \(image)
        command: ["sh", "-c", "mkdir -p /www && echo \\"hello from $$(hostname)\\" > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www"]
        expose: [8080]
    \(env)    healthcheck:
          test: ["CMD-SHELL", "test ! -f /tmp/sick && wget -q -O /dev/null http://127.0.0.1:8080/"]
          interval: 1s
          timeout: 1s
          retries: 2
        deploy:
          replicas: \(replicas)
          update_config:
            order: \(order)
        x-ployz:
          routes:
            - host: \(host)
              port: 8080
          placement: [\(machines.joined(separator: ", "))]

    """
}
