import Foundation
import PloyzModel

/// Human-readable output of `ployzctl`, kept pure so tests can check it.
public enum ControlFormat {
    /// A left-aligned table with two spaces between columns.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    public static func networks(_ networks: [NetworkSummary]) -> String {
        guard !networks.isEmpty else { return "no networks; create one with `ployzctl mesh init NAME`" }
        return table(["NAME", "ACTIVE", "PHASE", "SUBNET", "OVERLAY"], networks.map {
            [$0.name, $0.active ? "*" : "", $0.phase.rawValue, $0.subnet, $0.overlayIPv6]
        })
    }

    /// "3s ago", "2m ago", "never": handshakes read at a glance.
    public static func age(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "never" }
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        if seconds < 60 { return "\(seconds)s ago" }
        if seconds < 3600 { return "\(seconds / 60)m ago" }
        if seconds < 86400 { return "\(seconds / 3600)h ago" }
        return "\(seconds / 86400)d ago"
    }

    /// 1536 -> "1.5 KiB".
    public static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    public static func status(_ s: NetworkStatus, now: Date = Date()) -> String {
        var lines: [String] = []
        let state = s.active ? "active, \(s.phase.rawValue)" : s.phase.rawValue
        lines.append("network    \(s.name) (\(state))")
        lines.append("machine    \(s.machineName) (\(s.machineID))")
        lines.append("cluster    \(s.clusterCIDR)")
        lines.append("subnet     \(s.subnet)  node \(s.nodeAddress)")
        lines.append("overlay    \(s.overlayIPv6)")
        lines.append("wireguard  \(s.interface) (\(s.backend ?? "not running")) port \(s.listenPort)")
        lines.append("public key \(s.publicKey)")
        if let store = s.store { lines.append("store      \(store)") }
        if let error = s.lastError { lines.append("last error \(error)") }
        if s.sidecars.isEmpty {
            lines.append("sidecars   none running")
        } else {
            lines.append("sidecars")
            lines.append(indent(table(["NAME", "STATE", "PID", "ENDPOINT"], s.sidecars.map {
                [$0.name, $0.running ? "running" : "stopped", $0.pid.map(String.init) ?? "-", $0.endpoint ?? ""]
            })))
        }
        if s.peers.isEmpty {
            lines.append("peers      none")
        } else {
            lines.append("peers (\(s.peers.count))")
            lines.append(indent(table(["NAME", "SUBNET", "OVERLAY", "ENDPOINT", "HANDSHAKE", "RX", "TX"], s.peers.map {
                [$0.name, $0.subnet, $0.overlayIPv6, $0.endpoint ?? "-", age($0.lastHandshake, now: now), bytes($0.rxBytes), bytes($0.txBytes)]
            })))
        }
        return lines.joined(separator: "\n")
    }

    public static func ready(_ report: ReadyReport) -> String {
        let head = report.ready ? "ready" : "not ready"
        let name = report.network.map { "\($0): " } ?? ""
        let checks = report.checks.map { "  \($0.ok ? "ok  " : "FAIL") \($0.name): \($0.detail)" }
        return ([name + head] + checks).joined(separator: "\n")
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
