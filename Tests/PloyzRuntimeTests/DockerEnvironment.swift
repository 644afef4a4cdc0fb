import Foundation
import PloyzRuntime
import PloyzTestSupport
import Testing

/// What the Docker suite shares, set up once (a dockerd takes seconds to start): a namespace
/// holding the node's bridge `ployz0` as the daemon makes it (`.1/24` and `.2/32`), a private
/// dockerd in it, an engine on its socket, the busybox test image, and the Docker network that
/// adopts `ployz0`.
struct DockerEnvironment: Sendable {
    static let subnet = "10.101.5.0/24"
    static let gateway = "10.101.5.1"
    static let dnsAddress = "10.101.5.2"
    static let networkName = "ployz-test"
    static let image = BusyboxImage.reference

    @TaskLocal static var current: DockerEnvironment?

    let namespace: NetworkNamespace
    let daemon: DockerDaemonFixture
    let engine: DockerEngine

    static var network: NetworkSpec {
        NetworkSpec(name: networkName, subnet: subnet, gateway: gateway, reservedAddresses: ["dns": dnsAddress], mtu: 1420,
                    bridgeName: "ployz0", labels: ["ployz.network": "test"])
    }

    /// The suite's environment; fails the test when the suite trait did not set one up.
    static func get() throws -> DockerEnvironment {
        try #require(current, "the suite needs the .dockerEnvironment trait")
    }

    static func setUp() async throws -> DockerEnvironment {
        let namespace = try NetworkNamespace.create(NetworkNamespace.uniqueName(prefix: "pdrt-"))
        let daemon: DockerDaemonFixture
        do {
            try makeNodeBridge(in: namespace, name: "ployz0", subnet: subnet)
            daemon = try DockerDaemonFixture.start(namespace: namespace.name)
        } catch {
            namespace.delete()
            throw error
        }
        let environment = DockerEnvironment(namespace: namespace, daemon: daemon, engine: DockerEngine(socketPath: daemon.socketPath))
        do {
            let tar = daemon.root + "/image.tar"
            try BusyboxImage.makeRootfsTar(at: tar)
            try await environment.engine.importImage(tarPath: tar, reference: image)
            try await environment.engine.ensureNetwork(network)
            return environment
        } catch {
            await environment.tearDown()
            throw error
        }
    }

    func tearDown() async {
        try? await engine.shutdown()
        daemon.stop()
        namespace.delete()
    }

    /// The bridge as `ployzd` makes it: the node's `.1/prefix` and the DNS's `.2/32`.
    static func makeNodeBridge(in namespace: NetworkNamespace, name: String, subnet: String) throws {
        let base = subnet.split(separator: "/")[0].split(separator: ".").prefix(3).joined(separator: ".")
        let prefix = subnet.split(separator: "/")[1]
        try namespace.ip(["link", "add", name, "type", "bridge"])
        try namespace.ip(["addr", "add", "\(base).1/\(prefix)", "dev", name])
        try namespace.ip(["addr", "add", "\(base).2/32", "dev", name])
        try namespace.ip(["link", "set", name, "up"])
    }

    /// Labels unique to one test, so its listings and events see only its own containers.
    static func testLabels() -> [String: String] {
        ["ployz.test": UUID().uuidString.prefix(8).lowercased()]
    }

    /// Polls `inspect` until `condition` holds (at most `seconds`); returns the last state seen.
    func waitFor(_ id: String, seconds: Double = 30, _ condition: (ContainerInfo?) -> Bool) async throws -> ContainerInfo? {
        let deadline = Date().addingTimeInterval(seconds)
        var info = try await engine.inspectContainer(id: id)
        while !condition(info) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            info = try await engine.inspectContainer(id: id)
        }
        return info
    }
}

/// Sets up one `DockerEnvironment` around the whole suite and tears it down after, failed or not.
struct DockerEnvironmentTrait: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let environment = try await DockerEnvironment.setUp()
        do {
            try await DockerEnvironment.$current.withValue(environment) { try await function() }
        } catch {
            await environment.tearDown()
            throw error
        }
        await environment.tearDown()
    }
}

extension Trait where Self == DockerEnvironmentTrait {
    static var dockerEnvironment: Self { DockerEnvironmentTrait() }
}

/// Runs `body`, failing when it takes longer than `seconds`.
func withTimeout<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        let first = try await group.next()
        group.cancelAll()
        guard let result = first ?? nil else { throw TimedOut(description: "\(what): no result within \(seconds) s") }
        return result
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let description: String
}
