import Foundation
import PloyzModel
import Testing
@testable import PloyzGateway

/// A self-signed certificate made with the `openssl` CLI.
struct TestCertificate {
    let hostname: String
    let certificatePath: String
    let keyPath: String
    var certificatePEM: String { (try? String(contentsOfFile: certificatePath, encoding: .utf8)) ?? "" }
    var keyPEM: String { (try? String(contentsOfFile: keyPath, encoding: .utf8)) ?? "" }
    var record: CertificateRecord { CertificateRecord(hostname: hostname, certificatePEM: certificatePEM, privateKeyPEM: keyPEM) }

    static func make(hostname: String, in directory: String) throws -> TestCertificate {
        let name = hostname.replacingOccurrences(of: "*", with: "star")
        let certificate = TestCertificate(hostname: hostname, certificatePath: "\(directory)/\(name).crt", keyPath: "\(directory)/\(name).key")
        let result = try runProgram("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", certificate.keyPath, "-out", certificate.certificatePath,
            "-subj", "/CN=\(hostname)", "-addext", "subjectAltName=DNS:\(hostname)",
        ])
        guard result.status == 0 else { throw TestClient.Failure(description: "openssl req failed: \(result.output)") }
        return certificate
    }
}

/// Which certificate subject `openssl s_client` was served for `serverName`, or nil when the handshake failed.
func servedSubject(port: Int, serverName: String) throws -> String? {
    let result = try runProgram("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", serverName, "-brief"],
                                input: "", timeout: 10)
    guard result.status == 0 else { return nil }
    let line = result.output.split(separator: "\n").first { $0.contains("Peer certificate:") }
    return line.map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
}

extension GatewayTests {
    @Suite(.serialized) struct TLSTests {
        @Test func sniPicksEachHostnamesCertificateAndRefusesUnknownNames() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let one = try TestCertificate.make(hostname: "one.test", in: directory)
            let two = try TestCertificate.make(hostname: "two.test", in: directory)
            try await withBackends(["a"]) { backends in
                let snapshot = makeSnapshot([ServiceSpec(name: "web", hosts: ["one.test", "two.test"], port: backends[0].port, addresses: [backends[0].host])],
                                            certificates: [one.record, two.record])
                try await withGateway(snapshot, configuration: testConfiguration(https: true)) { server, _ in
                    let port = server.httpsAddress!.port!
                    #expect(try servedSubject(port: port, serverName: "one.test") == "CN = one.test")
                    #expect(try servedSubject(port: port, serverName: "two.test") == "CN = two.test")
                    #expect(try servedSubject(port: port, serverName: "three.test") == nil, "unknown SNI without a static certificate fails the handshake")

                    let curl = try runProgram("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", two.certificatePath,
                                                                "--resolve", "two.test:\(port):127.0.0.1", "https://two.test:\(port)/tls"])
                    #expect(curl.status == 0)
                    #expect(curl.output.contains("backend=a"))
                    #expect(curl.output.contains("xfp=https"))

                    // Certificates follow the store live.
                    let three = try TestCertificate.make(hostname: "three.test", in: directory)
                    server.update(snapshot: makeSnapshot([ServiceSpec(name: "web", hosts: ["three.test"], port: backends[0].port, addresses: [backends[0].host])],
                                                         certificates: [one.record, three.record]))
                    #expect(try servedSubject(port: port, serverName: "three.test") == "CN = three.test")
                    #expect(try servedSubject(port: port, serverName: "two.test") == nil)
                }
            }
        }

        @Test func unknownServerNameGetsTheStaticCertificateWhenConfigured() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let stored = try TestCertificate.make(hostname: "one.test", in: directory)
            let fallback = try TestCertificate.make(hostname: "fallback.test", in: directory)
            var configuration = testConfiguration(https: true)
            configuration.staticCertificate = StaticCertificatePaths(certificatePath: fallback.certificatePath, keyPath: fallback.keyPath)
            try await withGateway(makeSnapshot([], certificates: [stored.record]), configuration: configuration) { server, _ in
                let port = server.httpsAddress!.port!
                let known = try servedSubject(port: port, serverName: "one.test")
                let unknown = try servedSubject(port: port, serverName: "other.test")
                #expect(known == "CN = one.test")
                #expect(unknown == "CN = fallback.test")
            }
        }

        @Test func wildcardCertificateServesSubdomains() throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let wildcard = try TestCertificate.make(hostname: "*.example.com", in: directory)
            let exact = try TestCertificate.make(hostname: "api.example.com", in: directory)
            let set = CertificateSet(records: [wildcard.record, exact.record], fallback: nil)
            #expect(set.count == 2)
            let apiChain = try #require(set.certificate(forServerName: "API.example.com")).chain
            let exactChain = try ServingCertificate(chainPEM: exact.certificatePEM, keyPEM: exact.keyPEM).chain
            #expect(apiChain == exactChain)
            let wwwChain = try #require(set.certificate(forServerName: "www.example.com")).chain
            let wildcardChain = try ServingCertificate(chainPEM: wildcard.certificatePEM, keyPEM: wildcard.keyPEM).chain
            #expect(wwwChain == wildcardChain)
            #expect(set.certificate(forServerName: "example.org") == nil)
            #expect(set.certificate(forServerName: nil) == nil)
        }
    }
}
