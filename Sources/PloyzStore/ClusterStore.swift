import Foundation
import NATSClient
import NIOConcurrencyHelpers
import NIOCore
import PloyzModel

/// Typed access to the cluster's JetStream assets (`StoreBucket`, `StoreStream`). Records are JSON
/// (`JSONEncoder.ployz`). One instance per NATS connection; safe to share between tasks.
public final class ClusterStore: Sendable {
    public let connection: NATSConnection
    public let js: JetStream
    private let buckets = NIOLockedValueBox<[StoreBucket: KeyValue]>([:])

    public init(connection: NATSConnection, timeout: Duration = .seconds(5)) {
        self.connection = connection
        self.js = connection.jetStream(timeout: timeout)
    }

    /// Connects to the network's NATS with the cluster credential.
    public static func connect(servers: [String], user: String, password: String, name: String = "ployz",
                               timeout: Duration = .seconds(5)) async throws -> ClusterStore {
        let options = NATSOptions(servers: servers, user: user, password: password, name: name, connectTimeout: timeout)
        return ClusterStore(connection: try await NATSConnection.connect(options), timeout: timeout)
    }

    public func close() async {
        await connection.close()
    }

    // MARK: Assets

    /// How long a lease in `locks` lives unless renewed.
    public static let lockTTL = StoreBucket.locks.entryTTL!

    /// Creates every bucket and stream that is missing, and moves existing ones to `replicas`
    /// (R1 below three storage nodes, R3 from three).
    public func ensureAssets(replicas: Int) async throws {
        for bucket in StoreBucket.allCases {
            // Reads go to each stream's leader: a replica that is still catching up (after the
            // replicas were raised, or a member came back) must not answer with an old or empty
            // value, or a node would not find the record it has just written through another.
            let config = KeyValueConfig(bucket: bucket.bucketName, history: bucket == .machines ? 5 : 1,
                                        ttl: bucket.entryTTL, replicas: replicas, allowDirect: false)
            let kv = try await ensure(stream: "KV_" + bucket.bucketName, replicas: replicas) {
                try await self.js.createKeyValue(config)
            }
            buckets.withLockedValue { $0[bucket] = kv }
        }
        _ = try await ensure(stream: StoreStream.events, replicas: replicas) {
            try await self.js.createStream(StreamConfig(name: StoreStream.events, subjects: [StoreStream.eventsSubjects],
                                                        maxMsgs: 100_000, maxAge: .seconds(7 * 86400), replicas: replicas))
        }
        _ = try await ensure(stream: StoreStream.jobs, replicas: replicas) {
            try await self.js.createStream(StreamConfig(name: StoreStream.jobs, subjects: [StoreStream.jobsSubjects],
                                                        retention: .workQueue, replicas: replicas))
        }
    }

    /// Runs `create`; when the stream exists with other settings, only its replica count is moved.
    private func ensure<T>(stream: String, replicas: Int, create: () async throws -> T) async throws -> T {
        do {
            return try await create()
        } catch NATSError.jetStream(let error) where error.errCode == 10058 {
            var info = try await js.streamInfo(stream)
            if info.config.replicas != replicas {
                info.config.replicas = replicas
                _ = try await js.updateStream(info.config)
            }
            return try await create()
        }
    }

    /// The bound bucket, binding on first use.
    public func bucket(_ bucket: StoreBucket) async throws -> KeyValue {
        if let kv = buckets.withLockedValue({ $0[bucket] }) { return kv }
        let kv = try await js.keyValue(bucket.bucketName)
        buckets.withLockedValue { $0[bucket] = kv }
        return kv
    }

    // MARK: Generic typed records

    /// A decoded record and its revision (for compare-and-set).
    public struct Versioned<Record: Sendable>: Sendable {
        public var record: Record
        public var revision: UInt64
    }

    @discardableResult
    public func put<R: Encodable>(_ record: R, in bucket: StoreBucket, key: String) async throws -> UInt64 {
        try await self.bucket(bucket).put(key, ByteBuffer(data: try JSONEncoder.ployz.encode(record)))
    }

    /// Stores only if the key is absent (or deleted); throws `NATSError.keyExists` otherwise.
    @discardableResult
    public func create<R: Encodable>(_ record: R, in bucket: StoreBucket, key: String) async throws -> UInt64 {
        try await self.bucket(bucket).create(key, ByteBuffer(data: try JSONEncoder.ployz.encode(record)))
    }

    /// Compare-and-set; throws `NATSError.wrongLastRevision` when someone wrote first.
    @discardableResult
    public func update<R: Encodable>(_ record: R, in bucket: StoreBucket, key: String, revision: UInt64) async throws -> UInt64 {
        try await self.bucket(bucket).update(key, ByteBuffer(data: try JSONEncoder.ployz.encode(record)), revision: revision)
    }

    public func get<R: Decodable & Sendable>(_ type: R.Type, in bucket: StoreBucket, key: String) async throws -> Versioned<R>? {
        guard let entry = try await self.bucket(bucket).get(key), entry.operation == .put else { return nil }
        return Versioned(record: try Self.decode(type, entry), revision: entry.revision)
    }

    public func delete(in bucket: StoreBucket, key: String) async throws {
        try await self.bucket(bucket).delete(key)
    }

    /// Every live record of a bucket, read from the stream's leader (see
    /// `KeyValue.currentEntries`): a record written through any member is in the answer.
    public func all<R: Decodable & Sendable>(_ type: R.Type, in bucket: StoreBucket) async throws -> [String: R] {
        var records: [String: R] = [:]
        for entry in try await self.bucket(bucket).currentEntries() {
            records[entry.key] = try Self.decode(type, entry)
        }
        return records
    }

    static func decode<R: Decodable>(_ type: R.Type, _ entry: KVEntry) throws -> R {
        do { return try JSONDecoder.ployz.decode(type, from: entry.data) } catch {
            throw StoreError.undecodable(bucket: entry.bucket, key: entry.key, reason: "\(error)")
        }
    }
}

/// Errors of the typed layer; NATS errors pass through unchanged.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case undecodable(bucket: String, key: String, reason: String)
    case leaseBusy(key: String, holder: String, waited: Duration)

    public var description: String {
        switch self {
        case .undecodable(let bucket, let key, let reason): "store record \(bucket)/\(key) is not valid: \(reason)"
        case .leaseBusy(let key, let holder, let waited): "lease \(key) is still held by \(holder) after waiting \(waited)"
        }
    }
}

extension ByteBuffer {
    init(data: Data) {
        self.init(bytes: data)
    }
}
