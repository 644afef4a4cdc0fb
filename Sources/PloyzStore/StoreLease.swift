import Foundation
import NATSClient
import NIOCore
import PloyzModel

/// A lease in the `locks` bucket: held by whoever created its key, renewed by compare-and-set
/// while held, gone when released or when its holder stops renewing for `ClusterStore.lockTTL`
/// (the bucket's max age), so a holder that dies never blocks the others for long.
public final class StoreLease: Sendable {
    public let key: String
    public let holder: String
    private let kv: KeyValue
    private let renewal: Task<Void, Never>

    private init(key: String, holder: String, kv: KeyValue, revision: UInt64) {
        self.key = key
        self.holder = holder
        self.kv = kv
        renewal = Task {
            var revision = revision
            while !Task.isCancelled {
                try? await Task.sleep(for: ClusterStore.lockTTL / 3)
                guard !Task.isCancelled else { return }
                // Losing the key (it expired while this node was stalled) ends the renewals:
                // another holder may have it now.
                guard let next = try? await kv.update(key, ByteBuffer(string: holder), revision: revision) else { return }
                revision = next
            }
        }
    }

    /// Takes the lease `key` for `holder`, waiting while someone else holds it, up to `timeout`.
    /// Returns the lease and how long it waited.
    public static func acquire(_ key: String, holder: String, store: ClusterStore,
                               timeout: Duration) async throws -> (lease: StoreLease, waited: Duration) {
        let kv = try await store.bucket(.locks)
        let start = ContinuousClock.now
        var holderSeen = "unknown"
        while true {
            do {
                let revision = try await kv.create(key, ByteBuffer(string: holder))
                return (StoreLease(key: key, holder: holder, kv: kv, revision: revision), ContinuousClock.now - start)
            } catch NATSError.keyExists {
                if let current = try? await kv.get(key) {
                    // A try that timed out was stored after all: the lease is ours.
                    if current.string == holder {
                        return (StoreLease(key: key, holder: holder, kv: kv, revision: current.revision), ContinuousClock.now - start)
                    }
                    holderSeen = current.string
                }
            } catch {
                // A passing failure (a timeout, an election): try again until the deadline.
                holderSeen = "unknown (\(error))"
            }
            guard ContinuousClock.now - start < timeout else {
                throw StoreError.leaseBusy(key: key, holder: holderSeen, waited: timeout)
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Gives the lease back (best effort: an unreachable store lets it expire instead), through
    /// `store` when given (the connection the lease was taken on may be gone by then, e.g. a
    /// joining node's tunnel to its issuer after the key rotation).
    public func release(using store: ClusterStore? = nil) async {
        renewal.cancel()
        var bucket = kv
        if let store, let other = try? await store.bucket(.locks) { bucket = other }
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(200)) }
            do {
                guard let current = try await bucket.get(key), current.string == holder else { return }
                try await bucket.delete(key)
                return
            } catch {
                continue
            }
        }
    }
}
