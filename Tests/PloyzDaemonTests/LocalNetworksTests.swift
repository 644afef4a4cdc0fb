import Foundation
import Testing
import PloyzModel
@testable import PloyzDaemon

@Suite struct LocalNetworksTests {
    func temporaryPaths() -> DaemonPaths {
        let base = NSTemporaryDirectory() + "ployzd-state-\(UUID().uuidString)"
        return DaemonPaths(dataDir: base + "/data", runtimeDir: base + "/run", socketPath: base + "/run/s.sock")
    }

    @Test func createWritesRecordAndPrivateKeyReadableOnlyByOwner() throws {
        let paths = temporaryPaths()
        defer { try? FileManager.default.removeItem(atPath: (paths.dataDir as NSString).deletingLastPathComponent) }
        let networks = LocalNetworks(paths: paths)
        let record = NetworkRecord.new(name: "alpha", config: PloyzConfig(), machineName: "h1")
        let keys = WireGuardKeyPair.generate()
        try networks.create(record, keyPair: keys)
        #expect(networks.names() == ["alpha"])
        #expect(try networks.record("alpha") == record)
        #expect(try networks.keyPair("alpha") == keys)
        #expect(record.subnet == IPv4CIDR("10.101.0.0/24"))
        for file in [paths.networkRecordFile("alpha"), paths.privateKeyFile("alpha")] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        let json = try String(contentsOfFile: paths.networkRecordFile("alpha"), encoding: .utf8)
        #expect(json.contains("\"cluster_cidr\":\"10.101.0.0\\/16\"") || json.contains("\"cluster_cidr\":\"10.101.0.0/16\""))
        #expect(json.contains("\"subnet_prefix_len\":24"))
        #expect(!json.contains(keys.privateKey.base64))
    }

    @Test func activeIsWrittenAndCleared() throws {
        let paths = temporaryPaths()
        defer { try? FileManager.default.removeItem(atPath: (paths.dataDir as NSString).deletingLastPathComponent) }
        let networks = LocalNetworks(paths: paths)
        #expect(networks.activeName() == nil)
        try networks.setActive("alpha")
        #expect(networks.activeName() == "alpha")
        try networks.setActive(nil)
        #expect(networks.activeName() == nil)
    }

    @Test func removeDeletesTheNetwork() throws {
        let paths = temporaryPaths()
        defer { try? FileManager.default.removeItem(atPath: (paths.dataDir as NSString).deletingLastPathComponent) }
        let networks = LocalNetworks(paths: paths)
        try networks.create(NetworkRecord.new(name: "alpha", config: PloyzConfig(), machineName: "h"), keyPair: .generate())
        networks.remove("alpha")
        #expect(!networks.exists("alpha"))
        #expect(!FileManager.default.fileExists(atPath: paths.networksDir))
    }
}
