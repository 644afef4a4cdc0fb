import Foundation
import NATSClient
import PloyzModel
import PloyzStore
import WireGuard

extension MeshController {
    /// Default lifetime of an invite token.
    public static let defaultInviteTTL: TimeInterval = 600
    /// How long each store step of an invite retries a passing failure (an election, a replica
    /// catching up) before the invite fails.
    static let invitePatience: Duration = .seconds(20)

    /// `mesh invite [--ttl]`: claims a subnet for the newcomer, publishes a pending machine record
    /// with a provisional WireGuard key (so every member adds it as a peer), records the invite
    /// and returns the token signed by the network key.
    public func invite(ttl: TimeInterval?) async throws -> String {
        let ttl = ttl ?? Self.defaultInviteTTL
        guard ttl > 0, ttl <= 7 * 86400 else {
            throw ControlError(.usage, "invite ttl \(ttl)s is out of range; allowed: more than 0 and at most 7d")
        }
        guard let name = liveNetwork, phase(of: name) == .running, let session = store else {
            throw ControlError(.usage, "no network is running here; start one with `ployzctl mesh init NAME` or join one first")
        }
        let (record, keyPair) = try load(name)
        let store = session.store
        let paths = self.paths
        let signing: NetworkSigningKey
        do {
            signing = try await retryingStore("reading the network signing key", within: Self.invitePatience) {
                try await NetworkSigningKey.reconcile(paths, network: name, store: store)
            }
        } catch {
            throw ControlError(.failed, "mesh invite: cannot read the network signing key: \(PhaseRunner.oneLine(error))")
        }
        guard let signingKey = signing.key, let signingPublic = signing.publicKeyText else {
            throw ControlError(.failed, "mesh invite: the network signing key is not a valid Ed25519 key")
        }
        let inviteID = RandomID.hex(bytes: 8)
        let subnet = try await Self.claimFreeSubnet(for: inviteID, record: record, store: store)
        let provisional = WireGuardKeyPair.generate()
        let expiresAt = Date().addingTimeInterval(ttl)
        let pending = MachineRecord(id: inviteID, name: "invite-\(inviteID.prefix(6))", publicKey: provisional.publicKey,
                                    subnet: subnet, endpoints: [], lifecycle: .pending)
        do {
            try await retryingStore("publishing the pending machine", within: Self.invitePatience) { try await store.putMachine(pending) }
            let invite = InviteRecord(id: inviteID, issuer: record.machineID, subnet: subnet, expiresAt: expiresAt)
            try await retryingStore("recording the invite", within: Self.invitePatience) {
                do {
                    try await store.create(invite, in: .invites, key: inviteID)
                } catch NATSError.keyExists {
                    // The id is fresh: an earlier try that timed out was stored after all.
                    guard try await store.get(InviteRecord.self, in: .invites, key: inviteID)?.record.issuer == invite.issuer else { throw NATSError.keyExists(key: inviteID) }
                }
            }
        } catch {
            _ = try? await store.deleteMachine(id: inviteID)
            _ = try? await store.releaseSubnet(subnet)
            throw ControlError(.failed, "mesh invite: \(PhaseRunner.oneLine(error))")
        }
        // The newcomer's first peer and store is this node: every member runs a nats-server.
        let entry = machineRecord(record, keyPair: keyPair, lifecycle: .active)
        let claims = InviteClaims(
            inviteID: inviteID, networkID: record.networkID, networkName: record.name, networkPublicKey: signingPublic,
            clusterCIDR: record.clusterCIDR, subnetPrefixLength: record.subnetPrefixLength, subnet: subnet,
            provisionalPrivateKey: provisional.privateKey, natsUser: record.natsUser, natsPassword: record.natsPassword,
            issuerMachineID: entry.id, issuerPublicKey: entry.publicKey, issuerSubnet: entry.subnet,
            issuerEndpoints: entry.endpoints, expiresAt: expiresAt)
        logger.info("invite issued", metadata: ["invite": "\(inviteID)", "subnet": "\(subnet)", "expires": "\(expiresAt)"])
        do { return try InviteToken.encode(claims, signingKey: signingKey) } catch {
            throw ControlError(.failed, "mesh invite: cannot sign the token: \(error)")
        }
    }

    /// Claims a free subnet with create-if-absent, starting at a random candidate so concurrent
    /// inviters rarely collide, and moving on to the next candidate when a claim loses a race.
    static func claimFreeSubnet(for machine: String, record: NetworkRecord, store: ClusterStore) async throws -> IPv4CIDR {
        let taken: Set<IPv4CIDR>
        do {
            let claims = try await retryingStore("reading subnet claims", within: invitePatience) { try await store.claimedSubnets() }
            let machines = try await retryingStore("reading machines", within: invitePatience) { try await store.machines() }
            taken = Set(claims.map(\.subnet) + machines.map(\.subnet))
        } catch {
            throw ControlError(.failed, "mesh invite: cannot read the claimed subnets: \(PhaseRunner.oneLine(error))")
        }
        let count = record.clusterCIDR.subnetCount(prefixLength: record.subnetPrefixLength)
        let candidates = SubnetAllocation.candidates(in: record.clusterCIDR, prefixLength: record.subnetPrefixLength, taken: taken,
                                                     start: count > 0 ? Int.random(in: 0..<count) : 0)
        for subnet in candidates {
            let won: Bool
            do {
                // A retried claim that was stored by a try that timed out is found as this
                // machine's own claim, which `claimSubnet` counts as won.
                won = try await retryingStore("claiming subnet \(subnet)", within: invitePatience) { try await store.claimSubnet(subnet, for: machine) }
            } catch {
                throw ControlError(.failed, "mesh invite: cannot claim subnet \(subnet): \(PhaseRunner.oneLine(error))")
            }
            if won { return subnet }
        }
        throw ControlError(.conflict, "mesh invite: cluster_cidr \(record.clusterCIDR) is full: all \(count) /\(record.subnetPrefixLength) subnets are taken; remove stopped machines, or use a wider cluster_cidr for a new network")
    }
}
