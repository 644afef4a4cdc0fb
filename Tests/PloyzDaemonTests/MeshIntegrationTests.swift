import Foundation
import Testing
import PloyzModel
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// The real `ployzd`, `wireguard-go` and `nats-server`, each node in a network namespace of its own.
@Suite(.serialized, .enabled(if: TestEnvironment.canRunDaemons, "needs root and a built ployzd"))
struct MeshIntegrationTests {
    /// Runs `body` with a fresh node and always cleans it up.
    func withNode(extraConfig: String = "", _ body: (TestNode) throws -> Void) throws {
        let node = try TestNode(extraConfig: extraConfig)
        defer { node.cleanup() }
        try body(node)
    }

    func credentials(_ node: TestNode, network: String) throws -> RawKV.Credentials {
        let record = try LocalNetworks(paths: DaemonPaths(dataDir: node.dataDir, runtimeDir: node.runtimeDir, socketPath: node.socketPath)).record(network)
        let keys = try LocalNetworks(paths: DaemonPaths(dataDir: node.dataDir, runtimeDir: node.runtimeDir, socketPath: node.socketPath)).keyPair(network)
        return RawKV.Credentials(host: keys.publicKey.overlayAddress.description, port: 4222, user: record.natsUser, password: record.natsPassword)
    }

    func machineRecord(_ node: TestNode, network: String, id: String) throws -> MachineRecord? {
        let creds = try credentials(node, network: network)
        return try node.inNamespace {
            try RawKV.get(creds, bucket: StoreBucket.machines.bucketName, key: id).map { try JSONDecoder.ployz.decode(MachineRecord.self, from: $0) }
        }
    }

    @Test func initBringsUpInterfaceStoreAndRecord() throws {
        try withNode { node in
            try node.startDaemon()
            let status = try node.client.call(ControlCalls.MeshInit.self, .init(name: "alpha"))
            #expect(status.phase == .running)
            #expect(status.active)
            #expect(status.backend == "wireguard-go")
            #expect(status.nodeAddress == "10.101.0.1")
            #expect(status.sidecars.map(\.name) == ["wireguard-go", "nats-server", "ployz-dns", "ployz-gateway"])
            #expect(status.sidecars.allSatisfy { $0.running })

            let addresses = node.ipAddresses()
            #expect(addresses.contains("inet 10.101.0.1/32"))
            #expect(addresses.contains("inet6 \(status.overlayIPv6)/128"))
            #expect(addresses.contains("mtu 1420"))

            let creds = try credentials(node, network: "alpha")
            try node.inNamespace {
                #expect(try NATSProbe.info(host: creds.host, port: 4222).hasPrefix("INFO "))
                try NATSProbe.authenticate(host: creds.host, port: 4222, user: creds.user, password: creds.password)
                do {
                    try NATSProbe.authenticate(host: creds.host, port: 4222, user: creds.user, password: "wrong")
                    Issue.record("a wrong password was accepted")
                } catch {
                    #expect("\(error)".contains("Authorization Violation"), "\(error)")
                }
            }
            let record = try #require(try machineRecord(node, network: "alpha", id: status.machineID))
            #expect(record.publicKey.base64 == status.publicKey)
            #expect(record.subnet.description == "10.101.0.0/24")
            #expect(record.lifecycle == .active)

            let ready = try node.client.call(ControlCalls.MeshReady.self, .init())
            #expect(ready.ready, "\(ready.checks.filter { !$0.ok })")
            #expect(Set(ready.checks.map(\.name)) == ["phase", "wireguard", "store", "machine_record", "peers"])

            for file in ["\(node.dataDir)/networks/alpha/wireguard.key", "\(node.dataDir)/networks/alpha/network.json", node.socketPath] {
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(file)")
            }
            #expect(FileManager.default.fileExists(atPath: "\(node.dataDir)/networks/alpha/nats/jetstream"))
            #expect((try? String(contentsOfFile: "\(node.dataDir)/active", encoding: .utf8)) == "alpha\n")
        }
    }

    @Test func killedDaemonLeavesDataPlaneAndNextOneAdopts() throws {
        try withNode { node in
            try node.startDaemon()
            let status = try node.client.call(ControlCalls.MeshInit.self, .init(name: "alpha"))
            let natsPID = try #require(node.sidecarPID(network: "alpha", "nats-server"))
            let wireguardPID = try #require(node.sidecarPID(network: "alpha", "wireguard-go"))

            node.stopDaemon(signal: SIGKILL)
            #expect(throws: (any Error).self) { try node.client.call(ControlCalls.DaemonInfo.self) }
            #expect(node.ipAddresses().contains("inet 10.101.0.1/32"))
            #expect(node.ipAddresses().contains("inet6 \(status.overlayIPv6)/128"))
            #expect(try machineRecord(node, network: "alpha", id: status.machineID)?.lifecycle == .active)

            try node.startDaemon()
            #expect(waitUntil(.seconds(15)) { (try? node.client.call(ControlCalls.MeshReady.self, .init()).ready) == true })
            #expect(node.sidecarPID(network: "alpha", "nats-server") == natsPID)
            #expect(node.sidecarPID(network: "alpha", "wireguard-go") == wireguardPID)
            let resumed = try node.client.call(ControlCalls.MeshStatus.self, .init(name: "alpha"))
            #expect(resumed.sidecars.first { $0.name == "nats-server" }?.pid == natsPID)

            // SIGTERM: the daemon exits 0 and removes its socket; the data plane stays.
            #expect(node.stopDaemon(signal: SIGTERM) == 0)
            #expect(!FileManager.default.fileExists(atPath: node.socketPath))
            #expect(SidecarRecord.load(from: "\(node.runtimeDir)/alpha/nats-server.json")?.isLive == true)
            #expect(node.ipAddresses().contains("inet 10.101.0.1/32"))

            // A changed spec (another NATS port) replaces nats-server: the old copy is gone.
            try node.startDaemon(extraArguments: ["--nats-port", "4333"])
            #expect(waitUntil(.seconds(15)) { (try? node.client.call(ControlCalls.MeshReady.self, .init()).ready) == true })
            let replacedPID = try #require(node.sidecarPID(network: "alpha", "nats-server"))
            #expect(replacedPID != natsPID)
            #expect(ProcessStat.read(pid: natsPID)?.isAlive != true, "the old nats-server is gone (a zombie until its new parent reaps it)")
            #expect(node.sidecarPID(network: "alpha", "wireguard-go") == wireguardPID)
        }
    }

    @Test func stopThenStartKeepsIdentityAndStore() throws {
        try withNode { node in
            try node.startDaemon()
            let before = try node.client.call(ControlCalls.MeshInit.self, .init(name: "alpha"))
            let creds = try credentials(node, network: "alpha")
            try node.inNamespace { try RawKV.put(creds, bucket: StoreBucket.services.bucketName, key: "default.probe", value: "kept") }

            let message = try node.client.call(ControlCalls.MeshStop.self, .init()).message
            #expect(message == "network \"alpha\" stopped")
            #expect(!FileManager.default.fileExists(atPath: "\(node.dataDir)/active"))
            #expect(node.sidecarPID(network: "alpha", "nats-server") == nil)
            #expect(!node.ipAddresses().contains("10.101.0.1"))
            #expect(try node.client.call(ControlCalls.MeshList.self).networks.first?.active == false)
            #expect(try node.client.call(ControlCalls.MeshReady.self, .init()).ready == false)

            let after = try node.client.call(ControlCalls.MeshStart.self, .init(name: "alpha"))
            #expect(after.publicKey == before.publicKey)
            #expect(after.subnet == before.subnet)
            #expect(after.overlayIPv6 == before.overlayIPv6)
            #expect(after.machineID == before.machineID)
            let kept = try node.inNamespace { try RawKV.get(creds, bucket: StoreBucket.services.bucketName, key: "default.probe") }
            #expect(kept.map { String(decoding: $0, as: UTF8.self) } == "kept")
            #expect(try node.client.call(ControlCalls.MeshReady.self, .init()).ready == true)
        }
    }

    @Test func twoNetworksOnlyOneActive() throws {
        try withNode { node in
            try node.startDaemon()
            _ = try node.client.call(ControlCalls.MeshInit.self, .init(name: "alpha"))
            let beta = try node.client.call(ControlCalls.MeshCreate.self, .init(name: "beta"))
            #expect(!beta.active)
            let list = try node.client.call(ControlCalls.MeshList.self).networks
            #expect(list.map(\.name) == ["alpha", "beta"])
            #expect(list.filter(\.active).map(\.name) == ["alpha"])
            do {
                _ = try node.client.call(ControlCalls.MeshStart.self, .init(name: "beta"))
                Issue.record("starting a second network succeeded")
            } catch let error as ControlError {
                #expect(error.code == .conflict)
                #expect(error.message.contains("stop it first"))
            }
            _ = try node.client.call(ControlCalls.MeshStop.self, .init())
            let started = try node.client.call(ControlCalls.MeshStart.self, .init(name: "beta"))
            #expect(started.phase == .running)
            #expect(try node.client.call(ControlCalls.MeshList.self).networks.filter(\.active).map(\.name) == ["beta"])
        }
    }

    @Test func stopRefusesWhileWorkloadsRunUnlessForced() throws {
        try withNode { node in
            try node.startDaemon()
            let status = try node.client.call(ControlCalls.MeshInit.self, .init(name: "alpha"))
            let workload = InstanceRecord(id: "web-1", service: "web", machine: status.machineID, address: "10.101.0.3")
            let json = String(decoding: try JSONEncoder.ployz.encode(workload), as: UTF8.self)
            let creds = try credentials(node, network: "alpha")
            try node.inNamespace { try RawKV.put(creds, bucket: StoreBucket.instances.bucketName, key: "web-1", value: json) }
            do {
                _ = try node.client.call(ControlCalls.MeshStop.self, .init())
                Issue.record("stop succeeded while a workload runs")
            } catch let error as ControlError {
                #expect(error.code == .conflict)
                #expect(error.message.contains("web-1"))
                #expect(error.message.contains("--force"))
            }
            #expect(try node.client.call(ControlCalls.MeshReady.self, .init()).ready == true)
            #expect(try node.client.call(ControlCalls.MeshStop.self, .init(force: true)).message == "network \"alpha\" stopped")
        }
    }

    @Test(.enabled(if: TestEnvironment.ployzctlPath != nil, "needs ployzctl built"))
    func ployzctlReadyExitCodes() throws {
        try withNode { node in
            try node.startDaemon()
            let ctl = TestEnvironment.ployzctlPath!
            let initialized = runCommand(ctl, ["mesh", "init", "alpha", "--socket", node.socketPath])
            #expect(initialized.status == 0, "\(initialized.output)")
            let ready = runCommand(ctl, ["mesh", "ready", "--json", "--socket", node.socketPath])
            #expect(ready.status == 0, "\(ready.output)")
            let report = try JSONDecoder().decode(ReadyReport.self, from: Data(ready.output.utf8))
            #expect(report.checks.count == 5)
            _ = runCommand(ctl, ["mesh", "stop", "--socket", node.socketPath])
            #expect(runCommand(ctl, ["mesh", "ready", "--socket", node.socketPath]).status == 1)
            let again = runCommand(ctl, ["mesh", "init", "alpha", "--socket", node.socketPath])
            #expect(again.status == 2)
            #expect(again.output.split(separator: "\n").count == 1, "\(again.output)")
        }
    }
}
