import Crypto
import Foundation

/// What to run for one sidecar. Two specs with the same hash run the same program the same way,
/// so a live process started from an equal spec is adopted instead of restarted.
public struct SidecarSpec: Sendable, Equatable {
    /// File-name-safe name: `nats-server`, `wireguard-go`.
    public var name: String
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    /// Files the program reads its configuration from; their contents are part of the hash.
    public var configFiles: [String]

    public init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], configFiles: [String] = []) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.configFiles = configFiles
    }

    /// SHA-256 (hex) over executable, arguments, environment (sorted) and the config files'
    /// contents, each length-prefixed so that no two different specs encode alike.
    public func hash(configContents: [String: Data]) -> String {
        var hasher = SHA256()
        func add(_ bytes: some DataProtocol) {
            var length = UInt64(bytes.count).bigEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Data(bytes))
        }
        add(Data(executable.utf8))
        add(Data("args:\(arguments.count)".utf8))
        arguments.forEach { add(Data($0.utf8)) }
        add(Data("env:\(environment.count)".utf8))
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            add(Data(key.utf8))
            add(Data(value.utf8))
        }
        add(Data("files:\(configFiles.count)".utf8))
        for path in configFiles {
            add(Data(path.utf8))
            add(configContents[path] ?? Data("<missing>".utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The hash with the config files read from disk now.
    public func currentHash() -> String {
        var contents: [String: Data] = [:]
        for path in configFiles { contents[path] = FileManager.default.contents(atPath: path) }
        return hash(configContents: contents)
    }
}
