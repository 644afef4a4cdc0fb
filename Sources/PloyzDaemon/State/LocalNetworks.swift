import Foundation
import PloyzModel
#if canImport(Glibc)
import Glibc
#endif

/// Why local network state could not be read or written; one line naming the file.
public struct LocalStateError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The networks this node knows, on disk under `<data_dir>`. Every write goes through
/// `AtomicFile`, so a crash leaves the old or the new file, never half of one.
public struct LocalNetworks: Sendable {
    public let paths: DaemonPaths

    public init(paths: DaemonPaths) { self.paths = paths }

    /// Names of the networks created on this node, sorted.
    public func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: paths.networksDir)) ?? []
        return entries.filter { FileManager.default.fileExists(atPath: paths.networkRecordFile($0)) }.sorted()
    }

    /// True when the network has a record on disk.
    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: paths.networkRecordFile(name))
    }

    /// The network's record from `network.json`.
    public func record(_ name: String) throws -> NetworkRecord {
        let path = paths.networkRecordFile(name)
        do {
            return try JSONDecoder.ployz.decode(NetworkRecord.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw LocalStateError("cannot read \(path): \(error)")
        }
    }

    /// The network's WireGuard key pair, from the private key file.
    public func keyPair(_ name: String) throws -> WireGuardKeyPair {
        let path = paths.privateKeyFile(name)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LocalStateError("cannot read \(path)")
        }
        guard let key = WireGuardKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)),
              let pair = try? WireGuardKeyPair(privateKey: key) else {
            throw LocalStateError("\(path) does not hold a base64 WireGuard private key")
        }
        return pair
    }

    /// Writes a new network: the key first and the record last, so a record on disk always has
    /// its key. On failure the directory is removed again.
    public func create(_ record: NetworkRecord, keyPair: WireGuardKeyPair) throws {
        let dir = paths.networkDir(record.name)
        do {
            try FileManager.default.createDirectory(atPath: paths.networksDir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw LocalStateError("cannot create \(dir): \(error.localizedDescription)")
        }
        do {
            try AtomicFile.write(keyPair.privateKey.base64 + "\n", to: paths.privateKeyFile(record.name), mode: 0o600)
            try AtomicFile.write(JSONEncoder.ployz.encode(record), to: paths.networkRecordFile(record.name), mode: 0o600)
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw LocalStateError("\(error)")
        }
    }

    /// Rewrites an existing network's record (atomically; the key is not touched).
    public func update(_ record: NetworkRecord) throws {
        guard exists(record.name) else { throw LocalStateError("network \"\(record.name)\" does not exist") }
        do {
            try AtomicFile.write(JSONEncoder.ployz.encode(record), to: paths.networkRecordFile(record.name), mode: 0o600)
        } catch {
            throw LocalStateError("cannot write \(paths.networkRecordFile(record.name)): \(error)")
        }
    }

    /// Removes a network's directory, JetStream store included, and `networks/` when it is left empty.
    public func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: paths.networkDir(name))
        rmdir(paths.networksDir)
    }

    /// The network that should be running, if any.
    public func activeName() -> String? {
        guard let text = try? String(contentsOfFile: paths.activeFile, encoding: .utf8) else { return nil }
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }

    /// Records (atomically) which network should run, or that none should.
    public func setActive(_ name: String?) throws {
        if let name {
            try FileManager.default.createDirectory(atPath: paths.dataDir, withIntermediateDirectories: true)
            try AtomicFile.write(name + "\n", to: paths.activeFile, mode: 0o644)
        } else if unlink(paths.activeFile) != 0 && errno != ENOENT {
            throw LocalStateError("cannot remove \(paths.activeFile): \(String(cString: strerror(errno)))")
        }
    }
}
