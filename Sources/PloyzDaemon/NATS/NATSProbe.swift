import Foundation

/// Talks just enough NATS protocol to tell whether a server is up and accepts a credential:
/// `INFO` on connect, then `CONNECT` + `PING` answered by `PONG` or `-ERR`.
public enum NATSProbe {
    /// Connects and returns the server's INFO line.
    public static func info(host: String, port: Int, timeout: Duration = .seconds(2)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        var connection = try TCPLineConnection(host: host, port: port, timeout: timeout)
        defer { connection.close() }
        let line = try connection.readLine(deadline: deadline)
        guard line.hasPrefix("INFO ") else { throw ProbeError(description: "nats at \(host):\(port) sent \"\(line.prefix(60))\" instead of INFO") }
        return line
    }

    /// Connects with a user and password; returns when the server answers PING with PONG, throws
    /// the server's `-ERR` (e.g. authorization violation) otherwise.
    public static func authenticate(host: String, port: Int, user: String, password: String, timeout: Duration = .seconds(2)) throws {
        let deadline = ContinuousClock.now + timeout
        var connection = try TCPLineConnection(host: host, port: port, timeout: timeout)
        defer { connection.close() }
        let info = try connection.readLine(deadline: deadline)
        guard info.hasPrefix("INFO ") else { throw ProbeError(description: "nats sent \"\(info.prefix(60))\" instead of INFO") }
        let connect: [String: Any] = ["verbose": false, "pedantic": false, "user": user, "pass": password,
                                      "name": "ployzd-probe", "lang": "swift", "version": "1", "protocol": 1]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: connect, options: [.sortedKeys]), as: UTF8.self)
        try connection.write("CONNECT \(json)\r\nPING\r\n", deadline: deadline)
        while true {
            let line = try connection.readLine(deadline: deadline)
            if line == "PONG" { return }
            if line.hasPrefix("-ERR") { throw ProbeError(description: "nats refused the connection: \(line.dropFirst(5))") }
        }
    }
}
