import Foundation
import Testing
import PloyzModel
@testable import PloyzDaemon
#if canImport(Glibc)
import Glibc
#endif

/// The STUN client against a real coturn (`turnserver`, Debian package coturn) in a namespace.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/turnserver"),
                             "needs root and coturn"))
struct ClusterSTUNTests {
    @Test func bindingRequestReturnsTheAddressTheServerSees() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        let address = "198.51.100.7"
        runCommand("/usr/sbin/ip", ["-n", node.namespace, "address", "add", "\(address)/32", "dev", "lo"])
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        server.arguments = ["netns", "exec", node.namespace, "/usr/bin/turnserver", "-n", "--stun-only", "--no-cli", "--no-tls", "--no-dtls",
                            "-L", address, "-p", "3478", "--log-file", "stdout", "--simple-log"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGTERM)
            if !waitUntil(.seconds(3), { !server.isRunning }) { kill(server.processIdentifier, SIGKILL) }
            server.waitUntilExit()
        }
        let mapped = try node.inNamespace { () -> (address: String, port: Int)? in
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if let answer = try? STUNClient.mappedAddress(host: address, timeout: .milliseconds(300), attempts: 1) { return answer }
            }
            return nil
        }
        let answer = try #require(mapped, "turnserver never answered a Binding request")
        #expect(answer.address == address)
        #expect(answer.port > 0)

        let silent = try node.inNamespace { () -> String in
            do { _ = try STUNClient.mappedAddress(host: address, port: 3479, timeout: .milliseconds(200), attempts: 2); return "answered" } catch {
                return "\(error)"
            }
        }
        #expect(silent.contains("STUN \(address):3479"), "\(silent)")
    }
}
