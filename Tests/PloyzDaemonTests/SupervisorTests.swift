import Foundation
import Logging
import Testing
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// The supervisor with a real (harmless) program: `sleep`, whose arguments make the spec.
@Suite(.serialized) struct SupervisorTests {
    let paths: DaemonPaths = {
        let base = NSTemporaryDirectory() + "ployzd-sup-\(UUID().uuidString)"
        return DaemonPaths(dataDir: base + "/data", runtimeDir: base + "/run", socketPath: base + "/run/s.sock")
    }()

    func spec(_ seconds: String) -> SidecarSpec {
        SidecarSpec(name: "sleeper", executable: "/bin/sleep", arguments: [seconds])
    }

    func removeAll() { try? FileManager.default.removeItem(atPath: (paths.runtimeDir as NSString).deletingLastPathComponent) }

    @Test func startsDetachedAdoptsReplacesAndStops() async throws {
        defer { removeAll() }
        let supervisor = Supervisor(paths: paths, logger: Logger(label: "test"))
        defer { if let record = SidecarRecord.load(from: paths.sidecarRecordFile(network: "n", sidecar: "sleeper")) { kill(record.pid, SIGKILL) } }

        let first = try await supervisor.ensure(spec("300"), network: "n")
        #expect(first.outcome == .started)
        #expect(getsid(first.pid) == first.pid, "a sidecar leads its own session")
        #expect(getpgid(first.pid) == first.pid)
        let record = try #require(SidecarRecord.load(from: paths.sidecarRecordFile(network: "n", sidecar: "sleeper")))
        #expect(record.pid == first.pid)
        #expect(record.startTime == ProcessStat.read(pid: first.pid)?.startTime)

        // A second supervisor (a restarted daemon) adopts the same process.
        let restarted = Supervisor(paths: paths, logger: Logger(label: "test"))
        let adopted = try await restarted.ensure(spec("300"), network: "n")
        #expect(adopted.outcome == .adopted)
        #expect(adopted.pid == first.pid)

        // Another spec replaces it: the old process is gone (and reaped), one new copy runs.
        let replaced = try await supervisor.ensure(spec("301"), network: "n")
        #expect(replaced.outcome == .replaced)
        #expect(replaced.pid != first.pid)
        #expect(waitUntil(.seconds(5)) { ProcessStat.read(pid: first.pid) == nil })

        await supervisor.stop("sleeper", network: "n")
        #expect(waitUntil(.seconds(5)) { ProcessStat.read(pid: replaced.pid) == nil }, "stopped and not left a zombie")
        #expect(await supervisor.liveProcess("sleeper", network: "n") == nil)
        #expect(!FileManager.default.fileExists(atPath: paths.sidecarRecordFile(network: "n", sidecar: "sleeper")))
    }

    @Test func recordOfADeadProcessIsNotAdopted() async throws {
        defer { removeAll() }
        let supervisor = Supervisor(paths: paths, logger: Logger(label: "test"))
        try FileManager.default.createDirectory(atPath: paths.runtimeNetworkDir("n"), withIntermediateDirectories: true)
        // Our own pid with a wrong start time stands for a recycled pid.
        let stale = SidecarRecord(pid: getpid(), startTime: 1, specHash: spec("300").currentHash())
        try stale.save(to: paths.sidecarRecordFile(network: "n", sidecar: "sleeper"))
        let result = try await supervisor.ensure(spec("300"), network: "n")
        defer { kill(result.pid, SIGKILL) }
        #expect(result.outcome == .started)
        #expect(result.pid != getpid())
    }

    @Test func logCollectsOutputAndTailIsOneLine() async throws {
        defer { removeAll() }
        let supervisor = Supervisor(paths: paths, logger: Logger(label: "test"))
        let echo = SidecarSpec(name: "echo", executable: "/bin/sh", arguments: ["-c", "echo one; echo two >&2; echo three; exec sleep 0.3"])
        let started = try await supervisor.ensure(echo, network: "n")
        #expect(waitUntil(.seconds(5)) { ProcessStat.read(pid: started.pid) == nil })
        #expect(supervisor.logTail("echo", network: "n", lines: 2) == "two | three")
    }
}
