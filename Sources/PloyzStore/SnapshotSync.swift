import Foundation
import NATSClient
import PloyzModel

/// Keeps a `ClusterSnapshot` in step with the store by watching the buckets the sidecars serve
/// from, and hands each new snapshot to `onChange`: first once every bucket has delivered its
/// current values, then after every change. Bursts are coalesced: only the latest state is handed on.
public struct SnapshotSync: Sendable {
    public let store: ClusterStore

    public init(store: ClusterStore) {
        self.store = store
    }

    /// Runs until cancelled or until a watch fails (the caller decides whether to retry).
    public func run(onChange: @escaping @Sendable (ClusterSnapshot) async -> Void) async throws {
        let state = SnapshotState()
        let watched: [StoreBucket] = [.machines, .services, .instances, .certificates]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for bucket in watched {
                let kv = try await store.bucket(bucket)
                group.addTask {
                    let watcher = kv.watch()
                    defer { watcher.stop() }
                    for try await event in watcher {
                        switch event {
                        case .entry(let entry):
                            await state.apply(bucket, entry)
                        case .initialValuesDone:
                            await state.markLoaded(bucket)
                        }
                    }
                }
            }
            group.addTask {
                let updates = await state.updates(expecting: watched.count)
                for await snapshot in updates {
                    await onChange(snapshot)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// The snapshot under construction; publishes through a newest-only stream.
actor SnapshotState {
    private var snapshot = ClusterSnapshot()
    private var loaded = Set<StoreBucket>()
    private var expected = Int.max
    private var continuation: AsyncStream<ClusterSnapshot>.Continuation?

    func updates(expecting count: Int) -> AsyncStream<ClusterSnapshot> {
        expected = count
        let (stream, continuation) = AsyncStream.makeStream(of: ClusterSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        self.continuation = continuation
        publishIfLoaded()
        return stream
    }

    func markLoaded(_ bucket: StoreBucket) {
        loaded.insert(bucket)
        publishIfLoaded()
    }

    func apply(_ bucket: StoreBucket, _ entry: KVEntry) {
        let live = entry.operation == .put
        do {
            switch bucket {
            case .machines: snapshot.machines[entry.key] = live ? try ClusterStore.decode(MachineRecord.self, entry) : nil
            case .services: snapshot.services[entry.key] = live ? try ClusterStore.decode(ServiceRecord.self, entry) : nil
            case .instances: snapshot.instances[entry.key] = live ? try ClusterStore.decode(InstanceRecord.self, entry) : nil
            case .certificates: snapshot.certificates[entry.key] = live ? try ClusterStore.decode(CertificateRecord.self, entry) : nil
            default: return
            }
        } catch {
            // A record that does not decode is left out rather than stopping every sidecar.
            return
        }
        publishIfLoaded()
    }

    private func publishIfLoaded() {
        guard loaded.count >= expected else { return }
        continuation?.yield(snapshot)
    }
}
