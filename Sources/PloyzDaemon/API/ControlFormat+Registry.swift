import Foundation
import PloyzModel

extension ControlFormat {
    public static func instances(_ instances: [InstanceRecord]) -> String {
        guard !instances.isEmpty else { return "no instances; publish one with `ployzctl instance set SERVICE ADDRESS`" }
        return table(["ID", "SERVICE", "ADDRESS", "MACHINE", "READY"], instances.map {
            [$0.id, "\($0.namespace)/\($0.service)", $0.address, $0.machine.orDash, $0.ready ? "yes" : "no"]
        })
    }

    public static func routes(_ routes: [RouteSummary]) -> String {
        guard !routes.isEmpty else { return "no routes; add one with `ployzctl route set SERVICE --host HOST --port PORT`" }
        return table(["HOST", "PATH", "SERVICE", "PORT", "BACKENDS"], routes.map {
            [$0.hostname, $0.pathPrefix, "\($0.namespace)/\($0.service)", "\($0.port)",
             $0.backends.isEmpty ? "none ready (503)" : $0.backends.joined(separator: ",")]
        })
    }

    public static func certificates(_ certificates: [CertificateSummary], now: Date = Date()) -> String {
        guard !certificates.isEmpty else { return "no certificates; add one with `ployzctl cert set HOST --cert FILE --key FILE`" }
        return table(["HOSTNAME", "NOT AFTER", "EXPIRES"], certificates.map { cert in
            guard let notAfter = cert.notAfter else { return [cert.hostname, "-", "-"] }
            let days = Int(notAfter.timeIntervalSince(now) / 86400)
            return [cert.hostname, notAfter.formatted(.iso8601), notAfter < now ? "EXPIRED" : "in \(days)d"]
        })
    }
}

extension String {
    var orDash: String { isEmpty ? "-" : self }
}

extension ControlFormat {
    public static func dnsRecords(_ records: [DNSRecordSummary]) -> String {
        table(["NAME", "TTL", "TYPE", "VALUE"], records.map { [$0.name, "\($0.ttl)", $0.type, $0.value] })
    }
}
