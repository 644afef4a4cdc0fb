import Testing
import PloyzModel
@testable import PloyzDaemon

@Suite struct NATSServerConfigTests {
    let overlay = IPv6Address("fd01:203:405:607:809:a0b:c0d:e0f")!

    func config(routes: [String] = []) -> NATSServerConfig {
        NATSServerConfig(serverName: "m1", overlayAddress: overlay, clientPort: 4222, monitorPort: 8222,
                         storeDir: "/var/lib/ployz/networks/a/nats", user: "ployz", password: "p\"w",
                         clusterName: "net1", clusterPort: 6222, routes: routes)
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

    @Test func routesAddTheClusterBlock() {
        let text = config(routes: ["nats-route://[fd00::2]:6222"]).render()
        #expect(text.contains("cluster {"))
        #expect(text.contains("name: \"net1\""))
        #expect(text.contains("listen: \"[fd01:203:405:607:809:a0b:c0d:e0f]:6222\""))
        #expect(text.contains("\"nats-route://[fd00::2]:6222\""))
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
