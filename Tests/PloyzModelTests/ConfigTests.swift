import Testing
@testable import PloyzModel

@Suite struct ConfigTests {
    @Test func defaultsMatchTheProductPage() throws {
        let config = try PloyzConfig.load(fileText: nil).config
        #expect(config.clusterCIDR.description == "10.101.0.0/16")
        #expect(config.subnetPrefixLength == 24)
        #expect(config.gatewayListenAddr.description == "0.0.0.0:80")
        #expect(config.gatewayHTTPSListenAddr == nil)
        #expect(config.gatewayThreads == 2)
        #expect(config.dnsMetricsListenAddr == nil)
        #expect(config.zfsTransferPort == 4319)
        #expect(config.dataDir == "/var/lib/ployz")
        #expect(config.runtimeDir == "/run/ployz")
        #expect(config.socketPath == "/run/ployz/ployzd.sock")
        #expect(config.wireguardInterface == "wg0")
        #expect(config.wireguardPort == 51820)
        #expect(config.logLevel == .info)
    }

    @Test func fileEnvironmentAndFlagsInThatOrder() throws {
        let file = """
        cluster_cidr = "10.200.0.0/16"
        zfs_transfer_port = 5000
        gateway_https_listen_addr = "0.0.0.0:443"
        runtime_dir = "/tmp/ployz-run/"
        dns_upstreams = ["1.1.1.1:53", "[2606:4700::1111]:53"]
        """
        let loaded = try PloyzConfig.load(
            fileText: file, filePath: "/etc/ployz/config.toml",
            environment: ["PLOYZ_ZFS_TRANSFER_PORT": "6000", "PLOYZ_DNS_METRICS_LISTEN_ADDR": "127.0.0.1:9153", "HOME": "/root"],
            flags: ["zfs_transfer_port": "7000"])
        let config = loaded.config
        #expect(config.clusterCIDR.description == "10.200.0.0/16")
        #expect(config.zfsTransferPort == 7000)
        #expect(config.dnsMetricsListenAddr?.description == "127.0.0.1:9153")
        #expect(config.gatewayHTTPSListenAddr?.port == 443)
        #expect(config.runtimeDir == "/tmp/ployz-run")
        #expect(config.socketPath == "/tmp/ployz-run/ployzd.sock")
        #expect(config.dnsUpstreams.count == 2)
        #expect(loaded.warnings.isEmpty)

        let envOnly = try PloyzConfig.load(fileText: file, environment: ["PLOYZ_ZFS_TRANSFER_PORT": "6000"]).config
        #expect(envOnly.zfsTransferPort == 6000)
    }

    @Test func everyKeyHasAnEnvironmentVariable() throws {
        for key in PloyzConfig.keys {
            let variable = "PLOYZ_" + key.uppercased()
            // Setting a nonsense value must be rejected by name, proving the variable is read.
            if key == "dns_upstreams" || key == "gateway_https_listen_addr" || key == "gateway_metrics_listen_addr"
                || key == "dns_metrics_listen_addr" || key == "public_ip" || key == "stun_server" {
                #expect(throws: ConfigError.self) { try PloyzConfig.load(fileText: nil, environment: [variable: "nonsense!"]) }
                continue
            }
            let error = #expect(throws: ConfigError.self) {
                try PloyzConfig.load(fileText: nil, environment: [variable: key.hasSuffix("_dir") || key == "socket_path" ? "relative" : "-1x!"])
            }
            #expect(error?.description.hasPrefix(variable) == true, "\(key): \(String(describing: error))")
        }
    }

    @Test func machineNameIsADNSLabel() throws {
        #expect(try PloyzConfig.load(fileText: "machine_name = \"Web-1\"", environment: [:]).config.machineName == "web-1")
        #expect(try PloyzConfig.load(fileText: nil, environment: [:]).config.machineName == nil)
        for bad in ["", "-web", "web-", "web_1", "web.1", String(repeating: "a", count: 64)] {
            let error = #expect(throws: ConfigError.self) { try PloyzConfig.load(fileText: nil, environment: ["PLOYZ_MACHINE_NAME": bad]) }
            #expect(error?.description.contains("a DNS label") == true, "\(bad): \(String(describing: error))")
        }
    }

    @Test func stunServerIsAHostWithAnOptionalPort() throws {
        #expect(STUNServerAddress("192.0.2.7") == STUNServerAddress("192.0.2.7:3478"))
        #expect(STUNServerAddress("stun.example.net:19302")?.port == 19302)
        #expect(STUNServerAddress("stun.example.net")?.host == "stun.example.net")
        for bad in ["", ":3478", "192.0.2.7:0", "192.0.2.7:70000", "host:port", "-bad.example", "a b", "[::1]:3478", "999.1.1.1"] {
            #expect(STUNServerAddress(bad) == nil, "\(bad)")
        }
        let loaded = try PloyzConfig.load(fileText: "stun_server = \"192.0.2.7:3479\"", environment: [:]).config
        #expect(loaded.stunServer == "192.0.2.7:3479")
        let fromEnvironment = try PloyzConfig.load(fileText: nil, environment: ["PLOYZ_STUN_SERVER": "stun.example.net"]).config
        #expect(fromEnvironment.stunServer == "stun.example.net")
        let error = #expect(throws: ConfigError.self) { try PloyzConfig.load(fileText: nil, environment: ["PLOYZ_STUN_SERVER": "host:port"]) }
        #expect(error?.description.contains("must be HOST or HOST:PORT") == true, "\(String(describing: error))")
    }

    @Test func badValuesNameTheFieldAndWhatIsAllowed() {
        func message(_ file: String) -> String {
            do { _ = try PloyzConfig.load(fileText: file, filePath: "config.toml"); return "" } catch { return error.description }
        }
        #expect(message("cluster_cidr = \"10.101.0.0/33\"") == "config.toml: cluster_cidr \"10.101.0.0/33\": prefix length \"33\" must be 0-32")
        #expect(message("cluster_cidr = \"10.101.0.0\"").contains("expected ADDRESS/PREFIX"))
        #expect(message("zfs_transfer_port = 70000") == "config.toml: zfs_transfer_port 70000: must be 1-65535")
        #expect(message("wireguard_port = 0").contains("must be 1-65535"))
        #expect(message("gateway_listen_addr = \"0.0.0.0\"").contains("gateway_listen_addr \"0.0.0.0\": must be IP:PORT"))
        #expect(message("subnet_prefix_len = 16").contains("must be longer than cluster_cidr's prefix /16"))
        #expect(message("subnet_prefix_len = 31").contains("must be 1-30"))
        #expect(message("gateway_threads = \"two\"").contains("must be a whole number"))
        #expect(message("log_level = \"loud\"").contains("must be one of trace, debug"))
        #expect(message("data_dir = \"var/lib\"").contains("must be an absolute path"))
        #expect(message("cluster_cidr = ").hasPrefix("config.toml: line 1"))
        #expect(message("cluster_cidr = \"10.0.0.0/8\"\nsubnet_prefix_len = 25").contains("at most 65536"))
    }

    @Test func unknownKeysWarnButLoad() throws {
        let loaded = try PloyzConfig.load(fileText: "gatway_threads = 4\ngateway_threads = 3", filePath: "c.toml")
        #expect(loaded.config.gatewayThreads == 3)
        #expect(loaded.warnings.count == 1)
        #expect(loaded.warnings[0].contains("unknown key \"gatway_threads\""))
    }

    @Test func unknownFlagIsAnError() {
        #expect(throws: ConfigError("--no-such-thing: unknown setting")) {
            try PloyzConfig.load(fileText: nil, flags: ["no-such-thing": "1"])
        }
    }

    @Test func emptyEnvironmentValueUnsetsAnOptionalAddress() throws {
        let config = try PloyzConfig.load(fileText: "gateway_https_listen_addr = \"0.0.0.0:443\"",
                                          environment: ["PLOYZ_GATEWAY_HTTPS_LISTEN_ADDR": ""]).config
        #expect(config.gatewayHTTPSListenAddr == nil)
    }
}
