import Crypto
import Foundation
import PloyzModel
import PloyzStore

/// The network's Ed25519 key that signs invite tokens. Created with the network, kept 0600 in the
/// network's directory and in the store's `network` bucket, so that every member can sign invites
/// once it has joined. Never logged.
struct NetworkSigningKey: Codable, Sendable {
    /// Key of the value in the `network` bucket.
    static let storeKey = "signing_key"

    /// Raw 32-byte private key, base64.
    var privateKey: String

    init(_ key: Curve25519.Signing.PrivateKey) { privateKey = key.rawRepresentation.base64EncodedString() }

    var key: Curve25519.Signing.PrivateKey? {
        Data(base64Encoded: privateKey).flatMap { try? Curve25519.Signing.PrivateKey(rawRepresentation: $0) }
    }

    /// The public half as invite claims carry it (raw, base64).
    var publicKeyText: String? { key?.publicKey.rawRepresentation.base64EncodedString() }

    static func generate() -> NetworkSigningKey { NetworkSigningKey(Curve25519.Signing.PrivateKey()) }

    static func path(_ paths: DaemonPaths, network: String) -> String { paths.networkDir(network) + "/signing.key" }

    static func load(_ paths: DaemonPaths, network: String) -> NetworkSigningKey? {
        guard let data = FileManager.default.contents(atPath: path(paths, network: network)) else { return nil }
        return try? JSONDecoder.ployz.decode(NetworkSigningKey.self, from: data)
    }

    func save(_ paths: DaemonPaths, network: String) throws {
        try AtomicFile.write(JSONEncoder.ployz.encode(self), to: Self.path(paths, network: network), mode: 0o600)
    }

    /// Makes the local file and the store agree: the store's key wins (the network has one key);
    /// a key only this node has is published with create-if-absent; with neither, one is made.
    static func reconcile(_ paths: DaemonPaths, network: String, store: ClusterStore) async throws -> NetworkSigningKey {
        if let stored = try await store.get(NetworkSigningKey.self, in: .network, key: storeKey)?.record, stored.key != nil {
            if load(paths, network: network)?.privateKey != stored.privateKey { try stored.save(paths, network: network) }
            return stored
        }
        let local = load(paths, network: network) ?? generate()
        do {
            try await store.create(local, in: .network, key: storeKey)
        } catch {
            // Another member published first: take the network's key.
            if let stored = try await store.get(NetworkSigningKey.self, in: .network, key: storeKey)?.record, stored.key != nil {
                try stored.save(paths, network: network)
                return stored
            }
            throw error
        }
        try local.save(paths, network: network)
        return local
    }
}
