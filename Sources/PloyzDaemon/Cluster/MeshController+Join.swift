import Foundation
import NATSClient
import PloyzModel
import PloyzStore
import WireGuard

/// A join step failed; the message names the step and why, the code what the caller can decide on.
struct JoinFailure: Error, CustomStringConvertible {
    let step: String
    let reason: String
    var code: ControlError.Code = .failed
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
                name: claims.networkName, networkID: claims.networkID, machineID: claims.inviteID, machineName: config.machineName ?? Self.hostname(),
                clusterCIDR: claims.clusterCIDR, subnetPrefixLength: claims.subnetPrefixLength, subnet: claims.subnet,
                createdAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)),
                natsUser: claims.natsUser, natsPassword: claims.natsPassword)
            let rollback = Rollback()
            let interface = meshInterface(resolvedBackend())
            var session: StoreSession?
            var lease: StoreLease?
            var via = ""
            do {
                do { try networks.create(record, keyPair: provisional) } catch {
                    throw JoinFailure(step: "tunnel up", reason: "cannot write the network record: \(error)")
                }
                rollback.record("remove the network record") { [networks] in networks.remove(record.name) }
                do { try await interface.bringUp(record, keyPair: provisional, rollback: rollback) } catch {
                    throw JoinFailure(step: "tunnel up", reason: PhaseRunner.oneLine(error))
                }
                via = try await reachIssuer(claims, interface: interface)
                steps.append("tunnel up: handshake with the issuer via \(via)")

                let store: StoreSession
                do {
                    store = try await StoreSession.connect(url: storeURL, user: claims.natsUser, password: claims.natsPassword, timeout: .seconds(5))
                } catch {
                    throw JoinFailure(step: "store reached", reason: "cannot connect to \(storeURL): \(PhaseRunner.oneLine(error))")
                }
                session = store
                steps.append("store reached: \(storeURL)")
                // Joins go on one at a time from here: two fresh nats-servers that meet before
                // either has heard the cluster's leader can elect one of their own (a second
                // cluster), and a member that is active but not started yet fails everyone's
                // handshake check. Taken before the redemption, so a join that cannot have it
                // changes nothing, and no redemption lands while the first node moves its store.
                // The lease lives on the issuer connection (which reconnects through the new key).
                do {
                    let (taken, waited) = try await StoreLease.acquire(Self.joinLeaseKey, holder: record.machineID, store: store.store,
                                                                       timeout: Self.joinLeaseTimeout)
                    lease = taken
                    if waited > .seconds(1) { steps.append("waited \(Int(waited.components.seconds)) s for other joins") }
                } catch {
                    var code = ControlError.Code.failed
                    if case StoreError.leaseBusy = error { code = .busy }
                    throw JoinFailure(step: "store reached", reason: "waiting for other joins: \(PhaseRunner.oneLine(error))", code: code)
                }
                try await redeem(claims, store: store.store)
            } catch {
                await lease?.release()
                await session?.close()
                await rollback.unwind()
                try? FileManager.default.removeItem(atPath: paths.runtimeNetworkDir(record.name))
                throw joinError(error)
            }
            // Redeemed: from here the node is a member; failures leave its state for `mesh start`.
            defer {
                // Through this node's own store when it runs: the issuer connection was cut by the
                // key rotation and may not be back yet.
                let local = store?.store
                Task { [session, lease] in
                    await lease?.release(using: local)
                    await session?.close()
                }
            }
            let own = WireGuardKeyPair.generate()
            let members: [MachineRecord]
            do {
                members = try await rotateKey(record, from: provisional, to: own, claims: claims, via: via, storeURL: storeURL, store: session!)
            } catch {
                throw ControlError(.failed, "rotating key: \(PhaseRunner.oneLine(error))")
            }
            // A joined node's nats-server is in the cluster from its first start, routing to every
            // member; the members it knows now are also its first peers when it starts.
            var joined = record
            joined.clustered = true
            do {
                try networks.update(joined)
                try Convergence.writeCache(members, to: paths.peerCacheFile(record.name))
                try FileManager.default.createDirectory(atPath: paths.runtimeNetworkDir(record.name), withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
                try natsSidecar.writeRoutes(natsSidecar.serverConfig(joined, overlay: own.publicKey.overlayAddress),
                                            peers: Self.routePeers(members, ownID: record.machineID), network: record.name)
            } catch {
                throw ControlError(.failed, "synced: cannot write the network's state: \(error)")
            }
            do { try await startNetwork(record.name) } catch {
                throw ControlError(.failed, "synced: \(error)")
            }
            let peers = await convergence?.waitUntilSynced(timeout: .seconds(30)) ?? 0
            steps.append("synced \(peers) peers")
            if let replicated = try await waitUntilReplicated() { steps.append(replicated) }
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

    /// How long a join waits for other joins (each holds the lease from its key rotation until
    /// its store is replicated).
    static let joinLeaseTimeout: Duration = .seconds(150)
    static let joinLeaseKey = "join"

    /// With this node the network has three members or more: waits until every stream of the
    /// store has three current replicas (the members raise them; see `maintainStore`), so that a
    /// node reported ready can be followed by any one member dying. Nil when there is nothing to
    /// wait for.
    private func waitUntilReplicated(timeout: Duration = .seconds(60)) async throws -> String? {
        let replicas = Self.desiredReplicas(knownMachines)
        guard replicas > 1 else { return nil }
        let deadline = ContinuousClock.now + timeout
        var last = "not checked"
        while ContinuousClock.now < deadline {
            if let session = store {
                do {
                    if try await withTimeout(.seconds(3), "reading the store's streams", { try await session.store.isReplicated(replicas) }) {
                        return "store replicated on \(replicas) members"
                    }
                    last = "a stream has fewer than \(replicas) current replicas"
                } catch {
                    last = PhaseRunner.oneLine(error)
                }
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        throw ControlError(.failed, "store replicated: not within \(timeout) (\(last)); the store works, with fewer copies until the members' servers are all routed")
    }

    /// Signature, expiry, and that this node does not already belong to another network.
    private func verifyToken(_ token: String) throws -> InviteClaims {
        let claims: InviteClaims
        do { claims = try InviteToken.decode(token) } catch {
            if case .expired = error { throw ControlError(.inviteExpired, "verifying token: \(error)") }
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
            do { try await interface.control.set(WireGuardDeviceUpdate(peers: [Self.issuerPeer(claims, endpoint: endpoint)])) } catch {
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
        throw JoinFailure(step: "tunnel up", reason: "no answer from the issuer through any of its endpoints (\(claims.issuerEndpoints.joined(separator: ", "))): the token was already used or revoked, or the issuer is unreachable from this node",
                          code: .inviteUnanswered)
    }

    /// Marks the invite consumed with compare-and-set, so a token works once.
    private func redeem(_ claims: InviteClaims, store: ClusterStore) async throws {
        let step = "redeeming invite"
        let current: ClusterStore.Versioned<InviteRecord>?
        do {
            current = try await retryingStore("reading the invite", within: .seconds(15)) { try await store.get(InviteRecord.self, in: .invites, key: claims.inviteID) }
        } catch {
            throw JoinFailure(step: step, reason: PhaseRunner.oneLine(error))
        }
        guard let current else {
            throw JoinFailure(step: step, reason: "invite \(claims.inviteID) is unknown to the network (revoked or never issued)", code: .inviteRevoked)
        }
        var invite = current.record
        if invite.consumedBy != nil { throw JoinFailure(step: step, reason: Self.inviteUsed, code: .inviteUsed) }
        if invite.revoked { throw JoinFailure(step: step, reason: "the invite was revoked", code: .inviteRevoked) }
        if invite.expiresAt <= Date() {
            throw JoinFailure(step: step, reason: "the invite expired at \(invite.expiresAt.formatted(.iso8601))", code: .inviteExpired)
        }
        invite.consumedBy = claims.inviteID
        let redeemed = invite
        do {
            _ = try await withTimeout(.seconds(10), "redeeming the invite") {
                try await store.update(redeemed, in: .invites, key: claims.inviteID, revision: current.revision)
            }
        } catch NATSError.wrongLastRevision {
            throw JoinFailure(step: step, reason: Self.inviteUsed, code: .inviteUsed)
        } catch {
            throw JoinFailure(step: step, reason: PhaseRunner.oneLine(error))
        }
    }

    private static let inviteUsed = "the token was already used; ask a member for a new one with `ployzctl mesh invite`"

    /// The issuer as the newcomer's first WireGuard peer, at `endpoint`.
    static func issuerPeer(_ claims: InviteClaims, endpoint: String) -> WireGuardPeerUpdate {
        WireGuardPeerUpdate(publicKey: claims.issuerPublicKey, endpoint: endpoint, replaceAllowedIPs: true,
                            allowedIPs: [claims.issuerSubnet.description, "\(claims.issuerPublicKey.overlayAddress)/128"],
                            persistentKeepalive: PeerSet.persistentKeepalive)
    }

    /// How many times the record is published before the rotation gives up.
    static let rotationAttempts = 3

    /// Replaces the provisional key (which travelled in the token) by one generated here, and
    /// returns the network's machines as read through the new key.
    ///
    /// The members swap the new key in as soon as the record is stored, which cuts the tunnel the
    /// record travelled through, often before the publish's acknowledgement is back. So the ack
    /// is not awaited for long: the device switches to the new key, and success is a fresh
    /// connection through it that reads the record back. When that fails (the record never
    /// arrived, so nobody knows the new key) the device goes back to the provisional key and
    /// publishes again.
    private func rotateKey(_ record: NetworkRecord, from provisional: WireGuardKeyPair, to own: WireGuardKeyPair,
                           claims: InviteClaims, via endpoint: String, storeURL: String, store: StoreSession) async throws -> [MachineRecord] {
        try AtomicFile.write(own.privateKey.base64 + "\n", to: paths.privateKeyFile(record.name), mode: 0o600)
        let active = MachineRecord(id: record.machineID, name: record.machineName, publicKey: own.publicKey, subnet: record.subnet,
                                   endpoints: advertisedEndpoints(), lifecycle: .active)
        let interface = meshInterface(resolvedBackend())
        var problem = "no attempt"
        for attempt in 1...Self.rotationAttempts {
            do {
                try await withTimeout(.seconds(2), "publishing the machine record") { try await store.publish(active) }
            } catch {
                problem = PhaseRunner.oneLine(error)
                logger.info("machine record publish unconfirmed; checking through the new key", metadata: ["attempt": "\(attempt)", "error": "\(problem)"])
            }
            try await interface.switchKey(to: own, from: provisional)
            do {
                return try await readBack(active, url: storeURL, claims: claims, endpoint: endpoint, interface: interface)
            } catch {
                problem = PhaseRunner.oneLine(error)
                logger.warning("the new key is not reachable yet; publishing again", metadata: ["attempt": "\(attempt)", "error": "\(problem)"])
            }
            try await interface.switchKey(to: provisional, from: own)
            try await interface.control.set(WireGuardDeviceUpdate(peers: [Self.issuerPeer(claims, endpoint: endpoint)]))
        }
        throw JoinFailure(step: "rotating key", reason: "the issuer did not take the new key after \(Self.rotationAttempts) attempts: \(problem)")
    }

    /// Connects afresh (through the new key) and reads the machines; the own record must carry
    /// the new key. Each try restarts the issuer peer, so that a handshake the issuer dropped
    /// (it had not swapped the key in yet) is retried at once instead of after WireGuard's 5 s.
    private func readBack(_ active: MachineRecord, url: String, claims: InviteClaims, endpoint: String,
                          interface: MeshInterface) async throws -> [MachineRecord] {
        let deadline = ContinuousClock.now + .seconds(10)
        var lastError: Error = JoinFailure(step: "rotating key", reason: "no answer through the new key")
        while ContinuousClock.now < deadline {
            do {
                let session = try await StoreSession.connect(url: url, user: claims.natsUser, password: claims.natsPassword, timeout: .seconds(1))
                defer { Task { await session.close() } }
                let machines = try await withTimeout(.seconds(4), "reading the machines") { try await session.machines() }
                guard machines.first(where: { $0.id == active.id })?.publicKey == active.publicKey else {
                    throw JoinFailure(step: "rotating key", reason: "the store does not hold the new key")
                }
                return machines
            } catch {
                lastError = error
            }
            var reset = Self.issuerPeer(claims, endpoint: endpoint)
            reset.remove = true
            try? await interface.control.set(WireGuardDeviceUpdate(peers: [reset]))
            try? await interface.control.set(WireGuardDeviceUpdate(peers: [Self.issuerPeer(claims, endpoint: endpoint)]))
        }
        throw lastError
    }

    private func joinError(_ error: Error) -> ControlError {
        if let error = error as? ControlError { return error }
        if let failure = error as? JoinFailure { return ControlError(failure.code, failure.description) }
        return ControlError(.failed, PhaseRunner.oneLine(error))
    }
}
