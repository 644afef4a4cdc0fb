import Foundation
import Logging
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

        @Test func http2NegotiatedByALPNProxiesRequestsAndStreamsBodies() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let certificate = try TestCertificate.make(hostname: "h2.test", in: directory)
            try await withBackends(["a"]) { backends in
                let snapshot = makeSnapshot([ServiceSpec(name: "web", hosts: ["h2.test"], port: backends[0].port, addresses: [backends[0].host])],
                                            certificates: [certificate.record])
                try await withGateway(snapshot, configuration: testConfiguration(https: true)) { server, _ in
                    let port = server.httpsAddress!.port!
                    func curl(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
                        try runProgram("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", certificate.certificatePath,
                                                         "--resolve", "h2.test:\(port):127.0.0.1"] + arguments, input: input)
                    }
                    let url = "https://h2.test:\(port)"
                    let get = try curl(["--http2", "-w", "\n%{http_version}", "\(url)/hello"])
                    #expect(get.status == 0)
                    #expect(get.output.contains("backend=a method=GET path=/hello host=h2.test:\(port)"), "\(get.output)")
                    #expect(get.output.contains("xfp=https"))
                    #expect(get.output.hasSuffix("\n2"), "HTTP/2 was negotiated: \(get.output)")

                    // A body with a length, and one without (sent on as chunks), both reach the backend whole.
                    let post = try curl(["--http2", "--data-binary", "hello world", "\(url)/upload"])
                    #expect(post.output == "bytes=11 sum=\(Array("hello world".utf8).reduce(UInt32(0)) { $0 &+ UInt32($1) })", "\(post.output)")
                    let streamed = try curl(["--http2", "-T", "-", "\(url)/upload"], input: "streamed body")
                    #expect(streamed.output.hasPrefix("bytes=13 "), "\(streamed.output)")
                    // A response without a length (chunked by the gateway for HTTP/1.1) arrives as DATA frames.
                    let echo = try curl(["--http2", "--data-binary", "echo me", "\(url)/echo"])
                    #expect(echo.output == "echo me")

                    // 1 MiB download, byte for byte.
                    let file = "\(directory)/download"
                    let download = try curl(["--http2", "-o", file, "\(url)/download/1048576"])
                    #expect(download.status == 0)
                    #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file))) == patternBytes(1 << 20))

                    // HEAD ends without a body; no route is a 404 on its stream.
                    let head = try curl(["--http2", "-I", "\(url)/hello"])
                    #expect(head.status == 0 && head.output.hasPrefix("HTTP/2 200"), "\(head.output)")
                    let missing = try curl(["--http2", "-H", "Host: other.test", "-w", "%{http_code}", "-o", "/dev/null", "\(url)/"])
                    #expect(missing.output == "404")

                    // Clients without h2 still get HTTP/1.1.
                    let http1 = try curl(["--http1.1", "-w", "\n%{http_version}", "\(url)/hello"])
                    #expect(http1.output.hasSuffix("\n1.1") && http1.output.contains("backend=a"), "\(http1.output)")
                }
            }
        }

        @Test func drainLetsAnHTTP2StreamInFlightFinish() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let certificate = try TestCertificate.make(hostname: "h2.test", in: directory)
            let slow = try await RawBackend.scripted(answer: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow", after: .milliseconds(800))
            defer { Task { await slow.stop() } }
            var logger = Logger(label: "gateway-test")
            logger.logLevel = .error
            let server = try GatewayServer(configuration: testConfiguration(https: true), logger: logger)
            server.update(snapshot: makeSnapshot([ServiceSpec(name: "slow", hosts: ["h2.test"], port: slow.port, addresses: ["127.0.0.1"])],
                                                 certificates: [certificate.record]))
            try await server.start()
            let port = server.httpsAddress!.port!

            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-sS", "--http2", "--max-time", "10", "--cacert", certificate.certificatePath,
                              "--resolve", "h2.test:\(port):127.0.0.1", "-w", "\n%{http_version}", "https://h2.test:\(port)/"]
            let output = Pipe()
            curl.standardOutput = output
            curl.standardError = output
            try curl.run()
            usleep(400_000) // the stream is open and waits on the backend
            await server.drain(gracePeriod: .seconds(10))
            curl.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(curl.terminationStatus == 0, "\(text)")
            #expect(text == "slow\n2", "the stream finished over HTTP/2 before the connection closed")
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
