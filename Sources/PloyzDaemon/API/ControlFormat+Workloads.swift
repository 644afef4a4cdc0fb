import Foundation
import PloyzModel

extension ControlFormat {
    /// `service ls`: deployed and hand-published services.
    public static func serviceSummaries(_ services: [ServiceSummary]) -> String {
        guard !services.isEmpty else { return "no services; deploy some with `ployzctl deploy -f compose.yaml`" }
        return table(["NAMESPACE", "NAME", "IMAGE", "MODE", "READY", "PORTS", "ROUTES"], services.map { service in
            [service.namespace, service.name, service.image ?? "-", service.mode, "\(service.ready)/\(service.desired)",
             service.ports.map { "\($0.name):\($0.port)/\($0.transport)" }.joined(separator: ",").orDash,
             service.routes.joined(separator: ", ").orDash]
        })
    }

    /// `service status NAME`: the service line, then one row per instance.
    public static func serviceStatus(_ status: ServiceStatus, now: Date = Date()) -> String {
        let s = status.summary
        var lines = ["service    \(s.namespace)/\(s.name)"]
        if let image = s.image { lines.append("image      \(image) (revision \(s.revision ?? "-"))") }
        lines.append("mode       \(s.mode), \(s.ready)/\(s.desired) ready")
        if !s.routes.isEmpty { lines.append("routes     \(s.routes.joined(separator: ", "))") }
        guard !status.instances.isEmpty else { return (lines + ["instances  none"]).joined(separator: "\n") }
        lines.append("instances (\(status.instances.count))")
        let rows = status.instances.map { instance in
            ["  " + instance.id, instance.machine, instance.address, instance.container ?? "-", instance.state, instance.health,
             instance.since.map { age($0, now: now) } ?? "-"]
        }
        lines.append(table(["  INSTANCE", "MACHINE", "ADDRESS", "CONTAINER", "STATE", "HEALTH", "SINCE"], rows))
        return lines.joined(separator: "\n")
    }

    /// One line of `service logs`: `instance | text`.
    public static func logLine(_ line: ServiceLogLine) -> String {
        "\(line.instance) | \(line.text)"
    }
}
