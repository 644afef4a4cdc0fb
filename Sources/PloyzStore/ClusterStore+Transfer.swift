import Foundation
import NATSClient
import NIOCore
import PloyzModel

/// Every current record of the store, by bucket and key, as raw bytes: what the first node
/// carries across when its nats-server moves from standalone into the cluster (JetStream does not
/// take a standalone server's streams into a cluster; it deletes them as orphans).
public struct StoreExport: Codable, Sendable, Equatable {
    /// Bucket (`StoreBucket.rawValue`) to key to value. `Data` encodes as base64 in JSON.
    public var buckets: [String: [String: Data]]

    public init(buckets: [String: [String: Data]] = [:]) { self.buckets = buckets }

    public var recordCount: Int { buckets.values.reduce(0) { $0 + $1.count } }

    /// The buckets that are carried: leases in `locks` expire anyway and are left behind.
    public static let carried: [StoreBucket] = StoreBucket.allCases.filter { $0.entryTTL == nil }

    /// The order of the import: `network` last, because its signing key is what tells a joining
    /// node the store is complete (see `MeshController.waitUntilSeeded`).
    public static var importOrder: [StoreBucket] {
        carried.filter { $0 != .network } + [.network]
    }
}

extension ClusterStore {
    /// Reads every current value of the carried buckets. Buckets that do not exist are skipped.
    public func exportRecords() async throws -> StoreExport {
        var export = StoreExport()
        for bucket in StoreExport.carried {
            let entries: [KVEntry]
            do { entries = try await self.bucket(bucket).currentEntries() } catch NATSError.bucketNotFound { continue }
            export.buckets[bucket.rawValue] = Dictionary(entries.map { ($0.key, $0.data) }, uniquingKeysWith: { _, last in last })
        }
        return export
    }

    /// Writes every exported record whose key is absent (create-if-absent), bucket by bucket in
    /// `StoreExport.importOrder`; a key someone wrote meanwhile keeps the newer value. Returns how
    /// many records were written.
    @discardableResult
    public func importMissing(_ export: StoreExport) async throws -> Int {
        var written = 0
        for bucket in StoreExport.importOrder {
            guard let values = export.buckets[bucket.rawValue] else { continue }
            let kv = try await self.bucket(bucket)
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                do {
                    _ = try await kv.create(key, ByteBuffer(data: value))
                    written += 1
                } catch NATSError.keyExists {
                    continue
                }
            }
        }
        return written
    }

    /// The names of every stream the store uses (the buckets' and the two streams).
    public static var streamNames: [String] {
        StoreBucket.allCases.map { "KV_" + $0.bucketName } + [StoreStream.events, StoreStream.jobs]
    }

    /// True when every stream of the store has `replicas` copies, a leader, and every follower
    /// caught up (a standalone server's streams count as healthy at one replica).
    public func isReplicated(_ replicas: Int) async throws -> Bool {
        for stream in Self.streamNames {
            let info = try await js.streamInfo(stream)
            guard info.config.replicas >= replicas else { return false }
            if let cluster = info.cluster, !cluster.isHealthy || (cluster.replicas?.count ?? 0) + 1 < replicas { return false }
        }
        return true
    }

    /// Raises every bucket's and stream's replica count to `replicas` where it is lower (never
    /// lowers one: a cluster that shrinks keeps its copies until an operator decides). Returns the
    /// number of streams that were moved.
    @discardableResult
    public func raiseReplicas(to replicas: Int) async throws -> Int {
        var moved = 0
        for stream in Self.streamNames {
            var info = try await js.streamInfo(stream)
            guard info.config.replicas < replicas else { continue }
            info.config.replicas = replicas
            _ = try await js.updateStream(info.config)
            moved += 1
        }
        return moved
    }
}
