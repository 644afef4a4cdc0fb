import Foundation
import PloyzModel

/// The Docker Engine API's JSON bodies, only the fields Ployz writes or reads, and the pure
/// translations between them and the runtime's types. Field names are Docker's.
enum DockerWire {
    struct ContainerCreate: Encodable {
        struct HealthConfig: Encodable {
            var Test: [String]
            var Interval: Int64
            var Timeout: Int64
            var Retries: Int
            var StartPeriod: Int64
        }

        struct RestartPolicy: Encodable {
            var Name: String
        }

        struct Host: Encodable {
            var NetworkMode: String?
            var Dns: [String]?
            var RestartPolicy: DockerWire.ContainerCreate.RestartPolicy
            var NanoCpus: Int64?
            var Memory: Int64?
            var Binds: [String]?
        }

        struct IPAMConfig: Encodable {
            var IPv4Address: String
        }

        struct Endpoint: Encodable {
            var IPAMConfig: DockerWire.ContainerCreate.IPAMConfig?
        }

        struct Networking: Encodable {
            var EndpointsConfig: [String: Endpoint]
        }

        var Image: String
        var Cmd: [String]?
        var Entrypoint: [String]?
        var Env: [String]
        var Labels: [String: String]
        var Healthcheck: DockerWire.ContainerCreate.HealthConfig?
        var StopTimeout: Int
        var HostConfig: DockerWire.ContainerCreate.Host
        var NetworkingConfig: DockerWire.ContainerCreate.Networking?
    }

    struct NetworkCreate: Encodable {
        struct IPAMPool: Codable {
            var Subnet: String?
            var Gateway: String?
            var AuxiliaryAddresses: [String: String]?
        }

        struct IPAM: Codable {
            var Driver: String?
            var Config: [IPAMPool]?
        }

        var Name: String
        var Driver: String
        var CheckDuplicate: Bool
        var IPAM: DockerWire.NetworkCreate.IPAM
        var Options: [String: String]
        var Labels: [String: String]
    }

    struct NetworkInspect: Decodable {
        var Name: String
        var IPAM: NetworkCreate.IPAM?
    }

    struct ContainerSummary: Decodable {
        var Id: String
    }

    struct ContainerInspect: Decodable {
        struct State: Decodable {
            struct Health: Decodable {
                var Status: String
            }

            var Status: String
            var Pid: Int?
            var ExitCode: Int?
            var StartedAt: String?
            var FinishedAt: String?
            var Health: DockerWire.ContainerInspect.State.Health?
        }

        struct Config: Decodable {
            var Image: String?
            var Labels: [String: String]?
        }

        struct Endpoint: Decodable {
            var IPAddress: String?
        }

        struct NetworkSettings: Decodable {
            var Networks: [String: Endpoint]?
        }

        struct Host: Decodable {
            var NetworkMode: String?
        }

        var Id: String
        var Name: String
        var RestartCount: Int?
        var State: DockerWire.ContainerInspect.State
        var Config: DockerWire.ContainerInspect.Config?
        var NetworkSettings: DockerWire.ContainerInspect.NetworkSettings?
        var HostConfig: DockerWire.ContainerInspect.Host?
    }

    struct Event: Decodable {
        struct Actor: Decodable {
            var ID: String
            var Attributes: [String: String]?
        }

        var `Type`: String?
        var Action: String
        var Actor: DockerWire.Event.Actor
        var timeNano: Int64?
    }

    /// A pull's progress line; `error` set when the pull failed midway.
    struct PullProgress: Decodable {
        var status: String?
        var id: String?
        var progress: String?
        var error: String?
    }

    /// `{"message": "..."}`, Docker's error body.
    struct ErrorBody: Decodable {
        var message: String
    }

    // MARK: Translations

    static func nanoseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1_000_000_000).rounded()) }

    static func containerCreate(_ spec: ContainerCreateSpec) -> ContainerCreate {
        let template = spec.template
        let health = template.healthcheck.map {
            ContainerCreate.HealthConfig(Test: $0.test, Interval: nanoseconds($0.interval), Timeout: nanoseconds($0.timeout),
                                         Retries: $0.retries, StartPeriod: nanoseconds($0.startPeriod))
        }
        let networking = spec.network.map { network in
            ContainerCreate.Networking(EndpointsConfig: [
                network: ContainerCreate.Endpoint(IPAMConfig: spec.ipv4Address.map { ContainerCreate.IPAMConfig(IPv4Address: $0) }),
            ])
        }
        return ContainerCreate(
            Image: template.image,
            Cmd: template.command,
            Entrypoint: template.entrypoint,
            Env: template.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            Labels: spec.allLabels,
            Healthcheck: health,
            StopTimeout: Int(template.stopGracePeriod.rounded(.up)),
            HostConfig: ContainerCreate.Host(
                NetworkMode: spec.network,
                Dns: spec.dnsServers.isEmpty ? nil : spec.dnsServers,
                RestartPolicy: ContainerCreate.RestartPolicy(Name: template.restart.rawValue),
                NanoCpus: template.limits.cpus.map(nanoseconds),
                Memory: template.limits.memoryBytes,
                Binds: spec.binds.isEmpty ? nil : spec.binds),
            NetworkingConfig: networking)
    }

    static func networkCreate(_ spec: NetworkSpec) -> NetworkCreate {
        var options: [String: String] = [:]
        if let mtu = spec.mtu { options["com.docker.network.driver.mtu"] = String(mtu) }
        if let bridge = spec.bridgeName { options["com.docker.network.bridge.name"] = bridge }
        let pool = NetworkCreate.IPAMPool(Subnet: spec.subnet, Gateway: spec.gateway,
                                          AuxiliaryAddresses: spec.reservedAddresses.isEmpty ? nil : spec.reservedAddresses)
        return NetworkCreate(Name: spec.name, Driver: "bridge", CheckDuplicate: true,
                             IPAM: NetworkCreate.IPAM(Driver: "default", Config: [pool]), Options: options, Labels: spec.labels)
    }

    static func containerInfo(_ inspect: ContainerInspect) -> ContainerInfo {
        let networks = inspect.NetworkSettings?.Networks ?? [:]
        // The network it was created on (HostConfig.NetworkMode) is the one whose address counts.
        let network = inspect.HostConfig?.NetworkMode.flatMap { networks[$0] != nil ? $0 : nil } ?? networks.keys.sorted().first
        let address = network.flatMap { networks[$0]?.IPAddress }.flatMap { $0.isEmpty ? nil : $0 }
        let state = ContainerState(rawValue: inspect.State.Status) ?? .dead
        let exited = state == .exited || state == .dead
        return ContainerInfo(
            id: inspect.Id,
            name: inspect.Name.hasPrefix("/") ? String(inspect.Name.dropFirst()) : inspect.Name,
            image: inspect.Config?.Image ?? "",
            labels: inspect.Config?.Labels ?? [:],
            state: state,
            health: inspect.State.Health.flatMap { ContainerHealth(rawValue: $0.Status) } ?? .none,
            ipv4Address: address,
            network: network,
            startedAt: inspect.State.StartedAt.flatMap(date),
            finishedAt: inspect.State.FinishedAt.flatMap(date),
            exitCode: exited ? inspect.State.ExitCode : nil,
            restartCount: inspect.RestartCount ?? 0,
            pid: inspect.State.Pid.flatMap { $0 > 0 ? $0 : nil })
    }

    /// The runtime event of a Docker event, nil for actions the runtime does not report.
    static func containerEvent(_ event: Event) -> ContainerEvent? {
        var attributes = event.Actor.Attributes ?? [:]
        let kind: ContainerEvent.Kind
        switch event.Action {
        case "start": kind = .start
        case "die": kind = .die(exitCode: attributes["exitCode"].flatMap { Int($0) })
        case "destroy": kind = .destroy
        case let action where action.hasPrefix("health_status"):
            let status = action.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let health = ContainerHealth(rawValue: status) else { return nil }
            kind = .health(health)
        default: return nil
        }
        let name = attributes["name"] ?? ""
        // Docker mixes its own attributes into the labels.
        for key in ["name", "image", "exitCode", "signal"] { attributes[key] = nil }
        let time = event.timeNano.map { Date(timeIntervalSince1970: Double($0) / 1_000_000_000) } ?? Date()
        return ContainerEvent(kind: kind, containerID: event.Actor.ID, name: name, labels: attributes, time: time)
    }

    /// A human-readable line of pull progress, nil for lines that say nothing new.
    static func progressLine(_ progress: PullProgress) -> String? {
        guard let status = progress.status else { return nil }
        return [progress.id.map { "\($0):" }, status, progress.progress].compactMap { $0 }.joined(separator: " ")
    }

    /// Parses Docker's RFC 3339 times with up to nanoseconds; nil for its "never" (year 1).
    static func date(_ text: String) -> Date? {
        guard !text.hasPrefix("0001-01-01") else { return nil }
        var whole = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let rest = text[text.index(after: dot)...]
            let digits = rest.prefix { $0.isNumber }
            fraction = Double("0." + digits) ?? 0
            whole = String(text[..<dot]) + String(rest.dropFirst(digits.count))
        }
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: whole) else { return nil }
        return date.addingTimeInterval(fraction)
    }

    /// `{"label": ["k=v", ...]}` and friends, as the `filters` query parameter wants it.
    static func filters(labels: [String: String], extra: [String: [String]] = [:]) -> String {
        var filters = extra
        if !labels.isEmpty { filters["label"] = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } }
        let data = (try? JSONSerialization.data(withJSONObject: filters, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Splits "repo:tag" (and "repo@digest"); the tag defaults to "latest".
    static func splitReference(_ reference: String) -> (repository: String, tag: String) {
        if let at = reference.firstIndex(of: "@") {
            return (String(reference[..<at]), String(reference[reference.index(after: at)...]))
        }
        let lastSlash = reference.lastIndex(of: "/") ?? reference.startIndex
        if let colon = reference[lastSlash...].lastIndex(of: ":") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, "latest")
    }
}
