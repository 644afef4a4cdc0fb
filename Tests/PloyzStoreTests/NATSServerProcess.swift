import Foundation
import PloyzTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real nats-server with JetStream on a free loopback port and its own store dir, for tests.
final class NATSServerProcess {
    let port: Int
    let directory: URL
    let user = "ployz"
    let password = "test-secret"
    private let process = Process()

    var url: String { "nats://127.0.0.1:\(port)" }

    init() throws {
        port = try Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ployz-store-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = """
        listen: 127.0.0.1:\(port)
        jetstream { store_dir: "\(directory.path)/js" }
        authorization { user: \(user), password: \(password) }
        """
        let configPath = directory.appendingPathComponent("nats.conf")
        try config.write(to: configPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: try Self.executable("nats-server"))
        process.arguments = ["-c", configPath.path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("nats.log").creatingFile())
        try process.run()
        try waitUntilListening(deadline: Date().addingTimeInterval(10))
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    private func waitUntilListening(deadline: Date) throws {
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
            close(fd)
            if ok { return }
            guard process.isRunning else { throw Failure(message: "nats-server exited: see \(directory.path)/nats.log") }
            usleep(50_000)
        }
        throw Failure(message: "nats-server did not listen on \(port) within 10 s")
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Finds a program on PATH or in the sbin directories (Debian puts nats-server in /usr/sbin).
    static func executable(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/usr/bin"] {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(message: "\(name) is not installed; run `make deps`")
    }

    static func freePort() throws -> Int { try FreePorts.next() }
}

extension URL {
    func creatingFile() -> URL {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return self
    }
}
