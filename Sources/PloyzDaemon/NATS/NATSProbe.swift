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

    /// The addresses the local nats-server has routes with, from its monitoring port on
    /// 127.0.0.1 (`/routez`).
    public static func routeAddresses(monitorPort: Int, timeout: Duration = .seconds(1)) throws -> Set<String> {
        let deadline = ContinuousClock.now + timeout
        var connection = try TCPLineConnection(host: "127.0.0.1", port: monitorPort, timeout: timeout)
        defer { connection.close() }
        try connection.write("GET /routez HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", deadline: deadline)
        let response = try connection.readToEnd(deadline: deadline)
        guard let start = response.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound,
              let json = try JSONSerialization.jsonObject(with: Data(response[start...])) as? [String: Any] else {
            throw ProbeError(description: "nats monitoring on 127.0.0.1:\(monitorPort) sent no JSON for /routez")
        }
        let routes = json["routes"] as? [[String: Any]] ?? []
        return Set(routes.compactMap { $0["ip"] as? String })
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
