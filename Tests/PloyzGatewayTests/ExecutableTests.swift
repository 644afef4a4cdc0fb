import Foundation
import PloyzModel
import Testing

/// The `ployz-gateway` binary next to the test bundle (`swift build` builds it).
func gatewayBinary() throws -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // The bundle may be a directory (`PloyzPackageTests.xctest/...`) or a file next to the products.
    while directory.path != "/" && directory.pathExtension == "xctest" || directory.lastPathComponent == "Contents" {
        directory = directory.deletingLastPathComponent()
    }
    let path = directory.appendingPathComponent("ployz-gateway").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw TestClient.Failure(description: "\(path) is missing: run `swift build --product ployz-gateway` before the tests")
    }
    return path
}

/// A running `ployz-gateway`, killed (-9) when done.
final class GatewayProcess {
    let process = Process()
    let logPath: String

    init(arguments: [String], environment: [String: String] = [:], logPath: String) throws {
        self.logPath = logPath
        process.executableURL = URL(fileURLWithPath: try gatewayBinary())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { kill() }
}

extension GatewayTests {
    @Suite(.serialized) struct ExecutableTests {
        @Test func servesFromTheSnapshotFileAloneAndFollowsItsChanges() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withBackends(["first", "second"]) { backends in
                let snapshotPath = "\(directory)/snapshot.json"
                let port = try unusedPort()
                let configPath = "\(directory)/config.toml"
                try "gateway_listen_addr = \"127.0.0.1:1\"\ngateway_threads = 1\n".write(toFile: configPath, atomically: true, encoding: .utf8)
                try webSnapshot(backends[0]).save(to: snapshotPath)

                // No daemon anywhere: the gateway has only its snapshot file.
                let gateway = try GatewayProcess(arguments: ["--snapshot", snapshotPath, "--config", configPath, "--listen", "127.0.0.1:\(port)"],
                                                 logPath: "\(directory)/gateway.log")
                defer { gateway.kill() }
                let first = eventually(10) { (try? httpGet(port: port, host: "example.com", path: "/"))?.text.hasPrefix("backend=first") == true }
                #expect(first, "gateway log: \(gateway.log)")

                try webSnapshot(backends[1]).save(to: snapshotPath)
                let second = eventually(10) { (try? httpGet(port: port, host: "example.com", path: "/"))?.text.hasPrefix("backend=second") == true }
                #expect(second, "gateway log: \(gateway.log)")

                // A malformed or missing file changes nothing: the last good routes keep serving.
                try "{ not json".write(toFile: snapshotPath, atomically: true, encoding: .utf8)
                #expect(eventually(5) { gateway.log.contains("snapshot not loaded; serving the previous state") })
                #expect(try httpGet(port: port, host: "example.com", path: "/").text.hasPrefix("backend=second"))
                try FileManager.default.removeItem(atPath: snapshotPath)
                #expect(eventually(5) { gateway.log.contains("snapshot file is gone; serving the last loaded state") })
                #expect(try httpGet(port: port, host: "example.com", path: "/").text.hasPrefix("backend=second"))
                #expect(gateway.process.isRunning)

                // SIGTERM drains and exits 0 (the daemon's supervisor allows 5 s before SIGKILL).
                kill(gateway.process.processIdentifier, SIGTERM)
                #expect(eventually(5) { !gateway.process.isRunning }, "gateway log: \(gateway.log)")
                #expect(gateway.process.terminationStatus == 0)
                #expect(gateway.log.contains("draining"))
                #expect(throws: (any Error).self) { _ = try httpGet(port: port, host: "example.com", path: "/") }
            }
        }

        @Test func sigtermWithConnectionsOpenLeavesNoErrorLine() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withBackends(["a"]) { backends in
                let snapshotPath = "\(directory)/snapshot.json"
                try webSnapshot(backends[0]).save(to: snapshotPath)
                let port = try unusedPort()
                let gateway = try GatewayProcess(arguments: ["--snapshot", snapshotPath, "--listen", "127.0.0.1:\(port)", "--threads", "2",
                                                             "--metrics-listen", "127.0.0.1:\(try unusedPort())"],
                                                 logPath: "\(directory)/gateway.log")
                defer { gateway.kill() }
                #expect(eventually(10) { (try? httpGet(port: port, host: "example.com", path: "/")) != nil }, "gateway log: \(gateway.log)")
                // Kept connections on both sides: idle clients, and upstream connections in the pools.
                var clients: [TestClient] = []
                for _ in 0..<4 {
                    let client = try TestClient(port: port)
                    try client.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    #expect(try client.readResponse().status == 200)
                    clients.append(client)
                }
                kill(gateway.process.processIdentifier, SIGTERM)
                #expect(eventually(6) { !gateway.process.isRunning }, "gateway log: \(gateway.log)")
                #expect(gateway.process.terminationStatus == 0)
                let lines = gateway.log.split(separator: "\n")
                #expect(lines.contains { $0.contains("stopped") }, "gateway log: \(gateway.log)")
                let errors = lines.filter { $0.lowercased().contains("error") || $0.contains("Cannot schedule") || $0.contains("Fatal") }
                #expect(errors.isEmpty, "error lines after SIGTERM: \(errors)")
                for client in clients { #expect(client.isClosedByPeer()) }
            }
        }

        @Test func staticCertificateVariablesNeedEachOtherAndHTTPS() throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let binary = try gatewayBinary()
            let port = try unusedPort()
            let halfSet = Process()
            halfSet.executableURL = URL(fileURLWithPath: binary)
            halfSet.arguments = ["--snapshot", "\(directory)/none.json", "--listen", "127.0.0.1:\(port)", "--https-listen", "127.0.0.1:\(try unusedPort())"]
            halfSet.environment = ["PLOYZ_GATEWAY_TLS_CERT_PATH": "/tmp/cert.pem"]
            let pipe = Pipe()
            halfSet.standardError = pipe
            try halfSet.run()
            halfSet.waitUntilExit()
            let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(halfSet.terminationStatus == 2)
            #expect(message == "ployz-gateway: PLOYZ_GATEWAY_TLS_CERT_PATH is set but PLOYZ_GATEWAY_TLS_KEY_PATH is not: set both or neither\n")

            let noHTTPS = try runProgram("/usr/bin/env", ["PLOYZ_GATEWAY_TLS_CERT_PATH=/c.pem", "PLOYZ_GATEWAY_TLS_KEY_PATH=/k.pem", binary,
                                                          "--snapshot", "\(directory)/none.json", "--listen", "127.0.0.1:\(port)"])
            #expect(noHTTPS.status == 2)
            #expect(noHTTPS.output.contains("need gateway_https_listen_addr"))
        }
    }
}
