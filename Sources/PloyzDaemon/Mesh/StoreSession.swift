import Foundation
import PloyzModel
import PloyzStore

/// The daemon's connection to its network's store: the few `ClusterStore` calls the mesh phases
/// and `ready` need, in one place.
final class StoreSession: Sendable {
    /// R1 while the cluster has fewer than three storage nodes; a single node always has one.
    static let replicas = 1

    /// The typed store, for the registry commands.
    let store: ClusterStore

    private init(store: ClusterStore) { self.store = store }

    static func connect(url: String, user: String, password: String, timeout: Duration) async throws -> StoreSession {
        StoreSession(store: try await ClusterStore.connect(servers: [url], user: user, password: password, timeout: timeout))
    }

    /// Creates the KV buckets and streams when missing.
    func ensureAssets() async throws { try await store.ensureAssets(replicas: Self.replicas) }

    func publish(_ record: MachineRecord) async throws { try await store.putMachine(record) }

    /// Claims the node's own subnet (create-if-absent); a subnet another machine holds is an error.
    func claimOwnSubnet(_ own: MachineRecord) async throws {
        guard try await store.claimSubnet(own.subnet, for: own.id) else {
            throw StoreSessionError(description: "subnet \(own.subnet) is claimed by another machine in the store")
        }
    }

    func machine(id: String) async throws -> MachineRecord? { try await store.machine(id: id) }

    func machines() async throws -> [MachineRecord] { try await store.machines() }

    /// Workloads (instance ids) placed on `machine`.
    func instances(onMachine machine: String) async throws -> [String] {
        try await store.instances(onMachine: machine).map(\.id)
    }

    func close() async { await store.close() }
}

/// A store step that found the store in a state it cannot accept.
struct StoreSessionError: Error, CustomStringConvertible {
    let description: String
}
