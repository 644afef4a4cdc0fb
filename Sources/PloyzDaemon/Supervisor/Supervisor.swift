import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Starts, adopts and stops sidecars. A sidecar is identified by the record file the daemon
/// wrote when it started it (`pid`, `start_time`, `spec_hash`), so a restarted daemon adopts the
/// process a previous daemon started, and never runs a second copy beside it.
public actor Supervisor {
    /// What `ensure` did.
    public enum Outcome: String, Sendable {
        /// A live process with the same spec was already running; it was kept.
        case adopted
        /// None was running; one was started.
        case started
        /// One was running with another spec; it was stopped and a new one started.
        case replaced
    }

    public let paths: DaemonPaths
    private let logger: Logger

    /// A supervisor keeping its records under `paths.runtimeDir`.
    public init(paths: DaemonPaths, logger: Logger) {
        self.paths = paths
        self.logger = logger
    }

    /// Makes sure the sidecar runs with exactly this spec; returns its pid and what was done.
    public func ensure(_ spec: SidecarSpec, network: String) async throws -> (pid: Int32, outcome: Outcome) {
        let recordPath = paths.sidecarRecordFile(network: network, sidecar: spec.name)
        let hash = spec.currentHash()
        var outcome = Outcome.started
        if let record = SidecarRecord.load(from: recordPath), record.isLive {
            if record.specHash == hash {
                logger.info("sidecar adopted", metadata: ["sidecar": "\(spec.name)", "network": "\(network)", "pid": "\(record.pid)"])
                return (record.pid, .adopted)
            }
            logger.info("sidecar spec changed, replacing", metadata: ["sidecar": "\(spec.name)", "network": "\(network)", "pid": "\(record.pid)"])
            await terminate(record)
            outcome = .replaced
        }
        try FileManager.default.createDirectory(atPath: paths.runtimeNetworkDir(network), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let pid = try DetachedSpawn.spawn(executable: spec.executable, arguments: spec.arguments, environment: spec.environment,
                                          logPath: paths.sidecarLogFile(network: network, sidecar: spec.name))
        Self.reapWhenExited(pid)
        guard let stat = ProcessStat.read(pid: pid) else {
            throw SpawnError(description: "\(spec.name) exited at once; see \(paths.sidecarLogFile(network: network, sidecar: spec.name))")
        }
        do {
            try SidecarRecord(pid: pid, startTime: stat.startTime, specHash: hash).save(to: recordPath)
        } catch {
            kill(pid, SIGKILL)
            throw error
        }
        logger.info("sidecar started", metadata: ["sidecar": "\(spec.name)", "network": "\(network)", "pid": "\(pid)"])
        return (pid, outcome)
    }

    /// Stops the sidecar if it runs (SIGTERM, then SIGKILL after `timeout`) and forgets it.
    public func stop(_ name: String, network: String, timeout: Duration = .seconds(5)) async {
        let recordPath = paths.sidecarRecordFile(network: network, sidecar: name)
        if let record = SidecarRecord.load(from: recordPath), record.isLive {
            await terminate(record, timeout: timeout)
            logger.info("sidecar stopped", metadata: ["sidecar": "\(name)", "network": "\(network)", "pid": "\(record.pid)"])
        }
        unlink(recordPath)
    }

    /// The recorded process when it is still the one that was started.
    public func liveProcess(_ name: String, network: String) -> SidecarRecord? {
        guard let record = SidecarRecord.load(from: paths.sidecarRecordFile(network: network, sidecar: name)), record.isLive else { return nil }
        return record
    }

    /// The last lines of a sidecar's log, joined with " | " for one-line error messages.
    public nonisolated func logTail(_ name: String, network: String, lines: Int = 3) -> String {
        guard let data = FileManager.default.contents(atPath: paths.sidecarLogFile(network: network, sidecar: name)) else { return "" }
        let text = String(decoding: data.suffix(8192), as: UTF8.self)
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
    }

    /// Signals the process group (a sidecar leads its own), waits, then kills.
    private func terminate(_ record: SidecarRecord, timeout: Duration = .seconds(5)) async {
        let target = getpgid(record.pid) == record.pid ? -record.pid : record.pid
        kill(target, SIGTERM)
        if await waitForExit(record, timeout: timeout) { return }
        logger.warning("sidecar ignored SIGTERM, killing", metadata: ["pid": "\(record.pid)"])
        kill(target, SIGKILL)
        _ = await waitForExit(record, timeout: .seconds(2))
    }

    private func waitForExit(_ record: SidecarRecord, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !record.isLive { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !record.isLive
    }

    /// Reaps a child the daemon spawned so it does not linger as a zombie while the daemon runs.
    /// One small thread per child, waiting for that pid only, so other code's children
    /// (e.g. `Process` running `ip`) keep their own exit statuses.
    private static func reapWhenExited(_ pid: pid_t) {
        let thread = Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        thread.stackSize = 64 * 1024
        thread.start()
    }
}
