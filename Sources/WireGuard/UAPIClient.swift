import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Talks to a userspace WireGuard device (wireguard-go) over its UAPI unix socket: one connection
/// per request, one function per verb. Every socket call is bounded by `timeout`.
public struct UAPIClient: WireGuardControl {
    public let socketPath: String
    public let timeout: Duration

    public init(socketPath: String) {
        self.init(socketPath: socketPath, timeout: .seconds(5))
    }

    public init(socketPath: String, timeout: Duration) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// `<runDirectory>/<interface>.sock`, where wireguard-go creates it.
    public static func socketPath(interface: String, runDirectory: String = "/var/run/wireguard") -> String {
        "\(runDirectory)/\(interface).sock"
    }

    public func get() async throws -> WireGuardDeviceState {
        let answer = try await exchange(UAPIMessage.getRequest)
        return try UAPIMessage.parseGet(answer)
    }

    public func set(_ update: WireGuardDeviceUpdate) async throws {
        guard !update.isEmpty else { return }
        let answer = try await exchange(try UAPIMessage.setRequest(update))
        let errno = try UAPIMessage.errno(inAnswer: answer)
        guard errno == 0 else { throw WireGuardError.uapi(errno: errno, operation: "set") }
    }

    /// Sends one request and reads its answer (through the blank line that ends it) off the
    /// cooperative pool, since the socket calls block.
    private func exchange(_ request: String) async throws -> String {
        let path = socketPath, timeout = timeout
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try UAPISocket.exchange(request, path: path, timeout: timeout) })
            }
        }
    }
}

/// Blocking unix-socket helpers for the UAPI.
enum UAPISocket {
    /// Answers larger than this are refused rather than buffered without bound (a device with
    /// thousands of peers answers in well under a megabyte per thousand peers).
    static let maximumAnswer = 64 << 20

    static func exchange(_ request: String, path: String, timeout: Duration) throws -> String {
        let fd = try connect(path: path, timeout: timeout)
        defer { close(fd) }
        try writeAll(Array(request.utf8), fd: fd, path: path)
        return try readAnswer(fd: fd, path: path)
    }

    /// Opens a stream connection to `path` with send/receive timeouts set.
    static func connect(path: String, timeout: Duration) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WireGuardError.socket(errno: errno, operation: "socket", path: path) }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            throw WireGuardError.invalidValue("socket path \(path) is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes + [0]) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let failure = errno
            close(fd)
            throw WireGuardError.socket(errno: failure, operation: "connect", path: path)
        }
        return fd
    }

    private static func writeAll(_ bytes: [UInt8], fd: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a device that went away must give EPIPE here, not kill us with SIGPIPE.
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw WireGuardError.socket(errno: errno, operation: "send", path: path)
            }
            offset += written
        }
    }

    /// Reads until the blank line that ends every UAPI answer.
    private static func readAnswer(fd: Int32, path: String) throws -> String {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !(answer.count >= 2 && answer[answer.count - 1] == 0x0a && answer[answer.count - 2] == 0x0a) {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw WireGuardError.socket(errno: errno, operation: "read", path: path)
            }
            if count == 0 { throw WireGuardError.malformedResponse("socket closed before the answer ended") }
            answer.append(contentsOf: buffer[..<count])
            if answer.count > maximumAnswer { throw WireGuardError.malformedResponse("answer exceeds \(maximumAnswer) bytes") }
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
