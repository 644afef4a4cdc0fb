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
    /// The project's JSON: sorted keys, ISO 8601 UTC dates with milliseconds; one encoding for
    /// files, store and API.
    public static var ployz: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(PloyzDateFormat.string(from: date))
        }
        return encoder
    }
}

extension JSONDecoder {
    public static var ployz: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = PloyzDateFormat.date(from: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
            }
            return date
        }
        return decoder
    }
}

/// Dates as `2026-11-25T18:30:00.123Z`. Both directions go through whole milliseconds, so a
/// record's date (kept to milliseconds, see `Date.roundedToMilliseconds`) reads back equal.
enum PloyzDateFormat {
    static let whole = Date.ISO8601FormatStyle()

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    static func string(from date: Date) -> String {
        let ms = milliseconds(date)
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let fraction = ms - seconds * 1000
        let text = Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(whole)
        return String(text.dropLast()) + "." + String(repeating: "0", count: 3 - String(fraction).count) + String(fraction) + "Z"
    }

    static func date(from text: String) -> Date? {
        guard text.hasSuffix("Z") else { return nil }
        var body = text.dropLast()
        var fraction: Int64 = 0
        if let dot = body.firstIndex(of: ".") {
            let digits = body[body.index(after: dot)...]
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            fraction = Int64(String(digits.prefix(3)).padding(toLength: 3, withPad: "0", startingAt: 0))!
            body = body[..<dot]
        }
        guard let whole = try? whole.parse(String(body) + "Z") else { return nil }
        let ms = Int64(whole.timeIntervalSince1970) * 1000 + fraction
        return Date(timeIntervalSince1970: TimeInterval(ms) / 1000)
    }
}
