import Foundation
import Testing
import PloyzModel
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Every bad input gets a one-line error of the right kind and changes nothing on disk.
@Suite(.serialized, .enabled(if: TestEnvironment.canRunDaemons, "needs root and a built ployzd"))
struct BadInputTests {
    func expectError<C: ControlCall>(_ node: TestNode, _ call: C.Type, _ request: C.Request, code: ControlError.Code,
                                     containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try node.client.call(call, request)
            Issue.record("\(C.method.rawValue) \(request) succeeded", sourceLocation: sourceLocation)
        } catch let error as ControlError {
            #expect(error.code == code, sourceLocation: sourceLocation)
            #expect(error.exitCode == 2, sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    func networksOnDisk(_ node: TestNode) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: node.dataDir + "/networks")) ?? []).sorted()
    }

    @Test func badNamesExistingAndUnknownNetworks() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        try node.startDaemon()
        for (name, problem) in [("", "empty"), (String(repeating: "a", count: 64), "at most 63"), ("a/b", "'/'")] {
            expectError(node, ControlCalls.MeshCreate.self, .init(name: name), code: .usage, containing: problem)
            expectError(node, ControlCalls.MeshInit.self, .init(name: name), code: .usage, containing: problem)
        }
        #expect(networksOnDisk(node) == [])
        expectError(node, ControlCalls.MeshStart.self, .init(name: "ghost"), code: .notFound, containing: "does not exist")
        #expect(networksOnDisk(node) == [])

        _ = try node.client.call(ControlCalls.MeshCreate.self, .init(name: "alpha"))
        let recordBefore = try String(contentsOfFile: node.dataDir + "/networks/alpha/network.json", encoding: .utf8)
        expectError(node, ControlCalls.MeshInit.self, .init(name: "alpha"), code: .conflict, containing: "already exists")
        expectError(node, ControlCalls.MeshCreate.self, .init(name: "alpha"), code: .conflict, containing: "already exists")
        #expect(try String(contentsOfFile: node.dataDir + "/networks/alpha/network.json", encoding: .utf8) == recordBefore)
        #expect(!FileManager.default.fileExists(atPath: node.dataDir + "/active"))
        expectError(node, ControlCalls.MeshStop.self, .init(), code: .usage, containing: "no network is active")
    }

    @Test func clusterCIDRUsedOnTheHostIsRefused() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        // A LAN inside the namespace that already uses part of the default cluster_cidr.
        for command in [["link", "add", "lan0", "type", "veth", "peer", "name", "lan1"],
                        ["address", "add", "10.101.9.1/24", "dev", "lan0"], ["link", "set", "lan0", "up"], ["link", "set", "lan1", "up"]] {
            let result = runCommand("/usr/sbin/ip", ["-n", node.namespace] + command)
            try #require(result.status == 0, "ip \(command): \(result.output)")
        }
        try node.startDaemon()
        expectError(node, ControlCalls.MeshInit.self, .init(name: "alpha"), code: .usage, containing: "10.101.9.0/24")
        #expect(networksOnDisk(node) == [])
    }

    @Test func clusterCIDROverlappingAnotherNetworkIsRefused() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        try node.startDaemon()
        _ = try node.client.call(ControlCalls.MeshCreate.self, .init(name: "alpha"))
        #expect(node.stopDaemon(signal: SIGTERM) == 0)
        try node.startDaemon(extraArguments: ["--cluster-cidr", "10.101.128.0/17", "--subnet-prefix-len", "24"])
        expectError(node, ControlCalls.MeshCreate.self, .init(name: "beta"), code: .usage, containing: "network \"alpha\"")
        #expect(networksOnDisk(node) == ["alpha"])
    }

    @Test func failedInitLeavesNothingBehind() throws {
        // A listener on [::]:4333 inside the namespace holds the NATS port, so nats-server cannot
        // bind and the store phase fails after the wireguard phase succeeded.
        let node = try TestNode(extraConfig: "nats_port = 4333")
        defer { node.cleanup() }
        try node.startDaemon()
        let blocker = try node.inNamespace { () -> Int32 in
            let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(4333).bigEndian)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
            guard bound == 0, listen(fd, 1) == 0 else { throw TestFailure("cannot hold port 4333: \(String(cString: strerror(errno)))") }
            return fd
        }
        defer { close(blocker) }
        do {
            _ = try node.client.call(ControlCalls.MeshInit.self, .init(name: "alpha"))
            Issue.record("init succeeded although the NATS port is taken")
        } catch let error as ControlError {
            #expect(error.code == .failed)
            #expect(error.message.hasPrefix("mesh start \"alpha\": store: "), "\(error.message)")
        }
        #expect(networksOnDisk(node) == [])
        #expect(!FileManager.default.fileExists(atPath: node.dataDir + "/active"))
        #expect(!node.ipAddresses().contains("10.101.0.1"))
        #expect(!FileManager.default.fileExists(atPath: node.runtimeDir + "/alpha"))
    }

    @Test func secondDaemonOnTheSameSocketExits2() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        try node.startDaemon()
        let second = try node.runDaemonToExit(["--config", node.configPath])
        #expect(second.status == 2)
        #expect(second.output.contains("another ployzd is already running on \(node.socketPath)"))
        // Same socket, other runtime dir (so the lock is not shared): the socket check catches it.
        let other = try node.runDaemonToExit(["--config", node.configPath, "--runtime-dir", node.directory + "/run2",
                                               "--socket-path", node.socketPath])
        #expect(other.status == 2)
        #expect(other.output.contains("another ployzd is already running"))
        #expect((try? node.client.call(ControlCalls.DaemonInfo.self)) != nil)
    }

    @Test(arguments: [
        ("cluster_cidr = \"10.101.0.0/33\"", "cluster_cidr"),
        ("cluster_cidr = \"10.101.0.1/16\"", "cluster_cidr"),
        ("subnet_prefix_len = 16", "subnet_prefix_len"),
        ("subnet_prefix_len = 31", "subnet_prefix_len"),
        ("nats_port = 70000", "nats_port"),
        ("wireguard_port = 0", "wireguard_port"),
        ("log_level = \"loud\"", "log_level"),
    ])
    func badConfigExits2WithOneLine(line: String, key: String) throws {
        let node = try TestNode(extraConfig: line)
        defer { node.cleanup() }
        let result = try node.runDaemonToExit(["--config", node.configPath])
        #expect(result.status == 2)
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 1, "\(result.output)")
        #expect(result.output.contains(key), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: node.dataDir))
        #expect(!FileManager.default.fileExists(atPath: node.runtimeDir))
    }

    @Test func badFlagsAndMissingConfigExit2() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        for arguments in [["--config", node.directory + "/missing.toml"], ["--config", node.configPath, "--zfs-transfer-port", "0"],
                          ["--config", node.configPath, "--no-such-flag", "1"]] {
            let result = try node.runDaemonToExit(arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.output.split(separator: "\n").count == 1, "\(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: node.runtimeDir))
    }

    @Test func unknownConfigKeyWarnsAndRuns() throws {
        let node = try TestNode(extraConfig: "colour = \"blue\"")
        defer { node.cleanup() }
        try node.startDaemon()
        #expect(node.lastDaemonLog().contains("unknown key \"colour\""))
    }

    @Test func malformedLinesGetUsageErrorsOnTheSameConnection() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        try node.startDaemon()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(node.socketPath.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        let requests = "not json\n{\"method\":\"mesh.explode\"}\n{\"method\":\"mesh.list\",\"params\":{}}\n"
        _ = requests.withCString { write(fd, $0, strlen($0)) }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while received.split(separator: "\n").count < 3 {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        let lines = received.split(separator: "\n").map { Data($0.utf8) }
        #expect(lines.count == 3)
        func refusal(_ line: Data?) -> ControlError? {
            do { _ = try ControlWire.decodeResponse(ControlCalls.MeshList.self, line ?? Data()) } catch let error as ControlError { return error } catch {}
            return nil
        }
        #expect(refusal(lines.first)?.code == .usage)
        #expect(refusal(lines.dropFirst().first)?.message.hasPrefix("unknown method") == true)
        #expect(try ControlWire.decodeResponse(ControlCalls.MeshList.self, lines.last ?? Data()).networks == [])
    }
}
