import Foundation

/// What the daemon's reconciler needs from a container engine: images, one bridge network per
/// Ployz network, containers and their state, events and logs. Engine-neutral: no Docker type
/// appears here, so another engine (containerd, Podman) is one more conformance.
///
/// Every call is bounded in time; every failure is a `RuntimeError`.
public protocol ContainerRuntime: Sendable {
    /// Succeeds when the engine answers.
    func ping() async throws

    /// Creates the network when missing; accepts an existing one with the same subnet.
    func ensureNetwork(_ spec: NetworkSpec) async throws
    /// Removes the network; succeeds when it is already gone.
    func removeNetwork(name: String) async throws

    func imageExists(_ reference: String) async throws -> Bool
    /// Pulls from the image's registry; `progress` receives one human-readable line per update.
    func pullImage(_ reference: String, progress: @escaping @Sendable (String) -> Void) async throws
    /// Loads a root filesystem tarball as an image named `reference` (`repo:tag`).
    func importImage(tarPath: String, reference: String) async throws

    /// Creates (does not start) a container; returns its id.
    func createContainer(_ spec: ContainerCreateSpec) async throws -> String
    /// Starts it; succeeds when it already runs.
    func startContainer(id: String) async throws
    /// SIGTERM, then SIGKILL after `grace` seconds; succeeds when it is already stopped.
    func stopContainer(id: String, grace: Double) async throws
    /// Sends a signal (e.g. "SIGKILL") to the container's main process.
    func killContainer(id: String, signal: String) async throws
    /// Removes it (`force` stops it first); succeeds when it is already gone.
    func removeContainer(id: String, force: Bool) async throws
    /// The container's state, or nil when there is no such container.
    func inspectContainer(id: String) async throws -> ContainerInfo?
    /// Containers in every state that carry all of `labels`.
    func listContainers(labels: [String: String]) async throws -> [ContainerInfo]

    /// Container lifecycle events (start, die, health changes, destroy) of containers that carry
    /// all of `labels`: those since `since` (nil: from now on), then new ones as they happen, until
    /// the stream is dropped or the engine goes away. A reconnect passes the last event's time.
    func events(labels: [String: String], since: Date?) -> AsyncThrowingStream<ContainerEvent, Error>
    /// The container's output, line by line, stdout and stderr apart; `tail` lines of the past
    /// (nil: all), only lines after `since`, and with `follow` new lines as they come.
    func logs(id: String, tail: Int?, since: Date?, follow: Bool) -> AsyncThrowingStream<LogLine, Error>
}

extension ContainerRuntime {
    /// Events from now on.
    public func events(labels: [String: String]) -> AsyncThrowingStream<ContainerEvent, Error> {
        events(labels: labels, since: nil)
    }
}
