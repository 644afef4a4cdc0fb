import Testing
import PloyzModel
@testable import PloyzDaemon

@Suite struct NATSServerConfigTests {
    let overlay = IPv6Address("fd01:203:405:607:809:a0b:c0d:e0f")!

    func config(clustered: Bool = false) -> NATSServerConfig {
        NATSServerConfig(serverName: "m1", overlayAddress: overlay, clientPort: 4222, monitorPort: 8222,
                         storeDir: "/var/lib/ployz/networks/a/nats", user: "ployz", password: "p\"w",
                         clusterName: "net1", clusterPort: 6222, clustered: clustered)
    }

    @Test func rendersListenersAuthAndJetStream() {
        let text = config().render()
        #expect(text.contains("listen: \"[fd01:203:405:607:809:a0b:c0d:e0f]:4222\""))
        #expect(text.contains("http: \"127.0.0.1:8222\""))
        #expect(text.contains("store_dir: \"/var/lib/ployz/networks/a/nats\""))
        #expect(text.contains("server_name: \"m1\""))
        #expect(text.contains("user: \"ployz\""))
        #expect(text.contains("password: \"p\\\"w\""))
        #expect(text.contains("max_mem: 64MB"))
        #expect(text.contains("max_file: 1GB"))
    }

    @Test func singleNodeHasNoClusterBlock() {
        #expect(!config().render().contains("cluster {"))
    }

    @Test func clusteredAddsTheClusterBlockWithRoutesFromTheIncludedFile() {
        let text = config(clustered: true).render()
        #expect(text.contains("cluster {"))
        #expect(text.contains("name: \"net1\""))
        #expect(text.contains("listen: \"[fd01:203:405:607:809:a0b:c0d:e0f]:6222\""))
        #expect(text.contains("include \"nats-routes.conf\""))
        // Routes live only in the included file, so that changing them leaves this file (and the
        // sidecar's spec hash) unchanged.
        #expect(!text.contains("nats-route://"))
    }

    @Test func routesFileListsOtherMembersSortedWithEncodedCredentials() {
        let peers = [IPv6Address("fd00::3")!, overlay, IPv6Address("fd00::2")!, IPv6Address("fd00::3")!]
        let text = config(clustered: true).renderRoutes(to: peers)
        let routes = text.split(separator: "\n").filter { $0.contains("nats-route://") }
        #expect(routes == ["  \"nats-route://ployz:p%22w@[fd00::2]:6222\"", "  \"nats-route://ployz:p%22w@[fd00::3]:6222\""])
        #expect(text.contains("routes: ["))
        #expect(config().renderRoutes(to: peers.reversed()) == config().renderRoutes(to: peers))
    }

    @Test func routePeersAndReplicasFollowTheMembers() {
        func machine(_ id: String, _ last: Int, _ lifecycle: MachineRecord.Lifecycle) -> MachineRecord {
            MachineRecord(id: id, name: id, publicKey: WireGuardKeyPair.generate().publicKey,
                          subnet: IPv4CIDR("10.210.\(last).0/24")!, endpoints: [], lifecycle: lifecycle)
        }
        let machines = [machine("a", 0, .active), machine("b", 1, .active), machine("c", 2, .pending), machine("d", 3, .stopped)]
        let peers = MeshController.routePeers(machines, ownID: "a")
        #expect(Set(peers) == Set([machines[1].overlayIPv6, machines[3].overlayIPv6]))
        #expect(MeshController.desiredReplicas(Array(machines.prefix(2))) == 1)
        #expect(MeshController.desiredReplicas(Array(machines.prefix(3))) == 1, "a pending invite is not a member yet")
        #expect(MeshController.desiredReplicas(machines) == 3)
    }

    @Test func renderingIsDeterministic() {
        #expect(config().render() == config().render())
    }

    @Test func monitorPortFollowsClientPort() {
        #expect(NATSServerConfig.monitorPort(clientPort: 4222) == 8222)
        #expect(NATSServerConfig.monitorPort(clientPort: 14222) == 18222)
        #expect(NATSServerConfig.monitorPort(clientPort: 64000) == 60000)
    }

    @Test func fromRecordUsesMachineAndNetworkIDs() {
        var settings = PloyzConfig()
        settings.natsPort = 4333
        settings.dataDir = "/d"
        let record = NetworkRecord.new(name: "alpha", config: settings, machineName: "host")
        let rendered = NATSServerConfig(record: record, overlayAddress: overlay, config: settings, paths: DaemonPaths(config: settings))
        #expect(rendered.serverName == record.machineID)
        #expect(rendered.clusterName == record.networkID)
        #expect(rendered.clientPort == 4333)
        #expect(rendered.monitorPort == 8333)
        #expect(rendered.storeDir == "/d/networks/alpha/nats")
        #expect(rendered.password == record.natsPassword)
    }
}
