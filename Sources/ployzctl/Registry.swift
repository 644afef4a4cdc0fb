import ArgumentParser
import Foundation
import PloyzDaemon
import PloyzModel

/// `--namespace`, shared by the registry commands.
struct NamespaceOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The service's namespace.")
    var namespace = "default"
}

/// Parses `NAME:PORT[/tcp|udp]`.
func parseServicePort(_ text: String) throws -> ServicePort {
    let (main, transport) = text.split(separator: "/", maxSplits: 1).map(String.init).splitTransport()
    let parts = main.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let port = Int(parts[1]) else {
        throw ValidationError("--port \"\(text)\": use NAME:PORT[/tcp|udp], e.g. http:8080")
    }
    let servicePort = ServicePort(name: String(parts[0]), port: port, transport: transport)
    if let problem = RecordValidation.label(servicePort.name, field: "port name") ?? RecordValidation.port(port) {
        throw ValidationError(problem)
    }
    return servicePort
}

private extension Array where Element == String {
    func splitTransport() -> (String, String) { (self[0], count > 1 ? self[1] : "tcp") }
}

struct Service: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Services: those `deploy` runs, and those published by hand for backends outside the mesh.",
        subcommands: [List.self, Status.self, Logs.self, Remove.self, Set.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Publish a service by hand, or update its ports.")
        @Argument(help: "Service name (a-z, 0-9, '-').") var name: String
        @Option(name: .customLong("port"), help: ArgumentHelp("A port, NAME:PORT[/tcp|udp]; repeatable.", valueName: "port"))
        var ports: [String] = []
        @OptionGroup var ns: NamespaceOption
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let p = RecordValidation.label(name, field: "service name") ?? RecordValidation.label(ns.namespace, field: "namespace") {
                throw ValidationError(p)
            }
            _ = try ports.map(parseServicePort)
        }

        func run() throws {
            let service = ServiceRecord(namespace: ns.namespace, name: name, ports: try ports.map(parseServicePort))
            let saved = try withDaemon { try global.client.call(ControlCalls.ServiceSet.self, .init(service: service)) }
            try global.emit(saved) { "service \(saved.namespace)/\(saved.name) saved" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List services.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let services = try withDaemon { try global.client.call(ControlCalls.ServiceList.self).services }
            try global.emit(services) { ControlFormat.serviceSummaries(services) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a service; a deployed one's instances are stopped everywhere.")
        @Argument(help: "Service name.") var name: String
        @OptionGroup var ns: NamespaceOption
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try withDaemon { try global.client.call(ControlCalls.ServiceRemove.self, .init(namespace: ns.namespace, name: name)) }
            try global.emit(result) { result.message }
        }
    }
}

struct Instance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish service instances (backends) by hand.",
        subcommands: [Set.self, List.self, Remove.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Create or update an instance of a service.")
        @Argument(help: "The service it belongs to.") var service: String
        @Argument(help: "Its IPv4 or IPv6 address.") var address: String
        @Option(help: "Instance id (default SERVICE-ADDRESS).") var id: String?
        @Option(help: "The machine it runs on (default this node).") var machine: String?
        @Flag(name: .customLong("not-ready"), help: "Publish it as not ready: no traffic, no DNS answer.") var notReady = false
        @OptionGroup var ns: NamespaceOption
        @OptionGroup var global: GlobalOptions

        var record: InstanceRecord {
            let defaultID = "\(service)-\(address.replacingOccurrences(of: ":", with: "-").replacingOccurrences(of: ".", with: "-"))"
            return InstanceRecord(id: id ?? defaultID, namespace: ns.namespace, service: service, machine: machine ?? "",
                                  address: address, ready: !notReady)
        }

        func validate() throws {
            if let p = RecordValidation.problem(with: record) { throw ValidationError(p) }
        }

        func run() throws {
            let saved = try withDaemon { try global.client.call(ControlCalls.InstanceSet.self, .init(instance: record)) }
            try global.emit(saved) { "instance \(saved.id) of \(saved.namespace)/\(saved.service) at \(saved.address) saved (\(saved.ready ? "ready" : "not ready"))" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List instances.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let instances = try withDaemon { try global.client.call(ControlCalls.InstanceList.self).instances }
            try global.emit(instances) { ControlFormat.instances(instances) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an instance.")
        @Argument(help: "Instance id.") var id: String
        @OptionGroup var global: GlobalOptions

        func run() throws {
            _ = try withDaemon { try global.client.call(ControlCalls.InstanceRemove.self, .init(id: id)) }
            if !global.json { print("instance \(id) removed") }
        }
    }
}

struct Route: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "HTTP routes the gateway serves: hostnames and a path prefix to a service's port.",
        subcommands: [Set.self, List.self, Remove.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Route hostnames (and a path prefix) to a service port.")
        @Argument(help: "The service to route to (created when missing).") var service: String
        @Option(name: .customLong("host"), help: ArgumentHelp("A hostname, or *.example.com; repeatable.", valueName: "hostname"))
        var hosts: [String] = []
        @Option(help: "Path prefix.") var path = "/"
        @Option(help: "The instances' port.") var port: Int
        @OptionGroup var ns: NamespaceOption
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            guard !hosts.isEmpty else { throw ValidationError("give at least one --host") }
            if let p = hosts.lazy.compactMap(RecordValidation.hostname).first ?? RecordValidation.pathPrefix(path)
                ?? RecordValidation.port(port, field: "--port") ?? RecordValidation.label(service, field: "service name") {
                throw ValidationError(p)
            }
        }

        func run() throws {
            let route = HTTPRoute(hostnames: hosts, pathPrefix: path, port: port)
            let saved = try withDaemon {
                try global.client.call(ControlCalls.RouteSet.self, .init(namespace: ns.namespace, service: service, route: route))
            }
            try global.emit(saved) { "\(hosts.joined(separator: ", "))\(path == "/" ? "" : path) -> \(ns.namespace)/\(service):\(port)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List routes with their ready backends.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let routes = try withDaemon { try global.client.call(ControlCalls.RouteList.self).routes }
            try global.emit(routes) { ControlFormat.routes(routes) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Stop routing a hostname to a service.")
        @Argument(help: "The service.") var service: String
        @Option(help: "The hostname to remove.") var host: String
        @Option(help: "Only under this path prefix (default: every path).") var path: String?
        @OptionGroup var ns: NamespaceOption
        @OptionGroup var global: GlobalOptions

        func run() throws {
            _ = try withDaemon {
                try global.client.call(ControlCalls.RouteRemove.self, .init(namespace: ns.namespace, service: service, hostname: host, pathPrefix: path))
            }
            if !global.json { print("route \(host)\(path ?? "") removed from \(ns.namespace)/\(service)") }
        }
    }
}

struct Cert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "TLS certificates the gateway picks by SNI.",
        subcommands: [Set.self, List.self, Remove.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Store a certificate chain and key for a hostname.")
        @Argument(help: "The hostname, or *.example.com.") var hostname: String
        @Option(help: ArgumentHelp("PEM certificate chain, leaf first.", valueName: "path")) var cert: String
        @Option(help: ArgumentHelp("PEM private key.", valueName: "path")) var key: String
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let p = RecordValidation.hostname(hostname) { throw ValidationError(p) }
        }

        func run() throws {
            func read(_ path: String, _ what: String) throws -> String {
                do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                    throw ValidationError("--\(what) \(path): cannot read it (\(error.localizedDescription))")
                }
            }
            let record = CertificateRecord(hostname: hostname, certificatePEM: try read(cert, "cert"), privateKeyPEM: try read(key, "key"))
            let saved = try withDaemon { try global.client.call(ControlCalls.CertSet.self, .init(certificate: record)) }
            try global.emit(saved) { "certificate for \(saved.hostname) saved\(saved.notAfter.map { ", valid until \($0.formatted(.iso8601))" } ?? "")" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List certificates (never their keys).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let certificates = try withDaemon { try global.client.call(ControlCalls.CertList.self).certificates }
            try global.emit(certificates) { ControlFormat.certificates(certificates) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a hostname's certificate.")
        @Argument(help: "The hostname.") var hostname: String
        @OptionGroup var global: GlobalOptions

        func run() throws {
            _ = try withDaemon { try global.client.call(ControlCalls.CertRemove.self, .init(hostname: hostname)) }
            if !global.json { print("certificate for \(hostname.lowercased()) removed") }
        }
    }
}

struct DNS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns", abstract: "What the cluster DNS serves.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List every name and record the cluster DNS answers.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let records = try withDaemon { try global.client.call(ControlCalls.DNSList.self).dnsRecords }
            try global.emit(records) { ControlFormat.dnsRecords(records) }
        }
    }
}
