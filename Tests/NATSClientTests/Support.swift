import Foundation
import PloyzTestSupport
import NATSClient
#if canImport(Glibc)
import Glibc
#endif

/// A real nats-server process on a free loopback port with its own store directory.
/// `stop()` then `start()` restarts it on the same port and store (for reconnect tests).
final class TestServer: @unchecked Sendable {
    let port: Int
    let storeDir: URL
    let extraArgs: [String]
    private var process: Process?
    private let logURL: URL

    let host: String

    init(jetStream: Bool = true, host: String = "127.0.0.1", extraArgs: [String] = []) async throws {
        self.host = host
        port = try Self.freePort()
        storeDir = FileManager.default.temporaryDirectory.appendingPathComponent("nats-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storeDir, withIntermediateDirectories: true)
        logURL = storeDir.appendingPathComponent("server.log")
        var args = ["-a", host, "-p", String(port)]
        if jetStream { args += ["-js", "-sd", storeDir.appendingPathComponent("js").path] }
        self.extraArgs = args + extraArgs
        try await start()
    }

    /// nats-server from $NATS_SERVER, else Debian's /usr/sbin, else /usr/bin.
    static let binary: String = {
        if let p = ProcessInfo.processInfo.environment["NATS_SERVER"] { return p }
        for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        where FileManager.default.isExecutableFile(atPath: p) { return p }
        return "/usr/sbin/nats-server"
    }()

    var url: String { host.contains(":") ? "nats://[\(host)]:\(port)" : "nats://\(host):\(port)" }

    func start() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = extraArgs
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        // Bounded wait until the port accepts connections (and JetStream is up).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.canConnect(host: host, port: port) { return }
            guard p.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        throw TestServerError.didNotStart(text.suffix(2000).description)
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGCONT)
        p.terminate()
        let deadline = Date().addingTimeInterval(5)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        process = nil
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: it keeps its sockets but answers nothing.
    func pause() { if let p = process { kill(p.processIdentifier, SIGSTOP) } }
    func resume() { if let p = process { kill(p.processIdentifier, SIGCONT) } }

    /// Stops the server and removes its store.
    func shutdown() {
        stop()
        try? FileManager.default.removeItem(at: storeDir)
    }

    deinit { shutdown() }

    func connect(_ configure: (inout NATSOptions) -> Void = { _ in }) async throws -> NATSConnection {
        var options = NATSOptions(servers: [url])
        options.reconnectWait = .milliseconds(100)
        options.reconnectWaitMax = .milliseconds(500)
        // Generous: the test machine is shared and busy.
        options.connectTimeout = .seconds(10)
        configure(&options)
        return try await NATSConnection.connect(options)
    }

    static func freePort() throws -> Int { try FreePorts.next() }

    static func canConnect(host: String, port: Int) -> Bool {
        if host.contains(":") {
            let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else { return false }
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
                }
            }
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

enum TestServerError: Error { case noPort, didNotStart(String), timedOut(String) }

/// Runs `body` with a deadline; throws when it does not finish in time.
func withDeadline<T: Sendable>(_ seconds: Double, _ what: String = "operation", _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TestServerError.timedOut(what)
        }
        return value
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
