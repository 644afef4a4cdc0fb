import Foundation

/// Everything the sidecars serve from, as one value: the gateway routes and the DNS zone are pure
/// functions of it. The store watcher keeps it current and saves it to disk, so a sidecar restarted
/// while NATS is down still serves the last good state.
public struct ClusterSnapshot: Codable, Sendable, Equatable {
    public var machines: [String: MachineRecord]
    /// Key: `<namespace>.<name>`.
    public var services: [String: ServiceRecord]
    /// Key: instance id.
    public var instances: [String: InstanceRecord]
    /// Key: `StoreKeys.certificate(hostname:)`.
    public var certificates: [String: CertificateRecord]

    public init(machines: [String: MachineRecord] = [:], services: [String: ServiceRecord] = [:],
                instances: [String: InstanceRecord] = [:], certificates: [String: CertificateRecord] = [:]) {
        self.machines = machines
        self.services = services
        self.instances = instances
        self.certificates = certificates
    }

    /// Ready instances of one service, sorted by id so every node orders them alike.
    public func readyInstances(namespace: String, service: String) -> [InstanceRecord] {
        instances.values.filter { $0.ready && $0.namespace == namespace && $0.service == service }.sorted { $0.id < $1.id }
    }
}

extension ClusterSnapshot {
    /// Reads a snapshot saved by `save(to:)`.
    public static func load(from path: String) throws -> ClusterSnapshot {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder.ployz.decode(ClusterSnapshot.self, from: data)
    }

    /// Saves atomically, so a crash leaves either the old or the new snapshot.
    public func save(to path: String) throws {
        try AtomicFile.write(JSONEncoder.ployz.encode(self), to: path, mode: 0o600)
    }
}

extension JSONEncoder {
    /// The project's JSON: sorted keys, ISO 8601 dates; one encoding for files, store and API.
    public static var ployz: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(PloyzDateFormat.fractional))
        }
        return encoder
    }
}

extension JSONDecoder {
    public static var ployz: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? PloyzDateFormat.fractional.parse(text) { return date }
            if let date = try? PloyzDateFormat.whole.parse(text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
        }
        return decoder
    }
}

/// Dates in JSON are ISO 8601 in UTC with milliseconds, so records survive a round trip.
enum PloyzDateFormat {
    static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    static let whole = Date.ISO8601FormatStyle()
}
