import Foundation
import NATSClient
import PloyzModel
import PloyzStore
import WireGuard

/// A join step failed; the message names the step and why.
struct JoinFailure: Error, CustomStringConvertible {
    let step: String
    let reason: String
    var description: String { "\(step): \(reason)" }
}

extension MeshController {
    /// How long each issuer endpoint is tried before the next one.
    static let joinEndpointPatience: Duration = .seconds(4)

    /// `mesh join --token`: verifies the token, brings the tunnel up with the provisional key and
    /// the issuer as first peer, reaches the store through it, redeems the invite (single use),
    /// rotates to a key generated here, then starts the network like `mesh start` and converges.
    /// Returns the progress lines. On a failure before the redemption nothing is left changed.
    public func join(token: String) async throws -> [String] {
        try await exclusively {
            var steps: [String] = []
            let claims = try verifyToken(token)
            steps.append("verifying token: ok (network \(claims.networkName), subnet \(claims.subnet))")

            let provisional: WireGuardKeyPair
            do { provisional = try WireGuardKeyPair(privateKey: claims.provisionalPrivateKey) } catch {
                throw ControlError(.usage, "verifying token: the provisional key is not a WireGuard key")
            }
            let storeURL = StoreURL.url(host: claims.issuerPublicKey.overlayAddress.description, port: config.natsPort)
            let record = NetworkRecord(
                name: claims.networkName, networkID: claims.networkID, machineID: claims.inviteID, machineName: Self.hostname(),
                clusterCIDR: claims.clusterCIDR, subnetPrefixLength: claims.subnetPrefixLength, subnet: claims.subnet,
                createdAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)),
                natsUser: claims.natsUser, natsPassword: claims.natsPassword, storeServers: [storeURL])
            let rollback = Rollback()
            let interface = meshInterface(resolvedBackend())
            var session: StoreSession?
            do {
                do { try networks.create(record, keyPair: provisional) } catch {
                    throw JoinFailure(step: "tunnel up", reason: "cannot write the network record: \(error)")
                }
                rollback.record("remove the network record") { [networks] in networks.remove(record.name) }
                do { try await interface.bringUp(record, keyPair: provisional, rollback: rollback) } catch {
                    throw JoinFailure(step: "tunnel up", reason: PhaseRunner.oneLine(error))
                }
                let via = try await reachIssuer(claims, interface: interface)
                steps.append("tunnel up: handshake with the issuer via \(via)")

                let store: StoreSession
                do {
                    store = try await StoreSession.connect(url: storeURL, user: claims.natsUser, password: claims.natsPassword, timeout: .seconds(5))
                } catch {
                    throw JoinFailure(step: "store reached", reason: "cannot connect to \(storeURL): \(PhaseRunner.oneLine(error))")
                }
                session = store
                steps.append("store reached: \(storeURL)")
                try await redeem(claims, store: store.store)
            } catch {
                await session?.close()
                await rollback.unwind()
                try? FileManager.default.removeItem(atPath: paths.runtimeNetworkDir(record.name))
                throw joinError(error)
            }
            // Redeemed: from here the node is a member; failures leave its state for `mesh start`.
            let own = WireGuardKeyPair.generate()
            do {
                try await rotateKey(record, from: provisional, to: own, store: session!.store)
            } catch {
                await session?.close()
                throw ControlError(.failed, "rotating key: \(PhaseRunner.oneLine(error))")
            }
            await session?.close()
            do { try await startNetwork(record.name) } catch {
                throw ControlError(.failed, "synced: \(error)")
            }
            let peers = await convergence?.waitUntilSynced(timeout: .seconds(10)) ?? 0
            steps.append("synced \(peers) peers")
            let deadline = ContinuousClock.now + .seconds(20)
            var report = await ready(record.name)
            while !report.ready && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(100))
                report = await ready(record.name)
            }
            guard report.ready else {
                let failing = report.checks.filter { !$0.ok }.map { "\($0.name): \($0.detail)" }.joined(separator: "; ")
                throw ControlError(.failed, "ready: \(failing)")
            }
            steps.append("ready")
            return steps
        }
    }

    /// Signature, expiry, and that this node does not already belong to another network.
    private func verifyToken(_ token: String) throws -> InviteClaims {
        let claims: InviteClaims
        do { claims = try InviteToken.decode(token) } catch {
            throw ControlError(.usage, "verifying token: \(error)")
        }
        for name in networks.names() {
            guard let local = try? networks.record(name) else { continue }
            if local.networkID != claims.networkID {
                throw ControlError(.usage, "verifying token: the token is for network \"\(claims.networkName)\" (id \(claims.networkID)) but this node belongs to network \"\(name)\" (id \(local.networkID)); a node joins one network")
            }
            throw ControlError(.conflict, "verifying token: this node is already a member of network \"\(name)\"")
        }
        if let problem = NetworkName.problem(with: claims.networkName) { throw ControlError(.usage, "verifying token: \(problem)") }
        return claims
    }

    /// Adds the issuer as the first peer and tries its endpoints in order until its NATS answers
    /// through the tunnel (the probe's traffic is what starts the handshake). Returns the endpoint.
    private func reachIssuer(_ claims: InviteClaims, interface: MeshInterface) async throws -> String {
        let host = claims.issuerPublicKey.overlayAddress.description
        let port = config.natsPort
        guard !claims.issuerEndpoints.isEmpty else {
            throw JoinFailure(step: "tunnel up", reason: "the token names no endpoint of the issuer")
        }
        for endpoint in claims.issuerEndpoints {
            let peer = WireGuardPeerUpdate(publicKey: claims.issuerPublicKey, endpoint: endpoint, replaceAllowedIPs: true,
                                           allowedIPs: [claims.issuerSubnet.description, "\(claims.issuerPublicKey.overlayAddress)/128"],
                                           persistentKeepalive: PeerSet.persistentKeepalive)
            do { try await interface.control.set(WireGuardDeviceUpdate(peers: [peer])) } catch {
                throw JoinFailure(step: "tunnel up", reason: "cannot add the issuer as a peer: \(error)")
            }
            let deadline = ContinuousClock.now + Self.joinEndpointPatience
            while ContinuousClock.now < deadline {
                if (try? NATSProbe.info(host: host, port: port, timeout: .milliseconds(500))) != nil { return endpoint }
                try? await Task.sleep(for: .milliseconds(100))
            }
            logger.info("issuer endpoint did not answer; trying the next", metadata: ["endpoint": "\(endpoint)"])
        }
        // A used token's provisional key is no longer a peer of any member (the newcomer rotated
        // away from it), so a reused token ends here as well as an unreachable issuer.
        throw JoinFailure(step: "tunnel up", reason: "no answer from the issuer through any of its endpoints (\(claims.issuerEndpoints.joined(separator: ", "))): the token was already used or revoked, or the issuer is unreachable from this node")
    }

    /// Marks the invite consumed with compare-and-set, so a token works once.
    private func redeem(_ claims: InviteClaims, store: ClusterStore) async throws {
        let step = "redeeming invite"
        let current: ClusterStore.Versioned<InviteRecord>?
        do {
            current = try await withTimeout(.seconds(5), "reading the invite") { try await store.get(InviteRecord.self, in: .invites, key: claims.inviteID) }
        } catch {
            throw JoinFailure(step: step, reason: PhaseRunner.oneLine(error))
        }
        guard let current else { throw JoinFailure(step: step, reason: "invite \(claims.inviteID) is unknown to the network (revoked or never issued)") }
        var invite = current.record
        if invite.consumedBy != nil { throw JoinFailure(step: step, reason: "the token was already used; ask a member for a new one with `ployzctl mesh invite`") }
        if invite.revoked { throw JoinFailure(step: step, reason: "the invite was revoked") }
        if invite.expiresAt <= Date() { throw JoinFailure(step: step, reason: "the invite expired at \(invite.expiresAt.formatted(.iso8601))") }
        invite.consumedBy = claims.inviteID
        let redeemed = invite
        do {
            _ = try await withTimeout(.seconds(5), "redeeming the invite") {
                try await store.update(redeemed, in: .invites, key: claims.inviteID, revision: current.revision)
            }
        } catch NATSError.wrongLastRevision {
            throw JoinFailure(step: step, reason: "the token was already used; ask a member for a new one with `ployzctl mesh invite`")
        } catch {
            throw JoinFailure(step: step, reason: PhaseRunner.oneLine(error))
        }
    }

    /// Replaces the provisional key (which travelled in the token) by one generated here: the new
    /// private key is written 0600, the machine record is published with the new public key (peers
    /// swap it in through convergence), then the device takes the key and the new overlay address.
    private func rotateKey(_ record: NetworkRecord, from provisional: WireGuardKeyPair, to own: WireGuardKeyPair, store: ClusterStore) async throws {
        try AtomicFile.write(own.privateKey.base64 + "\n", to: paths.privateKeyFile(record.name), mode: 0o600)
        let active = MachineRecord(id: record.machineID, name: record.machineName, publicKey: own.publicKey, subnet: record.subnet,
                                   endpoints: advertisedEndpoints(), lifecycle: .active)
        try await withTimeout(.seconds(5), "publishing the machine record") { try await store.putMachine(active) }
        // Give the members' convergence a moment to swap the new key in before this side uses it:
        // a handshake they drop would only be retried after WireGuard's 5 s rekey timeout.
        try? await Task.sleep(for: .milliseconds(300))
        let interface = meshInterface(resolvedBackend())
        try await interface.control.set(WireGuardDeviceUpdate(privateKey: own.privateKey))
        IPAddressCommand.removeAddress("\(provisional.publicKey.overlayAddress)/128", from: interface.name)
    }

    private func joinError(_ error: Error) -> ControlError {
        if let error = error as? ControlError { return error }
        if let failure = error as? JoinFailure {
            // Refusals of the token are usage errors (exit 2); a tunnel that never answers is
            // reported the same way because a used token looks exactly like that.
            let refused = failure.step == "redeeming invite" || failure.reason.contains("already used")
            return ControlError(refused ? .usage : .failed, failure.description)
        }
        return ControlError(.failed, PhaseRunner.oneLine(error))
    }
}
