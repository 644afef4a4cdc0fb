import Foundation
import Testing
import PloyzModel
import WireGuard
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Several real nodes (ployzd, wireguard-go, nats-server) in namespaces on one test LAN.
@Suite(.serialized, .enabled(if: TestEnvironment.canRunDaemons, "needs root and a built ployzd"))
struct ClusterIntegrationTests {
    /// A LAN with `count` started nodes, always cleaned up.
    func withLAN(_ count: Int, deadFirst: Set<Int> = [], _ body: (TestLAN, [TestNode]) throws -> Void) throws {
        let lan = try TestLAN()
        defer { lan.cleanup() }
        var nodes: [TestNode] = []
        for index in 0..<count {
            let node = try lan.addNode(deadFirst: deadFirst.contains(index))
            try node.startDaemon()
            nodes.append(node)
        }
        do { try body(lan, nodes) } catch {
            // Keep the nodes' logs for a failure that only shows under load.
            for node in nodes { runCommand("/bin/cp", ["-r", node.directory, "/tmp/ployz-failed-" + node.namespace]) }
            throw error
        }
    }

    /// Error text of a refused call, or nil when it succeeded.
    func refusal(_ body: () throws -> Void) -> ControlError? {
        do { try body() } catch let error as ControlError { return error } catch { return ControlError(.failed, "\(error)") }
        return nil
    }

    @Test func threeNodesJoinPingAndShareTheStore() throws {
        try withLAN(3) { _, nodes in
            _ = try nodes[0].client.call(ControlCalls.MeshInit.self, .init(name: "cl"))
            let joined1 = try nodes[1].join(try nodes[0].invite())
            #expect(joined1.contains("tunnel up"), "\(joined1)")
            #expect(joined1.contains("store reached"), "\(joined1)")
            #expect(joined1.hasSuffix("ready"), "\(joined1)")
            // The second invite comes from the member that just joined.
            let joined2 = try nodes[2].join(try nodes[1].invite())
            #expect(joined2.contains("synced 2 peers"), "\(joined2)")
            // With three members the join waits until the store has three current copies.
            #expect(joined2.contains("store replicated on 3 members"), "\(joined2)")
            #expect(!joined1.contains("store replicated"), "\(joined1)")

            let statuses = try nodes.map { try $0.status() }
            #expect(Set(statuses.map(\.subnet)).count == 3)
            for (index, node) in nodes.enumerated() {
                let status = statuses[index]
                #expect(status.peers.count == 2, "node \(index) peers: \(status.peers)")
                for (other, peer) in statuses.enumerated() where other != index {
                    #expect(node.ping(peer.nodeAddress), "node \(index) -> \(peer.nodeAddress)")
                    #expect(node.ping(peer.overlayIPv6), "node \(index) -> \(peer.overlayIPv6)")
                    let listed = try #require(status.peers.first { $0.overlayIPv6 == peer.overlayIPv6 })
                    #expect(listed.subnet == peer.subnet)
                    #expect(listed.name == peer.machineName && peer.machineName.hasPrefix("node-"), "\(listed.name) vs \(peer.machineName)")
                    #expect(listed.lastHandshake != nil)
                    #expect(listed.endpoint?.hasPrefix("192.168.77.") == true, "\(listed)")
                }
                let report = try node.client.call(ControlCalls.MeshReady.self, .init())
                #expect(report.ready, "node \(index): \(report.checks.filter { !$0.ok })")
            }

            // Every nats-server routes to the other two over the overlay.
            let overlays = statuses.map(\.overlayIPv6)
            for (index, node) in nodes.enumerated() {
                let others = Set(overlays.enumerated().filter { $0.offset != index }.map(\.element))
                #expect(waitUntil(.seconds(20)) { node.natsRouteAddresses == others },
                        "node \(index) routes: \(node.natsRouteAddresses), expected \(others)")
            }

            // `mesh status` says so too, once the replicas are raised on that node.
            for (index, node) in nodes.enumerated() {
                #expect(waitUntil(.seconds(15)) { (try? node.status().store) == "NATS cluster, routes to 2 of 2 members, 3 replica(s)" },
                        "node \(index): \(String(describing: try? node.status().store))")
            }

            // A record written through one node is read through the others.
            _ = try nodes[2].client.call(ControlCalls.ServiceSet.self, .init(service: ServiceRecord(name: "web", ports: [ServicePort(name: "http", port: 80)])))
            for node in nodes {
                let names = try node.client.call(ControlCalls.ServiceList.self).services.map(\.name)
                #expect(names.contains("web"), "\(names)")
            }

            // DNS: a name registered through the third node is answered by the second node's DNS,
            // asked from the first over the overlay.
            _ = try nodes[2].client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(id: "web-1", service: "web", machine: "", address: statuses[2].nodeAddress)))
            let answered = waitUntil(.seconds(20)) {
                runCommand("/usr/sbin/ip", ["netns", "exec", nodes[0].namespace, "dig", "+short", "+time=1", "+tries=1",
                                            "@\(statuses[1].overlayIPv6)", "web.default.ployz.internal", "A"],
                           timeout: .seconds(5)).output.trimmingCharacters(in: .whitespacesAndNewlines) == statuses[2].nodeAddress
            }
            #expect(answered, "node 2's DNS did not serve the instance registered through node 3")

            // A node that stops is removed from every peer.
            _ = try nodes[2].client.call(ControlCalls.MeshStop.self, .init(force: true))
            let gone = statuses[2].publicKey
            for node in nodes.prefix(2) {
                #expect(waitUntil(.seconds(10)) { ((try? node.status().peers.map(\.publicKey)) ?? [gone]).contains(gone) == false })
            }
        }
    }

    @Test func refusedTokensChangeNothing() throws {
        try withLAN(3) { _, nodes in
            _ = try nodes[0].client.call(ControlCalls.MeshInit.self, .init(name: "cl"))
            let token = try nodes[0].invite()

            // Tampered: one character of the signature changed.
            var tampered = Array(token)
            tampered[tampered.count - 3] = tampered[tampered.count - 3] == "A" ? "B" : "A"
            let badSignature = refusal { _ = try nodes[1].join(String(tampered)) }
            #expect(badSignature?.code == .usage, "\(String(describing: badSignature))")
            #expect(badSignature?.message.contains("verifying token") == true, "\(String(describing: badSignature))")
            #expect(nodes[1].networkNames.isEmpty)

            // Expired.
            let shortLived = try nodes[0].invite(ttl: 1)
            usleep(1_500_000)
            let expired = refusal { _ = try nodes[1].join(shortLived) }
            #expect(expired?.code == .inviteExpired, "\(String(describing: expired))")
            #expect(expired?.exitCode == 2)
            #expect(expired?.message.contains("expired") == true, "\(String(describing: expired))")
            #expect(nodes[1].networkNames.isEmpty)

            // Used once, then refused.
            _ = try nodes[1].join(token)
            let peersBefore = try nodes[0].status().peers.map(\.publicKey).sorted()
            let reused = refusal { _ = try nodes[2].join(token) }
            // A used token's provisional key is no peer of any member any more: the issuer never answers.
            #expect(reused?.code == .inviteUnanswered || reused?.code == .inviteUsed, "\(String(describing: reused))")
            #expect(reused?.exitCode == 2)
            #expect(reused?.message.contains("already used") == true, "\(String(describing: reused))")
            #expect(nodes[2].networkNames.isEmpty)
            #expect(!Link.exists(nodes[2].interface, netns: nodes[2].namespace))
            #expect(waitUntil(.seconds(3)) { (try? nodes[0].status().peers.map(\.publicKey).sorted()) == peersBefore })

            // Another network: node 2 has its own network; a token of the first is refused.
            _ = try nodes[2].client.call(ControlCalls.MeshInit.self, .init(name: "other"))
            let foreign = refusal { _ = try nodes[2].join(try nodes[0].invite()) }
            #expect(foreign?.code == .usage, "\(String(describing: foreign))")
            #expect(foreign?.message.contains("belongs to network \"other\"") == true, "\(String(describing: foreign))")
            #expect(nodes[2].networkNames == ["other"])
            #expect(try nodes[2].status().peers.isEmpty)
        }
    }

    @Test func eightSimultaneousJoinsWithInvitesFromTwoMembersGetDistinctSubnets() throws {
        try withLAN(10) { _, nodes in
            _ = try nodes[0].client.call(ControlCalls.MeshInit.self, .init(name: "cl"))
            _ = try nodes[1].join(try nodes[0].invite())
            let tokens = LockedList<String>()
            let failures = LockedList<String>()
            try simultaneously(8) { index in
                do { tokens.append(try nodes[index % 2].invite()) } catch { failures.append("invite: \(error)") }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            let issued = tokens.all
            #expect(Set(try issued.map { try InviteToken.decode($0).subnet }).count == 8)
            try simultaneously(8) { index in
                guard index < issued.count else { return }
                do { _ = try nodes[2 + index].join(issued[index]) } catch { failures.append("join node \(2 + index): \(error)") }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            let subnets = try nodes.map { try $0.status().subnet }
            #expect(Set(subnets).count == 10, "\(subnets)")
        }
    }

    /// A `cluster_cidr` with room for two subnets: the first node takes one, one invite the other,
    /// and the next invite is refused with what to do, changing nothing.
    @Test func aFullClusterCIDRRefusesTheNextInvite() throws {
        let node = try TestNode(extraConfig: "cluster_cidr = \"10.177.0.0/23\"\nsubnet_prefix_len = 24")
        defer { node.cleanup() }
        try node.startDaemon()
        _ = try node.client.call(ControlCalls.MeshInit.self, .init(name: "small"))
        _ = try node.invite()
        let refused = refusal { _ = try node.invite() }
        #expect(refused?.code == .conflict, "\(String(describing: refused))")
        #expect(refused?.message.contains("cluster_cidr 10.177.0.0/23 is full") == true, "\(String(describing: refused))")
        #expect(try node.status().subnet == "10.177.0.0/24")
    }

    @Test func aDeadFirstEndpointIsPassedOverWithoutIntervention() throws {
        try withLAN(3, deadFirst: [1]) { _, nodes in
            let advertised = EndpointPolicy.order(LocalAddresses.enumerate(netns: nodes[1].namespace).map(\.candidate), port: 51820)
            #expect(advertised.first?.hasPrefix("192.168.66.") == true, "\(advertised)")
            #expect(advertised.count == 2, "\(advertised)")
            _ = try nodes[0].client.call(ControlCalls.MeshInit.self, .init(name: "cl"))
            _ = try nodes[1].join(try nodes[0].invite())
            _ = try nodes[2].join(try nodes[0].invite())
            let statuses = try nodes.map { try $0.status() }
            for (index, node) in nodes.enumerated() {
                for (other, peer) in statuses.enumerated() where other != index {
                    #expect(waitUntil(.seconds(40)) { node.ping(peer.nodeAddress) }, "node \(index) -> \(peer.nodeAddress)")
                }
            }
            for index in [0, 2] {
                let peer = try #require(try nodes[index].status().peers.first { $0.publicKey == statuses[1].publicKey })
                #expect(peer.endpoint?.hasPrefix("192.168.77.") == true, "\(peer)")
            }

            // A new local address is re-advertised: node 0 learns it from node 2's record.
            let added = runCommand("/usr/sbin/ip", ["-n", nodes[2].namespace, "address", "add", "192.168.77.213/24", "dev", "eth0"])
            #expect(added.status == 0, "\(added.output)")
            let cache = nodes[0].dataDir + "/networks/cl/machines.json"
            let learned = waitUntil(.seconds(20)) {
                guard let data = FileManager.default.contents(atPath: cache),
                      let machines = try? JSONDecoder.ployz.decode([MachineRecord].self, from: data) else { return false }
                return machines.first { $0.publicKey.base64 == statuses[2].publicKey }?.endpoints.contains("192.168.77.213:51820") == true
            }
            #expect(learned, "node 0 never saw node 2's new address among its endpoints")
        }
    }

    /// Kills the first member (the one whose store the others joined through) entirely: the other
    /// two keep writing and reading, because every asset has three replicas; the member comes back
    /// (its daemon resumes the network), converges and reads what was written while it was away.
    @Test func aKilledMemberComesBackAndReadsWhatWasWritten() throws {
        try withLAN(3) { _, nodes in
            _ = try nodes[0].client.call(ControlCalls.MeshInit.self, .init(name: "cl"))
            _ = try nodes[1].join(try nodes[0].invite())
            _ = try nodes[2].join(try nodes[1].invite())
            // Every stream `service ls` reads below (services, workloads, instances) has its three copies.
            let streams = ["KV_ployz_machines", "KV_ployz_services", "KV_ployz_network", "ployz_events", "KV_ployz_workloads",
                           "KV_ployz_instances"]
            let replicated = waitUntil(.seconds(45)) {
                let seen = nodes.map(\.streamReplicas).reduce(into: [String: Int]()) { $0.merge($1) { max($0, $1) } }
                return streams.allSatisfy { seen[$0] == 3 }
            }
            #expect(replicated, "\(nodes.map(\.streamReplicas))")
            nodes[0].killEverything()
            // Writes go on once the survivors elected new leaders (bounded).
            for (index, name) in ["while-away-1", "while-away-2"].enumerated() {
                let written = waitUntil(.seconds(30)) {
                    (try? nodes[index + 1].client.call(ControlCalls.ServiceSet.self, .init(service: ServiceRecord(name: name)))) != nil
                }
                #expect(written, "node \(index + 1) could not write \(name) with node 0 dead")
            }
            for node in nodes.suffix(2) {
                let names = try node.client.call(ControlCalls.ServiceList.self).services.map(\.name)
                #expect(names.contains("while-away-1") && names.contains("while-away-2"), "\(names)")
            }
            try nodes[0].startDaemon()
            #expect(waitUntil(.seconds(40)) { (try? nodes[0].client.call(ControlCalls.MeshReady.self, .init()).ready) == true },
                    "\(String(describing: try? nodes[0].client.call(ControlCalls.MeshReady.self, .init())))")
            let read = waitUntil(.seconds(20)) {
                let names = (try? nodes[0].client.call(ControlCalls.ServiceList.self).services.map(\.name)) ?? []
                return names.contains("while-away-1") && names.contains("while-away-2")
            }
            #expect(read, "node 0 did not read what was written while it was away")
            let back = try nodes[0].status()
            #expect(back.peers.count == 2)
            for peer in try nodes.suffix(2).map({ try $0.status() }) {
                #expect(waitUntil(.seconds(20)) { nodes[0].ping(peer.nodeAddress) }, "-> \(peer.nodeAddress)")
            }
        }
    }
}
