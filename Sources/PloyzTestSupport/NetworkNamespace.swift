import Foundation

/// A network namespace a test creates and deletes (`ip netns`), with its loopback up.
public struct NetworkNamespace: Sendable {
    public let name: String

    public var path: String { "/var/run/netns/\(name)" }

    /// Creates `name`, deleting a leftover of an earlier run first.
    public static func create(_ name: String) throws -> NetworkNamespace {
        if FileManager.default.fileExists(atPath: "/var/run/netns/\(name)") { try? Command.run(["ip", "netns", "del", name]) }
        try Command.run(["ip", "netns", "add", name])
        let namespace = NetworkNamespace(name: name)
        try namespace.ip(["link", "set", "lo", "up"])
        return namespace
    }

    /// A name no other test of this process uses, for parallel tests: `prefix` plus random hex.
    public static func uniqueName(prefix: String) -> String {
        prefix + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// `ip -n NAME ...`.
    @discardableResult
    public func ip(_ arguments: [String]) throws -> String {
        try Command.run(["ip", "-n", name] + arguments)
    }

    /// Runs a program inside the namespace (`nsenter --net`, which leaves /sys and the cgroup mounts alone).
    @discardableResult
    public func run(_ arguments: [String], timeout: Double = 30) throws -> String {
        try Command.run(["nsenter", "--net=\(path)"] + arguments, timeout: timeout)
    }

    public func delete() {
        try? Command.run(["ip", "netns", "del", name])
    }
}
