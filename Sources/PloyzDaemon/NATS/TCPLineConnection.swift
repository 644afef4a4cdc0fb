import Foundation
import PloyzModel
#if canImport(Glibc)
import Glibc
#endif

/// A connection failed or timed out; one line with the address and the reason.
public struct ProbeError: Error, CustomStringConvertible {
    public let description: String
}

/// A small blocking TCP client for line protocols, used for short probes (a few ms) where an
/// event loop would be more machinery than the job needs. Every operation has a deadline.
struct TCPLineConnection {
    private let fd: Int32
    private let label: String
    private var buffer: [UInt8] = []

    /// Connects to a literal IPv4 or IPv6 address within `timeout`.
    init(host: String, port: Int, timeout: Duration) throws {
        label = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var storage = sockaddr_storage()
        let length: socklen_t
        if let v6 = IPv6Address(host) {
            withUnsafeMutableBytes(of: &storage) { raw in
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                address.sin6_port = in_port_t(UInt16(port).bigEndian)
                withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: v6.bytes) }
                withUnsafeBytes(of: address) { raw.copyBytes(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else if let v4 = IPv4Address(host) {
            withUnsafeMutableBytes(of: &storage) { raw in
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = v4.value.bigEndian
                withUnsafeBytes(of: address) { raw.copyBytes(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else {
            throw ProbeError(description: "\(host) is not an IP address")
        }
        let fd = socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ProbeError(description: "socket: \(String(cString: strerror(errno)))") }
        self.fd = fd
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if result != 0 {
            guard errno == EINPROGRESS else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw ProbeError(description: "connect \(label): \(reason)")
            }
            do { try Self.wait(fd, events: Int16(POLLOUT), deadline: ContinuousClock.now + timeout, label: label) } catch {
                Glibc.close(fd)
                throw error
            }
            var socketError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &size)
            guard socketError == 0 else {
                Glibc.close(fd)
                throw ProbeError(description: "connect \(label): \(String(cString: strerror(socketError)))")
            }
        }
    }

    func close() { _ = Glibc.close(fd) }

    /// Reads one line (without CR LF) before `deadline`.
    mutating func readLine(deadline: ContinuousClock.Instant) throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                let line = buffer[..<newline]
                buffer.removeFirst(newline + 1)
                return String(decoding: line.last == 0x0d ? line.dropLast() : line, as: UTF8.self)
            }
            guard try fill(deadline: deadline) else { throw ProbeError(description: "\(label) closed the connection") }
        }
    }

    /// Reads until the peer closes the connection (or `deadline`); returns every byte not yet read.
    mutating func readToEnd(deadline: ContinuousClock.Instant, limit: Int = 1 << 20) throws -> [UInt8] {
        while buffer.count <= limit, try fill(deadline: deadline) {}
        defer { buffer = [] }
        return buffer
    }

    /// Appends what one read returns to `buffer`; false when the peer closed the connection.
    private mutating func fill(deadline: ContinuousClock.Instant) throws -> Bool {
        while true {
            try Self.wait(fd, events: Int16(POLLIN), deadline: deadline, label: label)
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw ProbeError(description: "read \(label): \(String(cString: strerror(errno)))")
            }
            guard n > 0 else { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    func write(_ text: String, deadline: ContinuousClock.Instant) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR {
                    try Self.wait(fd, events: Int16(POLLOUT), deadline: deadline, label: label)
                    continue
                }
                throw ProbeError(description: "write \(label): \(String(cString: strerror(errno)))")
            }
            bytes = bytes.dropFirst(n)
        }
    }

    private static func wait(_ fd: Int32, events: Int16, deadline: ContinuousClock.Instant, label: String) throws {
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw ProbeError(description: "\(label): no answer in time") }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&descriptor, 1, milliseconds)
            if result > 0 { return }
            if result < 0 && errno != EINTR { throw ProbeError(description: "poll \(label): \(String(cString: strerror(errno)))") }
        }
    }
}
