import Foundation
import PloyzModel
#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of the control API, for `ployzctl` and tests: one connection per call.
public struct ControlClient: Sendable {
    public let socketPath: String
    /// How long one call may take before it fails; `mesh init` waits for the mesh, so minutes.
    public var timeout: TimeInterval

    public init(socketPath: String, timeout: TimeInterval = 120) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// The daemon could not be reached at all.
    public struct Unreachable: Error, CustomStringConvertible {
        public let socketPath: String
        public let reason: String
        public var description: String {
            "cannot reach ployzd at \(socketPath): \(reason); start it with `ployzd` (as root), or point ployzctl at its socket with --socket or PLOYZ_SOCKET"
        }
    }

    /// The daemon answered something that is not a response.
    public struct BadResponse: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "ployzd sent a response ployzctl cannot read: \(reason)" }
    }

    /// Calls one method and returns its response; throws the daemon's `ControlError` when it
    /// refused, `BadResponse` when the answer does not decode as `C.Response`.
    public func call<C: ControlCall>(_ call: C.Type, _ request: C.Request) throws -> C.Response {
        let fd = try connectSocket()
        defer { close(fd) }
        try writeAll(fd, try ControlWire.requestLine(call, request))
        return try ControlWire.decodeResponse(call, try readLine(fd))
    }

    /// Calls a method that takes no parameters.
    public func call<C: ControlCall>(_ call: C.Type) throws -> C.Response where C.Request == ControlCalls.Empty {
        try self.call(call, ControlCalls.Empty())
    }

    private func connectSocket() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unreachable(socketPath: socketPath, reason: String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Unreachable(socketPath: socketPath, reason: "socket path is longer than 107 bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = errno == ENOENT ? "no socket there (is ployzd running?)"
                : errno == ECONNREFUSED ? "nothing is listening (ployzd is not running)"
                : String(cString: strerror(errno))
            close(fd)
            throw Unreachable(socketPath: socketPath, reason: reason)
        }
        return fd
    }

    private func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Unreachable(socketPath: socketPath, reason: "write: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    private func readLine(_ fd: Int32) throws -> Data {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errno == EAGAIN ? "no answer within \(Int(timeout))s" : String(cString: strerror(errno))
                throw Unreachable(socketPath: socketPath, reason: reason)
            }
            if n == 0 { break }
            if let newline = chunk[0..<n].firstIndex(of: 0x0a) {
                buffer.append(contentsOf: chunk[0..<newline])
                return buffer
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
        guard !buffer.isEmpty else { throw BadResponse(reason: "connection closed without an answer") }
        return buffer
    }
}
