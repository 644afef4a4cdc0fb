import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Another daemon already serves this runtime dir or socket.
public struct AlreadyRunning: Error, CustomStringConvertible {
    public let socketPath: String
    public var description: String { "another ployzd is already running on \(socketPath); stop it first (or use another --socket-path and --runtime-dir)" }
}

/// The exclusive `flock` on `<runtime_dir>/ployzd.lock`, held for the daemon's whole life (the
/// kernel drops it when the process dies, even by SIGKILL, so a stale lock cannot exist).
public struct InstanceLock: Sendable {
    private let fd: Int32

    /// Takes the lock, or throws `AlreadyRunning` when another daemon holds it or answers on the socket.
    public static func acquire(lockPath: String, socketPath: String) throws -> InstanceLock {
        try FileManager.default.createDirectory(atPath: (lockPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LocalStateError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw AlreadyRunning(socketPath: socketPath)
        }
        // Another daemon may use the same socket with another runtime dir: ask the socket too.
        if socketAnswers(socketPath) {
            close(fd)
            throw AlreadyRunning(socketPath: socketPath)
        }
        return InstanceLock(fd: fd)
    }

    /// True when something accepts connections on the unix socket.
    static func socketAnswers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}
