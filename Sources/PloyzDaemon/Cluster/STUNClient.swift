import Foundation
import PloyzModel
#if canImport(Glibc)
import Glibc
#endif

/// A small RFC 5389 client: one Binding request over UDP, answered with the address and port the
/// server saw (this node's public address behind NAT). IPv4 servers; blocking, bounded by `timeout`.
enum STUNClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Asks `host:port` (an IPv4 literal) which address it sees; tries `attempts` times.
    static func mappedAddress(host: String, port: Int = 3478, timeout: Duration = .seconds(1), attempts: Int = 3) throws -> (address: String, port: Int) {
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &server.sin_addr) == 1 else {
            throw Failure(description: "STUN server \"\(host)\" is not an IPv4 address")
        }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot open a UDP socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let (seconds, attoseconds) = timeout.components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var lastProblem = "no answer within \(timeout)"
        for _ in 0..<max(1, attempts) {
            let transaction = (0..<12).map { _ in UInt8.random(in: 0...255) }
            let request = STUNMessage.bindingRequest(transactionID: transaction)
            let sent = withUnsafePointer(to: &server) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, request, request.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard sent == request.count else {
                lastProblem = "cannot send to \(host):\(port): \(String(cString: strerror(errno)))"
                continue
            }
            var buffer = [UInt8](repeating: 0, count: 1500)
            let received = recv(fd, &buffer, buffer.count, 0)
            guard received > 0 else { continue }
            do {
                return try STUNMessage.mappedAddress(in: Array(buffer[0..<received]), transactionID: transaction)
            } catch {
                lastProblem = "\(error)"
            }
        }
        throw Failure(description: "STUN \(host):\(port): \(lastProblem)")
    }
}

/// The node's public address for its advertised endpoints: `public_ip` when set, else what the
/// `stun_server` (`PLOYZ_STUN_SERVER`) sees, cached for a minute so the convergence loop's
/// periodic re-advertising does not query it every tick.
enum PublicAddress {
    static let cacheLifetime: TimeInterval = 60
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: (server: String, address: String?, at: Date)?

    static func addresses(config: PloyzConfig) -> [String] {
        if let ip = config.publicIP { return [ip] }
        guard let server = config.stunServer, let target = STUNServerAddress(server) else { return [] }
        let now = Date()
        if let hit = lock.withLock({ cached }), hit.server == server, now.timeIntervalSince(hit.at) < cacheLifetime {
            return hit.address.map { [$0] } ?? []
        }
        let address = try? STUNClient.mappedAddress(host: target.host, port: target.port, timeout: .milliseconds(500), attempts: 2).address
        lock.withLock { cached = (server, address, now) }
        return address.map { [$0] } ?? []
    }
}
