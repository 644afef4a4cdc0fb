import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import PloyzGateway

extension GatewayTests {
    /// RFC 9110/9112 strictness on what reaches a backend: through a running gateway, on the wire.
    @Suite(.serialized) struct StrictnessTests {
        /// Sends `request` on a fresh connection; expects `status`, the connection closed, and nothing at the backend.
        private func expectRefused(_ request: String, status: Int = 400, port: Int, backend: TestBackend,
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
            let before = backend.observed.requests
            let client = try TestClient(port: port)
            try client.send(request)
            let response = try client.readResponse()
            #expect(response.status == status, "\(request.prefix(200).debugDescription): \(response.text)", sourceLocation: sourceLocation)
            let shown = request.count > 200 ? "\(request.prefix(200).debugDescription)..." : request.debugDescription
            #expect(client.isClosedOrReset(), "\(shown): the connection stays open", sourceLocation: sourceLocation)
            #expect(backend.observed.requests == before, "\(shown) reached the backend", sourceLocation: sourceLocation)
        }

        @Test func transferEncodingOtherThanAFinalChunkedIsRefusedAndTheConnectionClosed() async throws {
            try await withBackends(["a"]) { backends in
                try await withGateway(webSnapshot(backends[0])) { _, port in
                    for codings in ["xchunked", "chunked, gzip", "gzip", "chunked, chunked", "identity", "chunked\r\nTransfer-Encoding: gzip"] {
                        try expectRefused("POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: \(codings)\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                                          port: port, backend: backends[0])
                    }
                    try expectRefused("POST /upload HTTP/1.0\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                                      port: port, backend: backends[0])
                    // A final chunked after other codings is forwarded with them, chunked again.
                    let client = try TestClient(port: port)
                    try client.send("POST /headers HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.text.contains("transfer-encoding: gzip, chunked"))
                }
            }
        }

        @Test func hostMustBeOneFieldAndAgreeWithAnAbsoluteTarget() async throws {
            try await withBackends(["a"]) { backends in
                try await withGateway(webSnapshot(backends[0])) { _, port in
                    let backend = backends[0]
                    try expectRefused("GET / HTTP/1.1\r\nHost: example.com\r\nHost: other.example.com\r\n\r\n", port: port, backend: backend)
                    try expectRefused("GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\n\r\n", port: port, backend: backend)
                    try expectRefused("GET / HTTP/1.1\r\nUser-Agent: no-host\r\n\r\n", port: port, backend: backend)
                    try expectRefused("GET / HTTP/1.1\r\nHost: example.com evil.example.com\r\n\r\n", port: port, backend: backend)
                    try expectRefused("GET http://other.example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", port: port, backend: backend)
                    try expectRefused("GET http://user@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", port: port, backend: backend)
                    try expectRefused("GET example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", port: port, backend: backend)

                    // An absolute-form target that agrees is routed by its authority and sent up in origin form.
                    let client = try TestClient(port: port)
                    try client.send("GET HTTP://Example.COM/headers?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.text.hasPrefix("/headers?x=1\n"))
                    #expect(response.text.contains("x-forwarded-host: Example.COM"))
                }
            }
        }

        @Test func ambiguousFramingAndMalformedFieldsAreRefused() async throws {
            try await withBackends(["a"]) { backends in
                try await withGateway(webSnapshot(backends[0])) { _, port in
                    let backend = backends[0]
                    let post = "POST /upload HTTP/1.1\r\nHost: example.com\r\n"
                    let refused = [
                        post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                        post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                        post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
                        post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                        post + "Content-Length: 5, 5\r\n\r\nhello",
                        post + "Content-Length: five\r\n\r\nhello",
                        post + "Content-Length: -5\r\n\r\nhello",
                        post + "Content-Length: +5\r\n\r\nhello",
                        // obs-fold (RFC 9112 §5.2), whitespace before the colon (§5.1), control bytes in values.
                        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Folded: a\r\n b\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Folded: a\r\n\tb\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost : example.com\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Space\t: a\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Nul: a\u{0}b\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Cr: a\rb\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Lf: a\nb\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: example.com\r\n\u{0}X: a\r\n\r\n",
                        "GET /a b HTTP/1.1\r\nHost: example.com\r\n\r\n",
                    ]
                    for request in refused { try expectRefused(request, port: port, backend: backend) }
                    // Over-long request lines: 414 for a target over 8 KiB, 431 when the head passes the header limit.
                    let longTarget = "/" + String(repeating: "a", count: 9 * 1024)
                    try expectRefused("GET \(longTarget) HTTP/1.1\r\nHost: example.com\r\n\r\n", status: 414, port: port, backend: backend)
                    let hugeTarget = "/" + String(repeating: "a", count: 40 * 1024)
                    try expectRefused("GET \(hugeTarget) HTTP/1.1\r\nHost: example.com\r\n\r\n", status: 431, port: port, backend: backend)
                    #expect(try httpGet(port: port, host: "example.com", path: "/after").status == 200)
                }
            }
        }

        @Test func hopByHopFieldsNeverReachTheBackendAndForwardingFieldsAreReplaced() async throws {
            try await withBackends(["a"]) { backends in
                try await withGateway(webSnapshot(backends[0])) { _, port in
                    let client = try TestClient(port: port)
                    try client.send("GET /headers HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Secret, Upgrade\r\nX-Secret: 1\r\n"
                        + "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nHTTP2-Settings: AAA\r\nTrailer: X-Sum\r\n"
                        + "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nProxy-Whatever: 1\r\n"
                        + "X-Forwarded-For: 192.0.2.66\r\nX-Forwarded-For: 192.0.2.67\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n"
                        + "x-forwarded-port: 8443\r\nForwarded: for=192.0.2.66\r\nX-Kept: yes\r\n\r\n")
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    let seen = response.text.split(separator: "\n").dropFirst().map { String($0) }
                    let names = Set(seen.map { String($0.prefix { $0 != ":" }) })
                    for name in ["connection", "x-secret", "keep-alive", "te", "upgrade", "trailer", "proxy-authorization", "proxy-connection",
                                 "proxy-whatever", "x-forwarded-port", "forwarded"] {
                        #expect(!names.contains(name), "\(name) reached the backend: \(seen)")
                    }
                    #expect(seen.contains("x-kept: yes") && seen.contains("http2-settings: AAA"))
                    #expect(seen.filter { $0.hasPrefix("x-forwarded-") }.sorted()
                        == ["x-forwarded-for: 127.0.0.1", "x-forwarded-host: example.com", "x-forwarded-proto: http"])

                    // The upgrade was not made, and NIO's decoder reads nothing after a request that asked
                    // for one: the connection closes after the response.
                    #expect(response.header("connection") == "close")
                    #expect(client.isClosedByPeer())
                }
            }
        }

        // MARK: The rules without sockets

        private func upstream(_ target: String, version: HTTPVersion = .http1_1, _ fields: [(String, String)]) throws(RequestRefusal) -> UpstreamRequestHead {
            let method: HTTPMethod = fields.contains { $0.0.lowercased() == "transfer-encoding" || $0.0.lowercased() == "content-length" } ? .POST : .GET
            let head = HTTPRequestHead(version: version, method: method, uri: target, headers: HTTPHeaders(fields))
            return try UpstreamRequestHead(head, forwardingLines: UpstreamRequestHead.forwardingLines(clientAddress: "192.0.2.1", scheme: "http"))
        }

        private func refusal(target: String = "/", version: HTTPVersion = .http1_1, _ fields: [(String, String)]) -> RequestRefusal? {
            do throws(RequestRefusal) {
                _ = try upstream(target, version: version, fields)
                return nil
            } catch {
                return error
            }
        }

        @Test func requestHeadRulesWithoutSockets() throws {
            let host = ("Host", "example.com")
            #expect(refusal([host, ("Transfer-Encoding", "xchunked")])?.description.contains("chunked must be the final coding") == true)
            #expect(refusal([host, ("Transfer-Encoding", "chunked"), ("Content-Length", "3")]) == RequestRefusal("Content-Length beside Transfer-Encoding"))
            #expect(refusal([host, ("Content-Length", "3"), ("content-length", "3")]) == RequestRefusal("more than one Content-Length field"))
            #expect(refusal([host, ("Content-Length", "3 ")]) != nil)
            #expect(refusal([host, host]) == RequestRefusal("more than one Host field"))
            #expect(refusal([]) == RequestRefusal("HTTP/1.1 request without a Host field"))
            #expect(refusal(version: .http1_0, []) == nil)
            #expect(refusal(target: "https://a.example.com:8443", [("Host", "a.example.com")]) != nil)
            #expect(refusal(target: "/" + String(repeating: "x", count: 8192), [host])?.status == .uriTooLong)
            // HTTP/2 values come from HPACK, not llhttp.
            let http2 = HTTPVersion(major: 2, minor: 0)
            #expect(refusal(version: http2, [host, ("x-a", "1\u{0}2")]) != nil)
            #expect(refusal(version: http2, [host, ("x-a", "1\r\nx-b: 2")]) != nil)
            #expect(refusal(version: http2, [host, ("x-a", "1")]) == nil)

            let absolute = try upstream("https://A.example.com:8443?q", [("Host", "a.example.com:8443")])
            #expect(absolute.target == "/?q" && absolute.host == "A.example.com:8443")
            #expect(String(buffer: absolute.bytes).hasPrefix("GET /?q HTTP/1.1\r\nHost: a.example.com:8443\r\n"))

            let plain = try upstream("/p", [host, ("Accept", "*/*"), ("X-Forwarded-For", "10.0.0.1"), ("Connection", "keep-alive, X-Drop"), ("X-Drop", "1")])
            #expect(String(buffer: plain.bytes) == "GET /p HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n"
                + "x-forwarded-for: 192.0.2.1\r\nx-forwarded-proto: http\r\nx-forwarded-host: example.com\r\n\r\n")

            let webSocket = try upstream("/ws", [host, ("Connection", "Upgrade"), ("Upgrade", "WebSocket")])
            #expect(webSocket.isUpgrade)
            #expect(String(buffer: webSocket.bytes).contains("connection: upgrade\r\nupgrade: websocket\r\n"))
            #expect(try !upstream("/", [host, ("Connection", "Upgrade"), ("Upgrade", "h2c")]).isUpgrade)

            let chunked = try upstream("/up", [host, ("Transfer-Encoding", "gzip,  CHUNKED")])
            #expect(chunked.chunkedBody)
            #expect(String(buffer: chunked.bytes).contains("transfer-encoding: gzip, chunked\r\n"))
        }
    }
}

extension TestClient {
    /// True when the peer closed the connection, or reset it (it closed with bytes of ours unread).
    func isClosedOrReset() -> Bool {
        var byte: UInt8 = 0
        let received = recv(fd, &byte, 1, 0)
        return received == 0 || (received < 0 && errno == ECONNRESET)
    }
}
