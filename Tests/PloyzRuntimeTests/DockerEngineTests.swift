import Foundation
import PloyzModel
import PloyzRuntime
import PloyzTestSupport
import Testing

/// The runtime against a real dockerd (root; one private dockerd for the suite, in its own namespace).
@Suite(.dockerEnvironment, .timeLimit(.minutes(3)))
struct DockerEngineTests {
    typealias Env = DockerEnvironment

    /// A web server on 8080 serving a page that says `page`, healthy once it answers.
    static func webTemplate(page: String, restart: RestartPolicy = .no) -> ContainerTemplate {
        ContainerTemplate(
            image: Env.image,
            command: ["sh", "-c", "echo \(page) > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"],
            environment: ["PAGE": page],
            labels: ["app": "web"],
            healthcheck: HealthCheck(test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/ > /dev/null"],
                                     interval: 1, timeout: 3, retries: 3, startPeriod: 0),
            restart: restart, stopGracePeriod: 2, limits: ResourceLimits(cpus: 0.5, memoryBytes: 64 << 20))
    }

    @Test func pingAnswers() async throws {
        try await Env.get().engine.ping()
    }

    @Test func importedImageExists() async throws {
        let env = try Env.get()
        let tar = env.daemon.root + "/import-test.tar"
        try BusyboxImage.makeRootfsTar(at: tar)
        try await env.engine.importImage(tarPath: tar, reference: "ployz-import:2")
        #expect(try await env.engine.imageExists("ployz-import:2"))
        #expect(try await env.engine.imageExists(Env.image))
        #expect(try await env.engine.imageExists("ployz-absent:9") == false)
    }

    @Test func ensureNetworkIsIdempotentAndRefusesAnotherSubnet() async throws {
        let env = try Env.get()
        try await env.engine.ensureNetwork(Env.network)
        var other = Env.network
        other.subnet = "10.101.9.0/24"
        other.gateway = "10.101.9.1"
        await #expect(throws: RuntimeError.networkMismatch(name: Env.networkName, existing: Env.subnet, wanted: "10.101.9.0/24")) {
            try await env.engine.ensureNetwork(other)
        }
        // Docker adopted the daemon's bridge and left its addresses alone.
        let addresses = try env.namespace.ip(["-4", "addr", "show", "ployz0"])
        #expect(addresses.contains("10.101.5.1/24") && addresses.contains("10.101.5.2/32"))
    }

    /// The daemon's bridge with `.1` and `.2` on it, adopted by a Docker network: containers get
    /// `.3` and up, reach `.1` and `.2`, and removing the network leaves bridge and addresses.
    @Test func networkAdoptsExistingBridgeAndLeavesItOnRemoval() async throws {
        let env = try Env.get()
        try Env.makeNodeBridge(in: env.namespace, name: "ployz1", subnet: "10.101.6.0/24")
        defer { try? env.namespace.ip(["link", "del", "ployz1"]) }
        let network = NetworkSpec(name: "adopt", subnet: "10.101.6.0/24", gateway: "10.101.6.1",
                                  reservedAddresses: ["dns": "10.101.6.2"], mtu: 1420, bridgeName: "ployz1")
        try await env.engine.ensureNetwork(network)
        let labels = Env.testLabels()
        let template = ContainerTemplate(image: Env.image, command: ["sleep", "300"], restart: .no, stopGracePeriod: 1)
        let id = try await env.engine.createContainer(ContainerCreateSpec(name: "adopt-\(labels.values.first!)", template: template,
                                                                          labels: labels, network: "adopt"))
        try await env.engine.startContainer(id: id)
        let info = try #require(try await env.engine.inspectContainer(id: id))
        #expect(info.ipv4Address == "10.101.6.3")
        #expect(info.network == "adopt")
        let pid = try #require(info.pid)
        // Reach .1 and .2 from inside the container: ping in its network namespace.
        for address in ["10.101.6.1", "10.101.6.2"] {
            try Command.run(["nsenter", "--net=/proc/\(pid)/ns/net", "ping", "-c", "1", "-W", "2", address])
        }
        // Through netlink: /sys under nsenter still shows the host's interfaces.
        let link = try Command.run(["nsenter", "--net=/proc/\(pid)/ns/net", "ip", "-o", "link", "show", "eth0"])
        #expect(link.contains("mtu 1420"))

        try await env.engine.removeContainer(id: id, force: true)
        try await env.engine.removeNetwork(name: "adopt")
        try await env.engine.removeNetwork(name: "adopt")
        let addresses = try env.namespace.ip(["-4", "addr", "show", "ployz1"])
        #expect(addresses.contains("10.101.6.1/24") && addresses.contains("10.101.6.2/32"))
    }

    @Test func webContainerBecomesHealthyAndAnswersOnItsAddress() async throws {
        let env = try Env.get()
        let labels = Env.testLabels()
        let name = "web-\(labels.values.first!)"
        let spec = ContainerCreateSpec(name: name, template: Self.webTemplate(page: "hello-\(name)"),
                                       labels: labels.merging([WorkloadLabels.service: "web"]) { a, _ in a },
                                       network: Env.networkName, dnsServers: [Env.dnsAddress])
        let id = try await env.engine.createContainer(spec)
        await #expect(throws: RuntimeError.self) { _ = try await env.engine.createContainer(spec) }
        try await env.engine.startContainer(id: id)
        try await env.engine.startContainer(id: id)

        let healthy = try #require(try await env.waitFor(id) { $0?.health == .healthy })
        #expect(healthy.health == .healthy)
        #expect(healthy.state == .running)
        #expect(healthy.name == name)
        #expect(healthy.labels["app"] == "web" && healthy.labels[WorkloadLabels.service] == "web")
        #expect(healthy.startedAt != nil && healthy.finishedAt == nil && healthy.exitCode == nil)
        let address = try #require(healthy.ipv4Address)
        #expect(address.hasPrefix("10.101.5.") && address != Env.gateway && address != Env.dnsAddress)

        let page = try env.namespace.run(["curl", "-sS", "-m", "5", "http://\(address):8080/"])
        #expect(page.trimmingCharacters(in: .whitespacesAndNewlines) == "hello-\(name)")
        let listed = try await env.engine.listContainers(labels: labels)
        #expect(listed.map(\.id) == [id])

        try await env.engine.stopContainer(id: id, grace: 2)
        try await env.engine.stopContainer(id: id, grace: 2)
        let stopped = try #require(try await env.engine.inspectContainer(id: id))
        #expect(stopped.state == .exited && stopped.ipv4Address == nil && stopped.finishedAt != nil)
        #expect(try await env.engine.listContainers(labels: labels).map(\.state) == [.exited])
        try await env.engine.removeContainer(id: id, force: false)
        try await env.engine.removeContainer(id: id, force: false)
        #expect(try await env.engine.inspectContainer(id: id) == nil)
        #expect(try await env.engine.listContainers(labels: labels).isEmpty)
    }

    @Test func eventsReportStartDieAndDestroy() async throws {
        let env = try Env.get()
        let labels = Env.testLabels()
        let since = Date()
        let template = ContainerTemplate(image: Env.image, command: ["sh", "-c", "sleep 0.5; exit 3"], restart: .no)
        let id = try await env.engine.createContainer(ContainerCreateSpec(name: "events-\(labels.values.first!)", template: template,
                                                                          labels: labels))
        try await env.engine.startContainer(id: id)
        _ = try await env.waitFor(id) { $0?.state == .exited }
        try await env.engine.removeContainer(id: id, force: true)

        let engine = env.engine
        let kinds = try await withTimeout(20, "events start, die, destroy") {
            var kinds: [ContainerEvent.Kind] = []
            for try await event in engine.events(labels: labels, since: since) {
                #expect(event.containerID == id)
                #expect(event.labels == labels)
                kinds.append(event.kind)
                if event.kind == .destroy { break }
            }
            return kinds
        }
        #expect(kinds == [.start, .die(exitCode: 3), .destroy])
    }

    @Test func eventsReportHealth() async throws {
        let env = try Env.get()
        let labels = Env.testLabels()
        let engine = env.engine
        let since = Date()
        let id = try await engine.createContainer(ContainerCreateSpec(name: "health-\(labels.values.first!)",
                                                                      template: Self.webTemplate(page: "h"), labels: labels,
                                                                      network: Env.networkName))
        try await engine.startContainer(id: id)
        let health = try await withTimeout(30, "a health_status event") {
            for try await event in engine.events(labels: labels, since: since) {
                if case let .health(health) = event.kind { return health }
            }
            return ContainerHealth.none
        }
        #expect(health == .healthy)
        try await engine.removeContainer(id: id, force: true)
    }

    @Test func logsAreDemultiplexedIntoLines() async throws {
        let env = try Env.get()
        let labels = Env.testLabels()
        let script = "echo out-1; echo err-1 >&2; printf 'out-2\\nout-3'; echo; echo err-2 >&2"
        let template = ContainerTemplate(image: Env.image, command: ["sh", "-c", script], restart: .no)
        let id = try await env.engine.createContainer(ContainerCreateSpec(name: "logs-\(labels.values.first!)", template: template,
                                                                          labels: labels))
        try await env.engine.startContainer(id: id)
        _ = try await env.waitFor(id) { $0?.state == .exited }
        let engine = env.engine
        let lines = try await withTimeout(20, "logs") {
            var lines: [LogLine] = []
            for try await line in engine.logs(id: id, tail: nil, since: nil, follow: false) { lines.append(line) }
            return lines
        }
        // Docker keeps the order within a stream, not across them.
        #expect(lines.filter { $0.stream == .stdout }.map(\.text) == ["out-1", "out-2", "out-3"])
        #expect(lines.filter { $0.stream == .stderr }.map(\.text) == ["err-1", "err-2"])
        // Each line carries the time Docker received it.
        #expect(lines.allSatisfy { line in line.time.map { abs($0.timeIntervalSinceNow) < 120 } == true }, "\(lines)")
        let tail = try await withTimeout(20, "logs tail") {
            var lines: [LogLine] = []
            for try await line in engine.logs(id: id, tail: 1, since: nil, follow: false) { lines.append(line) }
            return lines
        }
        #expect(tail.count == 1)
        try await env.engine.removeContainer(id: id, force: true)
    }

    @Test func followedLogsEndWhenTheContainerExits() async throws {
        let env = try Env.get()
        let labels = Env.testLabels()
        let template = ContainerTemplate(image: Env.image, command: ["sh", "-c", "for i in 1 2 3; do echo line-$i; sleep 0.3; done"],
                                         restart: .no)
        let id = try await env.engine.createContainer(ContainerCreateSpec(name: "follow-\(labels.values.first!)", template: template,
                                                                          labels: labels))
        try await env.engine.startContainer(id: id)
        let engine = env.engine
        let lines = try await withTimeout(20, "followed logs") {
            var lines: [String] = []
            for try await line in engine.logs(id: id, tail: nil, since: nil, follow: true) { lines.append(line.text) }
            return lines
        }
        #expect(lines == ["line-1", "line-2", "line-3"])
        await #expect(throws: RuntimeError.containerNotFound("no-such-container")) {
            for try await _ in engine.logs(id: "no-such-container", tail: nil, since: nil, follow: false) {}
        }
        try await env.engine.removeContainer(id: id, force: true)
    }

    /// What Docker's restart policies do with a container killed through the API (`docker kill`)
    /// and with one whose process dies of SIGKILL from outside: the reconciler depends on it.
    @Test(arguments: [RestartPolicy.unlessStopped, .always])
    func restartPolicyAfterKill(policy: RestartPolicy) async throws {
        let env = try Env.get()
        let labels = Env.testLabels()
        let template = ContainerTemplate(image: Env.image, command: ["sleep", "300"], restart: policy, stopGracePeriod: 1)
        let id = try await env.engine.createContainer(ContainerCreateSpec(name: "kill-\(policy.rawValue)-\(labels.values.first!)",
                                                                          template: template, labels: labels))
        try await env.engine.startContainer(id: id)

        // Killed through the API: Docker counts it as stopped by the user and does not restart it.
        try await env.engine.killContainer(id: id, signal: "SIGKILL")
        try await Task.sleep(for: .seconds(3))
        let killed = try #require(try await env.engine.inspectContainer(id: id))
        #expect(killed.state == .exited && killed.exitCode == 137 && killed.restartCount == 0)

        // Its process killed from outside (a crash, the OOM killer): the policy restarts it.
        try await env.engine.startContainer(id: id)
        let running = try #require(try await env.waitFor(id) { $0?.pid != nil })
        kill(pid_t(try #require(running.pid)), SIGKILL)
        let restarted = try #require(try await env.waitFor(id, seconds: 15) { ($0?.restartCount ?? 0) > 0 && $0?.state == .running })
        #expect(restarted.state == .running && restarted.restartCount == 1)
        await #expect(throws: RuntimeError.self) { try await env.engine.removeContainer(id: id, force: false) }
        try await env.engine.removeContainer(id: id, force: true)
    }

    @Test func missingImageIsImageNotFound() async throws {
        let env = try Env.get()
        let template = ContainerTemplate(image: "ployz-absent:9", command: ["true"])
        await #expect(throws: RuntimeError.imageNotFound("ployz-absent:9")) {
            _ = try await env.engine.createContainer(ContainerCreateSpec(name: "absent-image", template: template))
        }
    }

    /// No registry is reachable here: a pull from a port nobody listens on fails with Docker's reason.
    @Test func pullFromUnreachableRegistryFailsWithDockersMessage() async throws {
        let engine = try Env.get().engine
        do {
            try await engine.pullImage("127.0.0.1:9/ployz-absent:1") { _ in }
            Issue.record("pull from 127.0.0.1:9 succeeded")
        } catch let error as RuntimeError {
            switch error {
            case let .engine(_, message), let .pullFailed(_, message): #expect(message.contains("127.0.0.1:9"))
            default: Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func unknownContainerIsNotFoundOrNil() async throws {
        let engine = try Env.get().engine
        #expect(try await engine.inspectContainer(id: "no-such-container") == nil)
        await #expect(throws: RuntimeError.containerNotFound("no-such-container")) { try await engine.startContainer(id: "no-such-container") }
        try await engine.removeContainer(id: "no-such-container", force: true)
    }
}

@Suite struct DockerEngineUnavailableTests {
    @Test func wrongSocketIsUnavailableInOneLine() async throws {
        let engine = DockerEngine(socketPath: "/tmp/pd-none/docker.sock", timeout: 5)
        let result = await Result(catching: { try await engine.ping() })
        // The client must be shut down before it goes away, whatever the outcome.
        try await engine.shutdown()
        #expect(throws: RuntimeError.self) { try result.get() }
        guard case let .failure(error as RuntimeError) = result, case let .unavailable(socket, _) = error else { return }
        #expect(socket == "/tmp/pd-none/docker.sock")
        #expect(error.description == "Docker is not running at /tmp/pd-none/docker.sock: No such file or directory")
        #expect(!error.description.contains("\n"))
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
