#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A private `dockerd` for tests, inside a network namespace, with its own data root, exec root,
/// socket and pid file under one short folder (`/tmp/pd-XXXX`: unix socket paths must stay under
/// 108 bytes). Start it, point a runtime at `socketPath`, `stop()` it at the end.
public final class DockerDaemonFixture: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let namespace: String
    /// The folder holding everything of this daemon.
    public let root: String
    public let pid: Int32

    public var socketPath: String { Self.socketPath(root) }
    public var logPath: String { "\(root)/dockerd.log" }

    private init(namespace: String, root: String, pid: Int32) {
        self.namespace = namespace
        self.root = root
        self.pid = pid
    }

    /// Starts `dockerd` in the namespace at `/var/run/netns/NAMESPACE` and waits (at most
    /// `timeout` seconds) until its socket answers `GET /_ping`. `root` defaults to a new `/tmp/pd-XXXX`.
    public static func start(namespace: String, root: String? = nil, timeout: Double = 60) throws -> DockerDaemonFixture {
        let root = try root ?? makeRoot()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // A dockerd killed with -9 leaves its pid file, and a new one refuses to start over it.
        try? FileManager.default.removeItem(atPath: pidPath(root))
        try? FileManager.default.removeItem(atPath: socketPath(root))
        FileManager.default.createFile(atPath: "\(root)/dockerd.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(root)/dockerd.log"))
        defer { try? log.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // nsenter, not `ip netns exec`: that remounts /sys, and dockerd then finds no cgroup mounts.
        process.arguments = [
            "nsenter", "--net=/var/run/netns/\(namespace)", "dockerd",
            "--data-root", "\(root)/data", "--exec-root", "\(root)/exec", "-H", "unix://\(socketPath(root))",
            "--pidfile", pidPath(root), "--iptables=false", "--ip6tables=false", "--bridge=none", "--live-restore",
        ]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let fixture = DockerDaemonFixture(namespace: namespace, root: root, pid: process.processIdentifier)

        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? fixture.request("GET", "/_ping"))?.status == 200 { return fixture }
            guard process.isRunning else {
                fixture.removeRoot()
                throw Failure(description: "dockerd exited with \(process.terminationStatus) before answering: \(lastLines(root))")
            }
            usleep(100_000)
        }
        let tail = lastLines(root)
        fixture.stop()
        throw Failure(description: "dockerd at \(socketPath(root)) did not answer /_ping within \(timeout) s: \(tail)")
    }

    /// Removes every container (so none outlives the daemon: it runs with --live-restore), stops
    /// dockerd by pid (SIGTERM, SIGKILL after `grace` seconds) and deletes its folder.
    public func stop(grace: Double = 15) {
        removeAllContainers()
        kill(pid, SIGTERM)
        if !waitForExit(seconds: grace) {
            kill(pid, SIGKILL)
            _ = waitForExit(seconds: 5)
        }
        removeRoot()
    }

    /// One HTTP/1.0 exchange with the daemon over its socket: status and body.
    public func request(_ method: String, _ path: String, timeout: Double = 10) throws -> (status: Int, body: Data) {
        try UnixHTTP.exchange(socketPath: socketPath, method: method, path: path, timeout: timeout)
    }

    private func removeAllContainers() {
        guard let list = try? request("GET", "/containers/json?all=1"), list.status == 200,
              let containers = try? JSONSerialization.jsonObject(with: list.body) as? [[String: Any]] else { return }
        for case let id as String in containers.map({ $0["Id"] }) {
            _ = try? request("DELETE", "/containers/\(id)?force=1", timeout: 20)
        }
    }

    private func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            // The child is ours: reap it, or it stays a zombie that kill(pid, 0) still finds.
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) != 0 { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    private func removeRoot() {
        // Mounts dockerd left behind (overlays, netns bind mounts) keep the folder busy.
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        let ours = mounts.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
            .filter { $0.hasPrefix(root + "/") }
        for mount in ours.reversed() { try? Command.run(["umount", "-l", mount], timeout: 10) }
        try? FileManager.default.removeItem(atPath: root)
    }

    private static func makeRoot() throws -> String {
        var template = Array("/tmp/pd-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp failed: errno \(errno)") }
        return String(cString: made)
    }

    private static func socketPath(_ root: String) -> String { "\(root)/docker.sock" }
    private static func pidPath(_ root: String) -> String { "\(root)/dockerd.pid" }

    private static func lastLines(_ root: String) -> String {
        let text = (try? String(contentsOfFile: "\(root)/dockerd.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(3).joined(separator: " | ")
    }
}

/// The smallest HTTP client that talks to a unix socket: HTTP/1.0, so the server closes after
/// the body and no chunked decoding is needed.
enum UnixHTTP {
    static func exchange(socketPath: String, method: String, path: String, timeout: Double) throws -> (status: Int, body: Data) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DockerDaemonFixture.Failure(description: "socket failed: errno \(errno)") }
        defer { close(fd) }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw DockerDaemonFixture.Failure(description: "socket path too long (\(pathBytes.count) bytes): \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw DockerDaemonFixture.Failure(description: "connect \(socketPath): errno \(errno)") }
        let request = Array("\(method) \(path) HTTP/1.0\r\nHost: docker\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw DockerDaemonFixture.Failure(description: "send to \(socketPath): errno \(errno)")
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { break }
            guard count > 0 else { throw DockerDaemonFixture.Failure(description: "recv from \(socketPath): errno \(errno)") }
            response.append(contentsOf: buffer[0..<count])
        }
        guard let headerEnd = response.range(of: Data("\r\n\r\n".utf8)),
              let statusLine = String(data: response[..<headerEnd.lowerBound], encoding: .utf8)?.split(separator: "\r\n").first,
              let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw DockerDaemonFixture.Failure(description: "unreadable HTTP answer from \(socketPath)")
        }
        return (status, Data(response[headerEnd.upperBound...]))
    }
}
