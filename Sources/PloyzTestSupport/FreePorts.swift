#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Loopback ports for tests' servers. Only test targets depend on this module.
public enum FreePorts {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A port on 127.0.0.1 that is free for TCP (and for UDP too when `udp`), never handed out twice
    /// in this process: tests run in parallel, and the kernel may give a port that was free a moment
    /// ago to the next caller before the first caller's server has bound it.
    public static func next(udp: Bool = false) throws -> Int {
        for _ in 0..<50 {
            let port = try kernelPick()
            if udp && !canBind(Int32(SOCK_DGRAM.rawValue), port: port) { continue }
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw Failure(description: "no free loopback port after 50 tries")
    }

    private static let handedOut = Mutex<Set<Int>>([])

    /// The port the kernel gives a TCP socket bound to 127.0.0.1:0.
    private static func kernelPick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed: errno \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "bind to 127.0.0.1:0 failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func canBind(_ type: Int32, port: Int) -> Bool {
        let fd = socket(AF_INET, type, 0)
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
