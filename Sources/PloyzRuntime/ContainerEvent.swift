import Foundation

/// A change in a container's life that the reconciler reacts to.
public struct ContainerEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case start
        /// The main process ended (exit code when the engine says it).
        case die(exitCode: Int?)
        case health(ContainerHealth)
        case destroy
    }

    public var kind: Kind
    public var containerID: String
    public var name: String
    /// The container's labels (with engine attributes such as `image` removed).
    public var labels: [String: String]
    public var time: Date

    public init(kind: Kind, containerID: String, name: String, labels: [String: String], time: Date) {
        self.kind = kind
        self.containerID = containerID
        self.name = name
        self.labels = labels
        self.time = time
    }
}
