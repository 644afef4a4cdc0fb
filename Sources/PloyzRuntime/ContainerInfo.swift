import Foundation

/// A container as the engine sees it now.
public struct ContainerInfo: Sendable, Hashable {
    public var id: String
    /// Without Docker's leading "/".
    public var name: String
    public var image: String
    public var labels: [String: String]
    public var state: ContainerState
    public var health: ContainerHealth
    /// Its address on `network`, when it has one (a stopped container has none).
    public var ipv4Address: String?
    /// The network the address is on: the first one it joined.
    public var network: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int?
    /// How many times the engine's restart policy restarted it.
    public var restartCount: Int
    /// Its main process's pid on the host, while it runs.
    public var pid: Int?

    public init(id: String, name: String, image: String = "", labels: [String: String] = [:], state: ContainerState,
                health: ContainerHealth = .none, ipv4Address: String? = nil, network: String? = nil, startedAt: Date? = nil,
                finishedAt: Date? = nil, exitCode: Int? = nil, restartCount: Int = 0, pid: Int? = nil) {
        self.id = id
        self.name = name
        self.image = image
        self.labels = labels
        self.state = state
        self.health = health
        self.ipv4Address = ipv4Address
        self.network = network
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.restartCount = restartCount
        self.pid = pid
    }
}

/// A container's lifecycle state (Docker's `State.Status`).
public enum ContainerState: String, Sendable, Hashable, CaseIterable {
    case created, running, paused, restarting, removing, exited, dead
}

/// The result of the container's healthcheck; `none` when it has none.
public enum ContainerHealth: String, Sendable, Hashable, CaseIterable {
    case none, starting, healthy, unhealthy
}
