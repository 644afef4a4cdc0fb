import Foundation
import Testing
import PloyzModel
@testable import PloyzDaemon

@Suite struct DaemonArgumentsTests {
    @Test func parsesConfigAndKeyFlags() throws {
        let parsed = try DaemonArguments.parse(["--config", "/etc/x.toml", "--zfs-transfer-port", "4400", "--data-dir=/d"])
        #expect(parsed.configPath == "/etc/x.toml")
        #expect(parsed.flags == ["zfs_transfer_port": "4400", "data_dir": "/d"])
    }

    @Test func unknownFlagIsAnErrorNamingIt() {
        #expect(throws: ConfigError.self) { try DaemonArguments.parse(["--bogus", "1"]) }
        do {
            _ = try DaemonArguments.parse(["--bogus", "1"])
        } catch {
            #expect(error.description.hasPrefix("unknown flag --bogus"))
        }
    }

    @Test func flagWithoutValue() {
        #expect(throws: ConfigError.self) { try DaemonArguments.parse(["--data-dir"]) }
    }

    @Test func missingDefaultFileMeansDefaults() throws {
        // Only valid where the default file does not exist, which is the case on test machines.
        guard !FileManager.default.fileExists(atPath: PloyzConfig.defaultPath) else { return }
        let loaded = try DaemonArguments().loadConfig(environment: [:])
        #expect(loaded.config == PloyzConfig())
    }

    @Test func missingExplicitFileIsAnError() {
        let arguments = DaemonArguments(configPath: "/nonexistent/ployz.toml")
        #expect(throws: ConfigError.self) { try arguments.loadConfig(environment: [:]) }
        #expect(throws: ConfigError.self) { try DaemonArguments().loadConfig(environment: ["PLOYZ_CONFIG": "/nonexistent/p.toml"]) }
    }

    @Test func precedenceFileEnvironmentFlags() throws {
        let path = NSTemporaryDirectory() + "ployzd-args-\(UUID().uuidString).toml"
        try "nats_port = 1000\nwireguard_port = 1001\nzfs_transfer_port = 1002\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var arguments = DaemonArguments(configPath: path)
        arguments.flags = ["zfs_transfer_port": "3002"]
        let loaded = try arguments.loadConfig(environment: ["PLOYZ_WIREGUARD_PORT": "2001", "PLOYZ_ZFS_TRANSFER_PORT": "2002"])
        #expect(loaded.config.natsPort == 1000)
        #expect(loaded.config.wireguardPort == 2001)
        #expect(loaded.config.zfsTransferPort == 3002)
    }
}
