import Foundation
import PloyzModel
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Integration tests need root (network namespaces, TUN devices) and the built `ployzd`.
enum TestEnvironment {
    static var isRoot: Bool { getuid() == 0 }

    /// `ployzd` next to the test bundle (`swift build` puts every product in one folder), or in
    /// the package's `.build/debug`.
    static let ployzdPath: String? = {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        return [bundleDir + "/ployzd", packageDir + "/.build/debug/ployzd"].first { access($0, X_OK) == 0 }
    }()

    static var canRunDaemons: Bool { isRoot && ployzdPath != nil }

    /// `ployzctl`, built beside `ployzd` (the lead's CLI), when it exists.
    static var ployzctlPath: String? {
        ployzdPath.map { ($0 as NSString).deletingLastPathComponent + "/ployzctl" }.flatMap { access($0, X_OK) == 0 ? $0 : nil }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
func waitUntil(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// Runs a command to its end and returns its status and output (bounded by `timeout`).
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let outputFile = NSTemporaryDirectory() + "pdt-cmd-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
    defer { unlink(outputFile) }
    guard let handle = FileHandle(forWritingAtPath: outputFile) else { return (-1, "cannot create \(outputFile)") }
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return (-1, "\(error)") }
    if !waitUntil(timeout, { !process.isRunning }) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    process.waitUntilExit()
    try? handle.close()
    let output = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
    return (process.terminationStatus, output)
}

@_silgen_name("setns")
private func setNamespace(_ fd: Int32, _ type: Int32) -> Int32
private let cloneNewNet: Int32 = 0x4000_0000

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// One node: a network namespace of its own, a temp folder with data/runtime dirs and config,
/// and the real `ployzd` run inside the namespace. `cleanup()` kills everything it started.
final class TestNode: @unchecked Sendable {
    let namespace: String
    let directory: String
    let configPath: String
    let interface: String
    let dataDir: String
    let runtimeDir: String
    let socketPath: String
    private(set) var daemon: Process?
    private(set) var daemonLogs: [String] = []

    init(extraConfig: String = "") throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        namespace = "pdt" + tag
        interface = "pw" + tag
        directory = "/tmp/" + namespace
        dataDir = directory + "/data"
        runtimeDir = directory + "/run"
        socketPath = runtimeDir + "/ployzd.sock"
        configPath = directory + "/config.toml"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
            data_dir = "\(dataDir)"
            runtime_dir = "\(runtimeDir)"
            wireguard_interface = "\(interface)"
            log_level = "debug"
            \(extraConfig)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let added = runCommand("/usr/sbin/ip", ["netns", "add", namespace])
        guard added.status == 0 else { throw TestFailure("ip netns add \(namespace): \(added.output)") }
        runCommand("/usr/sbin/ip", ["-n", namespace, "link", "set", "lo", "up"])
    }

    var client: ControlClient { ControlClient(socketPath: socketPath, timeout: 60) }

    /// Starts `ployzd --config FILE` in the namespace and waits until it answers.
    func startDaemon(extraArguments: [String] = []) throws {
        let process = try launchDaemon(extraArguments)
        daemon = process
        let answered = waitUntil(.seconds(15)) {
            guard process.isRunning else { return false }
            return (try? client.call(ControlCalls.DaemonInfo.self)) != nil
        }
        guard answered else { throw TestFailure("ployzd did not answer on \(socketPath): \(lastDaemonLog())") }
    }

    /// Runs a daemon that is expected to exit by itself; returns its status and output.
    func runDaemonToExit(_ arguments: [String], timeout: Duration = .seconds(15)) throws -> (status: Int32, output: String) {
        let result = runCommand("/usr/sbin/ip", ["netns", "exec", namespace, TestEnvironment.ployzdPath!] + arguments, timeout: timeout)
        return result
    }

    /// Sends `signal` to the daemon and waits for it to exit; returns its exit status.
    @discardableResult
    func stopDaemon(signal: Int32) -> Int32? {
        guard let process = daemon else { return nil }
        kill(process.processIdentifier, signal)
        guard waitUntil(.seconds(10), { !process.isRunning }) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        daemon = nil
        return process.terminationStatus
    }

    /// The pid recorded for a sidecar, if its record file exists.
    func sidecarPID(network: String, _ sidecar: String) -> Int32? {
        SidecarRecord.load(from: "\(runtimeDir)/\(network)/\(sidecar).json")?.pid
    }

    func ipAddresses() -> String {
        runCommand("/usr/sbin/ip", ["-n", namespace, "address", "show", "dev", interface]).output
    }

    func lastDaemonLog() -> String {
        guard let path = daemonLogs.last, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(8).joined(separator: " | ")
    }

    /// Runs `body` on a thread that joined the node's network namespace, so its sockets live there.
    func inNamespace<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let path = "/run/netns/\(namespace)"
        let thread = Thread {
            defer { done.signal() }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, setNamespace(fd, cloneNewNet) == 0 else {
                box.result = .failure(TestFailure("cannot enter \(path): \(String(cString: strerror(errno)))"))
                return
            }
            close(fd)
            box.result = Result { try body() }
        }
        thread.start()
        guard done.wait(timeout: .now() + 30) == .success, let result = box.result else { throw TestFailure("namespace probe timed out") }
        return try result.get()
    }

    /// Kills the daemon and every sidecar it recorded, deletes the namespace and the folder.
    func cleanup() {
        if let process = daemon, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        daemon = nil
        let networks = (try? FileManager.default.contentsOfDirectory(atPath: runtimeDir)) ?? []
        for network in networks {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(runtimeDir)/\(network)")) ?? []
            for file in files where file.hasSuffix(".json") {
                guard let record = SidecarRecord.load(from: "\(runtimeDir)/\(network)/\(file)"), record.isLive else { continue }
                kill(record.pid, SIGTERM)
                if !waitUntil(.seconds(3), { !record.isLive }) { kill(record.pid, SIGKILL) }
            }
        }
        unlink("/var/run/wireguard/\(interface).sock")
        runCommand("/usr/sbin/ip", ["netns", "delete", namespace])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func launchDaemon(_ extraArguments: [String]) throws -> Process {
        let logPath = directory + "/ployzd-\(daemonLogs.count).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        daemonLogs.append(logPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace, TestEnvironment.ployzdPath!, "--config", configPath] + extraArguments
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// Reads and writes JetStream KV entries with the raw NATS protocol: an independent check of
/// what the daemon stored, usable while the daemon is down.
enum RawKV {
    struct Credentials {
        let host: String
        let port: Int
        let user: String
        let password: String
    }

    /// The last value of `key` in `bucket`, or nil when the key has no value.
    static func get(_ credentials: Credentials, bucket: String, key: String) throws -> Data? {
        let request = #"{"last_by_subj":"$KV.\#(bucket).\#(key)"}"#
        let reply = try exchange(credentials, publish: "$JS.API.STREAM.MSG.GET.KV_\(bucket)", payload: request)
        guard let object = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any] else { throw TestFailure("bad reply \(reply)") }
        guard let message = object["message"] as? [String: Any] else { return nil }
        return (message["data"] as? String).flatMap { Data(base64Encoded: $0) }
    }

    /// Puts a value through JetStream (waits for the stream's ack).
    static func put(_ credentials: Credentials, bucket: String, key: String, value: String) throws {
        let reply = try exchange(credentials, publish: "$KV.\(bucket).\(key)", payload: value)
        guard reply.contains("\"seq\"") else { throw TestFailure("put \(bucket)/\(key) not acknowledged: \(reply)") }
    }

    /// CONNECT, subscribe to an inbox, publish with that inbox as reply, return the reply payload.
    private static func exchange(_ credentials: Credentials, publish subject: String, payload: String) throws -> String {
        let deadline = ContinuousClock.now + .seconds(5)
        var connection = try TCPLineConnection(host: credentials.host, port: credentials.port, timeout: .seconds(5))
        defer { connection.close() }
        _ = try connection.readLine(deadline: deadline)
        let connect = #"{"verbose":false,"pedantic":false,"user":"\#(credentials.user)","pass":"\#(credentials.password)","protocol":1}"#
        let inbox = "_INBOX.pdt\(UInt32.random(in: 0...UInt32.max))"
        try connection.write("CONNECT \(connect)\r\nSUB \(inbox) 1\r\nPUB \(subject) \(inbox) \(payload.utf8.count)\r\n\(payload)\r\nPING\r\n", deadline: deadline)
        while true {
            let line = try connection.readLine(deadline: deadline)
            if line.hasPrefix("-ERR") { throw TestFailure("nats: \(line)") }
            if line.hasPrefix("MSG \(inbox) ") { return try connection.readLine(deadline: deadline) }
        }
    }
}
