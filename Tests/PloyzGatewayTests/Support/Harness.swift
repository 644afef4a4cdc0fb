import Foundation
import Logging
import NIOCore
import NIOPosix
@testable import PloyzGateway
import PloyzModel
import PloyzTestSupport

/// A service with one route and its instances, for building snapshots.
struct ServiceSpec {
    var name: String
    var hosts: [String]
    var prefix = "/"
    var port: Int
    var addresses: [String]
    var ready = true
}

func makeSnapshot(_ specs: [ServiceSpec], certificates: [CertificateRecord] = []) -> ClusterSnapshot {
    var snapshot = ClusterSnapshot()
    for spec in specs {
        let key = "default.\(spec.name)"
        var service = snapshot.services[key] ?? ServiceRecord(name: spec.name)
        service.routes.append(HTTPRoute(hostnames: spec.hosts, pathPrefix: spec.prefix, port: spec.port))
        snapshot.services[key] = service
        for (index, address) in spec.addresses.enumerated() {
            let id = "\(spec.name)-\(index)"
            snapshot.instances[id] = InstanceRecord(id: id, service: spec.name, machine: "m1", address: address, ready: spec.ready)
        }
    }
    for certificate in certificates {
        snapshot.certificates[StoreKeys.certificate(hostname: certificate.hostname)] = certificate
    }
    return snapshot
}

/// Short timeouts so tests about them finish quickly; the defaults for everything else.
func testConfiguration(https: Bool = false) -> GatewayConfiguration {
    var configuration = GatewayConfiguration(httpListen: ListenAddress(host: "127.0.0.1", port: 0),
                                             httpsListen: https ? ListenAddress(host: "127.0.0.1", port: 0) : nil,
                                             metricsListen: ListenAddress(host: "127.0.0.1", port: 0), threads: 2)
    configuration.timeouts.connect = .seconds(2)
    configuration.maxRequestHeaderBytes = 16 * 1024
    return configuration
}

/// Starts a gateway on free ports, runs `body`, and always shuts it down.
func withGateway(_ snapshot: ClusterSnapshot, configuration: GatewayConfiguration = testConfiguration(),
                 _ body: (GatewayServer, Int) async throws -> Void) async throws {
    var logger = Logger(label: "gateway-test")
    logger.logLevel = .error
    let server = try GatewayServer(configuration: configuration, logger: logger)
    server.update(snapshot: snapshot)
    try await server.start()
    do {
        try await body(server, server.httpAddress!.port!)
    } catch {
        try? await server.shutdown()
        throw error
    }
    try await server.shutdown()
}

/// Starts backends named `names` on 127.0.0.2, 127.0.0.3, ... all with the same port (a route has one port).
func startBackends(_ names: [String]) async throws -> [TestBackend] {
    var backends: [TestBackend] = []
    var port = 0
    for (index, name) in names.enumerated() {
        let backend = try await TestBackend.start(name: name, host: "127.0.0.\(index + 2)", port: port, group: MultiThreadedEventLoopGroup.singleton)
        port = backend.port
        backends.append(backend)
    }
    return backends
}

/// Runs `body` with backends from `startBackends`, stopping them however it ends.
func withBackends(_ names: [String], _ body: ([TestBackend]) async throws -> Void) async throws {
    let backends = try await startBackends(names)
    do {
        try await body(backends)
    } catch {
        for backend in backends { await backend.stop() }
        throw error
    }
    for backend in backends { await backend.stop() }
}

/// `example.com/` routed to one backend.
func webSnapshot(_ backend: TestBackend) -> ClusterSnapshot {
    makeSnapshot([ServiceSpec(name: "web", hosts: ["example.com"], port: backend.port, addresses: [backend.host])])
}

/// A free loopback TCP port (nothing listens on it until a test binds it), never handed out twice.
func unusedPort() throws -> Int { try FreePorts.next() }

/// Polls `condition` every 50 ms for up to `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

/// Runs a program to completion with a time limit; returns its exit status and combined output.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], input: String? = nil, timeout: Double = 20) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try? inputPipe.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    var output = Data()
    let reader = pipe.fileHandleForReading
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
    }
    output = reader.readDataToEndOfFile()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "ployz-gateway-test-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
