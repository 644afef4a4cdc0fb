import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PloyzModel
import Testing
@testable import PloyzDNS

/// The real `ployz-dns` binary: a separate process that needs no daemon, follows its snapshot
/// file live and keeps answering its last good state when the file goes bad or away.
@Suite(.serialized) struct ExecutableTests {
    /// Starts the binary; the caller terminates it.
    static func launch(_ arguments: [String], environment: [String: String] = [:], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Support.binaryPath())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = FileHandle(forWritingAtPath: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
    }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    @Test func servesTheSnapshotFileFollowsItLiveAndSurvivesItsLoss() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/snapshot.json"
        try Support.sampleSnapshot().save(to: path)
        let port = try Support.freePort()
        let process = try Self.launch(["--snapshot", path, "--listen", "127.0.0.1:\(port)", "--ttl", "7"], log: directory + "/dns.log")
        defer { Self.stop(process) }

        #expect(try Support.eventually(10) { try Support.dig("web.ployz.internal", port: port) == ["10.101.0.3", "10.101.0.4"] })
        let full = try Support.run("/usr/bin/dig", ["@127.0.0.1", "-p", String(port), "web.ployz.internal", "+noall", "+answer"])
        #expect(full.contains("web.ployz.internal.\t7\tIN\tA\t10.101.0.3"))
        #expect(try Support.dig("web.ployz.internal", port: port, tcp: true) == ["10.101.0.3", "10.101.0.4"])

        var changed = Support.sampleSnapshot()
        changed.instances["web-0"]?.ready = false
        changed.instances["web-9"] = InstanceRecord(id: "web-9", service: "web", machine: "m1", address: "10.101.0.99")
        try changed.save(to: path)
        #expect(try Support.eventually(5) { try Support.dig("web.ployz.internal", port: port) == ["10.101.0.4", "10.101.0.99"] })

        // A malformed file is ignored: the last good state keeps being served.
        try "{ not json".write(toFile: path, atomically: true, encoding: .utf8)
        usleep(600_000)
        #expect(try Support.dig("web.ployz.internal", port: port) == ["10.101.0.4", "10.101.0.99"])

        try FileManager.default.removeItem(atPath: path)
        usleep(600_000)
        #expect(process.isRunning)
        #expect(try Support.dig("web.ployz.internal", port: port) == ["10.101.0.4", "10.101.0.99"])
        #expect(try Support.dig("web.ployz.internal", port: port, tcp: true) == ["10.101.0.4", "10.101.0.99"])
    }

    @Test func readsDNSSettingsFromConfigAndEnvironment() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/snapshot.json"
        try Support.sampleSnapshot().save(to: path)
        let config = directory + "/config.toml"
        try "dns_ttl = 42\n".write(toFile: config, atomically: true, encoding: .utf8)
        let port = try Support.freePort()
        let metricsPort = try Support.freePort()
        let process = try Self.launch(["--snapshot", path, "--listen", "127.0.0.1:\(port)", "--config", config],
                                      environment: ["PLOYZ_DNS_METRICS_LISTEN_ADDR": "127.0.0.1:\(metricsPort)"], log: directory + "/dns.log")
        defer { Self.stop(process) }

        #expect(try Support.eventually(10) { !(try Support.dig("web.ployz.internal", port: port).isEmpty) })
        let answer = try Support.run("/usr/bin/dig", ["@127.0.0.1", "-p", String(port), "api.prod.ployz.internal", "+noall", "+answer"])
        #expect(answer.contains("api.prod.ployz.internal. 42\tIN\tA\t10.101.1.3"))
        let metrics = try Support.httpGet("/metrics", port: metricsPort)
        #expect(metrics.contains("dns_queries_total{type=\"A\",rcode=\"NOERROR\"}"))
    }

    @Test func refusesToStartWithoutAListenAddress() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try Self.launch(["--snapshot", directory + "/none.json"], log: directory + "/dns.log")
        defer { Self.stop(process) }
        #expect(Support.eventually(5) { !process.isRunning })
        #expect(process.terminationStatus != 0)
        let log = try String(contentsOfFile: directory + "/dns.log", encoding: .utf8)
        #expect(log.contains("give at least one --listen IP:PORT"))
    }
}
