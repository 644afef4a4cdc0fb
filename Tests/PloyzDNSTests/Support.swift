import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PloyzDNS
import PloyzTestSupport
import PloyzModel

/// Test helpers: a blocking DNS client on raw sockets (so the server is checked by code that
/// shares nothing with it), process runners for dig and the ployz-dns binary, and snapshots.
enum Support {
    struct Timeout: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    struct SocketError: Error, CustomStringConvertible {
        let call: String
        var description: String { "\(call) failed: errno \(errno)" }
    }

    /// A query message for `name`/`type`, optionally with an OPT record.
    static func query(_ name: String, _ type: DNSType = .a, id: UInt16 = 0x1234, edns: UInt16? = nil) -> [UInt8] {
        var header = DNSHeader(id: id)
        header.recursionDesired = true
        return DNSMessage(header: header, questions: [DNSQuestion(name: try! DNSName(name), type: type)],
                          edns: edns.map { EDNS(udpPayloadSize: $0) }).encode()
    }

    static func withSocket<T>(_ type: Int32, port: Int, timeout: Double = 3, _ body: (Int32) throws -> T) throws -> T {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { throw SocketError(call: "socket") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketError(call: "connect") }
        return try body(fd)
    }

    /// Sends one datagram and returns the answer; nil when none came within `timeout`.
    static func udpExchange(_ bytes: [UInt8], port: Int, timeout: Double = 3) throws -> [UInt8]? {
        try withSocket(Int32(SOCK_DGRAM.rawValue), port: port, timeout: timeout) { fd in
            guard send(fd, bytes, bytes.count, 0) == bytes.count else { throw SocketError(call: "send") }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count < 0 ? nil : Array(buffer[..<count])
        }
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw SocketError(call: "send") }
            sent += n
        }
    }

    /// Reads exactly `count` bytes; nil on EOF or timeout.
    static func receiveExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while result.count < count {
            let n = recv(fd, &buffer, count - result.count, 0)
            guard n > 0 else { return nil }
            result += buffer[..<n]
        }
        return result
    }

    static func framed(_ bytes: [UInt8]) -> [UInt8] { [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes }

    /// Reads one length-framed message from a TCP socket.
    static func receiveFramed(_ fd: Int32) -> [UInt8]? {
        guard let prefix = receiveExactly(fd, 2) else { return nil }
        return receiveExactly(fd, Int(prefix[0]) << 8 | Int(prefix[1]))
    }

    /// Sends all queries on one TCP connection at once, then reads as many answers.
    static func tcpExchange(_ queries: [[UInt8]], port: Int, timeout: Double = 3) throws -> [[UInt8]] {
        try withSocket(Int32(SOCK_STREAM.rawValue), port: port, timeout: timeout) { fd in
            try sendAll(fd, queries.flatMap(framed))
            return queries.indices.compactMap { _ in receiveFramed(fd) }
        }
    }

    /// Runs a program to completion (bounded by `timeout`) and returns its stdout.
    @discardableResult
    static func run(_ path: String, _ arguments: [String], timeout: Double = 20) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            throw Timeout(what: "\(path) \(arguments.joined(separator: " "))")
        }
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// `dig +short` answer lines.
    static func dig(_ name: String, _ type: String = "A", port: Int, tcp: Bool = false, extra: [String] = []) throws -> [String] {
        let args = ["@127.0.0.1", "-p", String(port), name, type, "+short", "+tries=1", "+time=2"] + (tcp ? ["+tcp"] : []) + extra
        return try run("/usr/bin/dig", args).split(separator: "\n").map(String.init)
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    static func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    /// A free TCP+UDP port on 127.0.0.1, never handed out twice in this process.
    static func freePort() throws -> Int { try FreePorts.next(udp: true) }

    /// A snapshot with services `web` (default, 2 ready + 1 not ready), `api` in `prod`, one machine.
    static func sampleSnapshot(webInstances: Int = 2) -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.services["default.web"] = ServiceRecord(name: "web", ports: [ServicePort(name: "http", port: 8080)])
        snapshot.services["prod.api"] = ServiceRecord(namespace: "prod", name: "api", ports: [ServicePort(name: "grpc", port: 9000)])
        snapshot.services["default.idle"] = ServiceRecord(name: "idle")
        for index in 0..<webInstances {
            let address = "10.101.\(index / 250).\(index % 250 + 3)"
            snapshot.instances["web-\(index)"] = InstanceRecord(id: "web-\(index)", service: "web", machine: "m1", address: address)
        }
        snapshot.instances["web-down"] = InstanceRecord(id: "web-down", service: "web", machine: "m1", address: "10.101.9.9", ready: false)
        snapshot.instances["api-0"] = InstanceRecord(id: "api-0", namespace: "prod", service: "api", machine: "m2", address: "10.101.1.3")
        let key = WireGuardKey(bytes: [UInt8](repeating: 7, count: 32))!
        snapshot.machines["m1"] = MachineRecord(id: "m1", name: "alpha", publicKey: key,
                                                subnet: try! IPv4CIDR.parse("10.101.0.0/24"), endpoints: [], lifecycle: .active)
        return snapshot
    }

    /// A unique scratch directory, removed by the caller.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "ployz-dns-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The built ployz-dns binary next to the test bundle.
    static func binaryPath() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        for _ in 0..<6 {
            directory.deleteLastPathComponent()
            let candidate = directory.appendingPathComponent("ployz-dns").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/ployz-dns"
        guard FileManager.default.isExecutableFile(atPath: fallback) else { throw Timeout(what: "a built ployz-dns binary (swift build --product ployz-dns)") }
        return fallback
    }
}

extension Support {
    /// A plain HTTP/1.1 GET; returns the whole response (status line, headers, body).
    static func httpGet(_ path: String, port: Int) throws -> String {
        try withSocket(Int32(SOCK_STREAM.rawValue), port: port) { fd in
            try sendAll(fd, Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { break }
                response += buffer[..<n]
            }
            return String(decoding: response, as: UTF8.self)
        }
    }
}
