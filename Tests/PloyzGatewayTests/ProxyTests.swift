import Foundation
import Logging
import PloyzModel
import Testing
@testable import PloyzGateway

extension GatewayTests {
    @Suite(.serialized) struct ProxyTests {
        @Test func proxiesGetAndPostOverKeepAliveWithRoundRobinAndForwardingHeaders() async throws {
            try await withBackends(["a", "b"]) { backends in
                let snapshot = makeSnapshot([ServiceSpec(name: "web", hosts: ["example.com"], port: backends[0].port, addresses: backends.map(\.host))])
                try await withGateway(snapshot) { _, port in
                    let client = try TestClient(port: port)
                    var seen: [String] = []
                    for _ in 0..<4 {
                        try client.send("GET /hello?x=1 HTTP/1.1\r\nHost: Example.com:\(port)\r\nX-Forwarded-For: 192.0.2.7\r\n\r\n")
                        let response = try client.readResponse()
                        #expect(response.status == 200)
                        #expect(response.text.contains("path=/hello?x=1"))
                        #expect(response.text.contains("host=Example.com:\(port)"))
                        #expect(response.text.contains("xff=127.0.0.1 "), "the client's X-Forwarded-For is replaced, not trusted")
                        #expect(response.text.contains("xfp=http"))
                        #expect(response.text.contains("xfh=Example.com:\(port)"))
                        seen.append(String(response.text.split(separator: " ")[0]))
                    }
                    #expect(Set(seen) == ["backend=a", "backend=b"])
                    #expect(seen[0] != seen[1] && seen[1] != seen[2])

                    try client.send("POST /submit HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\nKeep-Alive: timeout=5\r\n\r\nhello world")
                    let post = try client.readResponse()
                    #expect(post.text.contains("method=POST"))
                    #expect(post.text.contains("body=11"))
                    #expect(post.text.hasSuffix("connection="), "hop-by-hop headers are not forwarded")

                    try client.send("POST /chunked HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
                    let chunked = try client.readResponse()
                    #expect(chunked.text.contains("body=11"))
                    #expect(chunked.text.contains("te=chunked"))

                // Expect: 100-continue: the backend's 100 reaches the client before it sends the body.
                try client.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
                #expect(try client.readResponse().status == 100)
                try client.send("hello")
                #expect(try client.readResponse().text.hasPrefix("bytes=5 "))

                // HEAD: the length is announced, no body follows, the connection stays in step.
                try client.send("HEAD /head HTTP/1.1\r\nHost: example.com\r\n\r\n")
                let head = try client.readResponse(headRequest: true)
                #expect(head.status == 200)
                #expect(head.header("content-length") != nil)

                // HTTP/1.0 without keep-alive: answered, then closed.
                let old = try TestClient(port: port)
                try old.send("GET /old HTTP/1.0\r\nHost: example.com\r\n\r\n")
                let oldResponse = try old.readResponse()
                #expect(oldResponse.text.contains("path=/old"))
                #expect(old.isClosedByPeer())

                // Pipelined requests are answered in order.
                try client.send("GET /one HTTP/1.1\r\nHost: example.com\r\n\r\nPOST /two HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: example.com\r\n\r\n")
                #expect(try client.readResponse().text.contains("path=/one"))
                #expect(try client.readResponse().text.contains("path=/two"))
                #expect(try client.readResponse().text.contains("path=/three"))
                }
            }
        }

        @Test func liveRouteChangeAppliesToTheNextRequestOnAnOpenConnection() async throws {
            try await withBackends(["old", "new"]) { backends in
                let before = webSnapshot(backends[0])
                let after = makeSnapshot([
                    ServiceSpec(name: "web", hosts: ["example.com"], port: backends[0].port, addresses: [backends[1].host]),
                    ServiceSpec(name: "added", hosts: ["added.example.com"], port: backends[0].port, addresses: [backends[0].host]),
                ])
                try await withGateway(before) { server, port in
                    let client = try TestClient(port: port)
                    try client.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    #expect(try client.readResponse().text.hasPrefix("backend=old"))
                    #expect(try httpGet(port: port, host: "added.example.com", path: "/").status == 404)

                    server.update(snapshot: after)

                    try client.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    #expect(try client.readResponse().text.hasPrefix("backend=new"))
                    try client.send("GET / HTTP/1.1\r\nHost: added.example.com\r\n\r\n")
                    #expect(try client.readResponse().text.hasPrefix("backend=old"))
                }
            }
        }

        @Test func answersNoRouteNoBackendAndFailedUpstreamWithTheirStatus() async throws {
            let deadPort = try unusedPort()
            let snapshot = makeSnapshot([
                ServiceSpec(name: "down", hosts: ["down.example.com"], port: 80, addresses: ["127.0.0.1"], ready: false),
                ServiceSpec(name: "dead", hosts: ["dead.example.com"], port: deadPort, addresses: ["127.0.0.1"]),
            ])
            try await withGateway(snapshot) { _, port in
                let notFound = try httpGet(port: port, host: "nothing.example.com", path: "/x")
                #expect(notFound.status == 404)
                #expect(notFound.text == "ployz-gateway: no route for host nothing.example.com path /x\n")
                let unavailable = try httpGet(port: port, host: "down.example.com", path: "/")
                #expect(unavailable.status == 503)
                #expect(unavailable.text.contains("no ready backend for default.down"))
                let badGateway = try httpGet(port: port, host: "dead.example.com", path: "/")
                #expect(badGateway.status == 502)
                #expect(badGateway.text.contains("upstream 127.0.0.1:\(deadPort) for default.dead failed"))

                // A 404 keeps the connection usable.
                let client = try TestClient(port: port)
                try client.send("GET /a HTTP/1.1\r\nHost: none\r\n\r\nGET /b HTTP/1.1\r\nHost: none\r\n\r\n")
                #expect(try client.readResponse().status == 404)
                #expect(try client.readResponse().text.contains("path /b"))
            }
        }

        @Test func backendHeadsAreCopiedWithoutHopByHopHeadersAndBrokenOnesAre502() async throws {
            let answers = [
                "HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 6\r\n\r\n",
                "ICY 200 OK\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
            ]
            var backends: [RawBackend] = []
            for answer in answers { backends.append(try await RawBackend.scripted(answer: answer)) }
            let snapshot = makeSnapshot(backends.enumerated().map { index, backend in
                ServiceSpec(name: "s\(index)", hosts: ["s\(index).example.com"], port: backend.port, addresses: ["127.0.0.1"])
            })
            do {
                try await withGateway(snapshot) { _, port in
                    let client = try TestClient(port: port)
                    try client.send("GET / HTTP/1.1\r\nHost: s0.example.com\r\n\r\n")
                    let copied = try client.readResponse()
                    #expect(copied.status == 200 && copied.text == "ok")
                    #expect(copied.header("x-kept") == "yes")
                    #expect(copied.header("x-secret") == nil && copied.header("keep-alive") == nil && copied.header("connection") == nil)

                    // Transfer-Encoding wins over Content-Length; the client gets a chunked body with the trailer.
                    try client.send("GET / HTTP/1.1\r\nHost: s1.example.com\r\n\r\n")
                    try client.send("GET / HTTP/1.1\r\nHost: s0.example.com\r\n\r\n")
                    let chunked = try client.readResponse()
                    #expect(chunked.text == "abc" && chunked.header("content-length") == nil && chunked.header("transfer-encoding") == "chunked")
                    #expect(try client.readResponse().text == "ok", "the connection stays in step after the trailers")

                    let garbage = try httpGet(port: port, host: "s2.example.com", path: "/")
                    #expect(garbage.status == 502)
                    #expect(garbage.text.contains("malformed status line"))
                    let conflicting = try httpGet(port: port, host: "s3.example.com", path: "/")
                    #expect(conflicting.status == 502)
                    #expect(conflicting.text.contains("two different Content-Length"))
                }
            } catch {
                for backend in backends { await backend.stop() }
                throw error
            }
            for backend in backends { await backend.stop() }
        }

        @Test func rejectsMalformedAndOversizedRequests() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                try await withGateway(snapshot) { _, port in
                    let badLine = try TestClient(port: port)
                    try badLine.send("THIS IS NOT HTTP\r\n\r\n")
                    let badLineResponse = try badLine.readResponse()
                    #expect(badLineResponse.status == 400)
                    #expect(badLineResponse.text.hasPrefix("ployz-gateway: malformed request"))

                    let badHeader = try TestClient(port: port)
                    try badHeader.send("GET / HTTP/1.1\r\nHost: example.com\r\nBad Header: x\r\n\r\n")
                    #expect(try badHeader.readResponse().status == 400)

                    let huge = try TestClient(port: port)
                    try huge.send("GET / HTTP/1.1\r\nHost: example.com\r\nX-Big: \(String(repeating: "a", count: 40_000))\r\n\r\n")
                    let hugeResponse = try huge.readResponse()
                    #expect(hugeResponse.status == 431)
                    #expect(hugeResponse.text.contains("request headers larger than"))

                    // A body longer than its Content-Length: the extra bytes are a malformed next request.
                    let overlong = try TestClient(port: port)
                    try overlong.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhelloEXTRA-BYTES\r\n\r\n")
                    let first = try overlong.readResponse()
                    #expect(first.status == 200)
                    #expect(first.text == "bytes=5 sum=\(Array("hello".utf8).reduce(UInt32(0)) { $0 &+ UInt32($1) })")
                    #expect(try overlong.readResponse().status == 400)
                    #expect(overlong.isClosedByPeer())

                    // Still serving everyone else.
                    #expect(try httpGet(port: port, host: "example.com", path: "/").status == 200)
                }
            }
        }

        @Test func idempotentRequestsAreRetriedOnAnotherBackendWhenConnectFails() async throws {
            try await withBackends(["alive"]) { backends in
                // 127.0.0.9 has nothing listening on the route's port.
                let snapshot = makeSnapshot([ServiceSpec(name: "web", hosts: ["example.com"], port: backends[0].port, addresses: ["127.0.0.9", backends[0].host])])
                // No pause after a failed connect here: every request meets the dead backend in its turn.
                var configuration = testConfiguration()
                configuration.timeouts.failedBackendPause = .zero
                try await withGateway(snapshot, configuration: configuration) { _, port in
                    for _ in 0..<4 {
                        let response = try httpGet(port: port, host: "example.com", path: "/")
                        #expect(response.status == 200)
                        #expect(response.text.hasPrefix("backend=alive"))
                    }
                    var statuses: [Int] = []
                    for _ in 0..<4 {
                        let client = try TestClient(port: port)
                        try client.send("POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
                        statuses.append(try client.readResponse().status)
                    }
                    #expect(statuses.sorted() == [200, 200, 502, 502], "POST is not retried")
                }
            }
        }

        @Test func backendWhoseConnectFailedIsPassedOverUntilItsPauseEnds() async throws {
            try await withBackends(["alive"]) { backends in
                let snapshot = makeSnapshot([ServiceSpec(name: "web", hosts: ["example.com"], port: backends[0].port, addresses: ["127.0.0.9", backends[0].host])])
                var configuration = testConfiguration()
                configuration.threads = 1 // one pool, so one failure pauses the backend for every request
                configuration.timeouts.failedBackendPause = .seconds(1)
                try await withGateway(snapshot, configuration: configuration) { _, port in
                    // POST is never retried: a 502 is the one request that met the dead backend.
                    func postStatuses(_ count: Int) throws -> [Int] {
                        try (0..<count).map { _ in
                            let client = try TestClient(port: port)
                            try client.send("POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
                            return try client.readResponse().status
                        }
                    }
                    let first = try postStatuses(8)
                    #expect(first.filter { $0 == 502 }.count == 1, "only the first meeting with the dead backend fails: \(first)")
                    #expect(first.suffix(6).allSatisfy { $0 == 200 })
                    // After the pause the backend is tried again (and fails once more).
                    usleep(1_200_000)
                    let later = try postStatuses(4)
                    #expect(later.filter { $0 == 502 }.count == 1, "\(later)")
                }
            }
        }

        @Test func drainFinishesRequestsInFlightClosesIdleConnectionsAndRefusesNewOnes() async throws {
            let slow = try await RawBackend.scripted(answer: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow", after: .milliseconds(800))
            defer { Task { await slow.stop() } }
            let snapshot = makeSnapshot([ServiceSpec(name: "slow", hosts: ["slow.example.com"], port: slow.port, addresses: ["127.0.0.1"])])
            var logger = Logger(label: "gateway-test")
            logger.logLevel = .error
            let server = try GatewayServer(configuration: testConfiguration(), logger: logger)
            server.update(snapshot: snapshot)
            try await server.start()
            let port = server.httpAddress!.port!

            // An idle keep-alive connection, and one whose request waits on the slow backend.
            let idle = try TestClient(port: port)
            try idle.send("GET / HTTP/1.1\r\nHost: nothing.example.com\r\n\r\n")
            #expect(try idle.readResponse().status == 404)
            let busy = try TestClient(port: port)
            try busy.send("GET / HTTP/1.1\r\nHost: slow.example.com\r\n\r\n")
            usleep(200_000)

            let started = ContinuousClock.now
            let draining = Task { await server.drain(gracePeriod: .seconds(10)) }
            usleep(200_000)
            #expect(idle.isClosedByPeer(), "an idle connection closes at once")
            #expect(throws: (any Error).self, "no new connections") { _ = try TestClient(port: port) }
            let response = try busy.readResponse()
            #expect(response.status == 200 && response.text == "slow", "the request in flight finishes")
            #expect(response.header("connection") == "close")
            #expect(busy.isClosedByPeer())
            await draining.value
            #expect(ContinuousClock.now - started < .seconds(8), "drain ends when the last connection does, not at the grace period")
        }

        @Test func streamsTenMegabytesUpAndDown() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                let size = 10 * 1024 * 1024
                try await withGateway(snapshot) { _, port in
                    let body = patternBytes(size)
                    let sum = body.reduce(UInt32(0)) { $0 &+ UInt32($1) }
                    let upload = try TestClient(port: port)
                    try upload.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: \(size)\r\n\r\n")
                    try upload.send(body)
                    #expect(try upload.readResponse().text == "bytes=\(size) sum=\(sum)")

                    let chunked = try TestClient(port: port)
                    try chunked.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n")
                    for start in stride(from: 0, to: size, by: 1 << 20) {
                        try chunked.send(Array("\(String(1 << 20, radix: 16))\r\n".utf8) + body[start..<(start + (1 << 20))] + Array("\r\n".utf8))
                    }
                    try chunked.send("0\r\n\r\n")
                    #expect(try chunked.readResponse().text == "bytes=\(size) sum=\(sum)")

                    let download = try TestClient(port: port)
                    try download.send("GET /download/\(size) HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    let response = try download.readResponse()
                    #expect(response.body.count == size)
                    #expect(response.body == body)
                }
            }
        }

        @Test func bodiesAreNotBufferedWhole() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                let size = 256 * 1024 * 1024
                try await withGateway(snapshot) { _, port in
                    // Upload to a backend that stops reading: the client must stall long before the end.
                    let upload = try TestClient(port: port)
                    try upload.send("POST /hold HTTP/1.1\r\nHost: example.com\r\nContent-Length: \(size)\r\n\r\n")
                    let sent = upload.sendUntilStalled([UInt8](repeating: 1, count: size), stallSeconds: 1)
                    #expect(sent < size / 4, "the client pushed \(sent) bytes into a backend that reads nothing")

                    // Download to a client that reads nothing: the backend must stall long before the end.
                    let download = try TestClient(port: port)
                    try download.send("GET /download/\(size) HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    var written = 0
                    _ = eventually(3) {
                        let now = backends[0].observed.downloadedBytes
                        defer { written = now }
                        return now > 0 && now == written
                    }
                    #expect(backends[0].observed.downloadedBytes < size / 4)
                }
            }
        }

        @Test func backendDyingMidStreamTruncatesOnlyThatResponse() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                try await withGateway(snapshot) { _, port in
                    let victim = try TestClient(port: port)
                    try victim.send("GET /die/100000 HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    let received = victim.readUntilClosed()
                    let text = String(decoding: received.prefix(200), as: UTF8.self)
                    #expect(text.hasPrefix("HTTP/1.1 200"))
                    #expect(text.contains("content-length: 10000000"))
                    #expect(received.count < 10_000_000)
                    #expect(try httpGet(port: port, host: "example.com", path: "/after").status == 200)
                }
            }
        }

        @Test func responsesWithoutALengthAreChunkedForHTTP11AndCloseDelimitedForHTTP10() async throws {
            try await withBackends(["a"]) { backends in
                try await withGateway(webSnapshot(backends[0])) { _, port in
                    // `/echo` streams the body back with no Content-Length.
                    let client = try TestClient(port: port)
                    for message in ["first", "second message"] {
                        try client.send("POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: \(message.utf8.count)\r\n\r\n\(message)")
                        let response = try client.readResponse()
                        #expect(response.status == 200)
                        #expect(response.header("transfer-encoding") == "chunked")
                        #expect(response.text == message, "the connection stays in step after a chunked response")
                    }

                    let old = try TestClient(port: port)
                    try old.send("POST /echo HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello")
                    let oldResponse = try old.readResponse()
                    #expect(oldResponse.header("transfer-encoding") == nil)
                    #expect(oldResponse.header("connection") == "close")
                    #expect(oldResponse.text == "hello")
                }
            }
        }

        @Test func backendStallingMidBodyIsTimedOutAndTheClientClosed() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                var configuration = testConfiguration()
                configuration.timeouts.upstreamRead = .seconds(1)
                try await withGateway(snapshot, configuration: configuration) { _, port in
                    let victim = try TestClient(port: port, timeout: 10)
                    try victim.send("GET /stall/5000 HTTP/1.1\r\nHost: example.com\r\n\r\n")
                    let received = victim.readUntilClosed()
                    let text = String(decoding: received.prefix(200), as: UTF8.self)
                    #expect(text.hasPrefix("HTTP/1.1 200"))
                    #expect(received.count < 10_000_000)
                    #expect(victim.isClosedByPeerNow(), "the client connection was closed, not left hanging until the test client's timeout")
                    // The stalled upstream connection is dropped, not pooled.
                    #expect(eventually(5) { backends[0].observed.closedConnections >= 1 })
                    #expect(try httpGet(port: port, host: "example.com", path: "/after").status == 200)
                }
            }
        }

        @Test func slowHeaderSenderIsCutWhileOthersAreServed() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                var configuration = testConfiguration()
                configuration.timeouts.headerRead = .seconds(1)
                try await withGateway(snapshot, configuration: configuration) { _, port in
                    let slow = try TestClient(port: port)
                    let request = Array("GET / HTTP/1.1\r\nHost: example.com\r\nX-Slow: \(String(repeating: "z", count: 30))\r\n\r\n".utf8)
                    var sentAll = true
                    for byte in request {
                        do { try slow.send([byte]) } catch {
                            sentAll = false
                            break
                        }
                        // Meanwhile another client is served normally.
                        if byte == UInt8(ascii: "H") {
                            #expect(try httpGet(port: port, host: "example.com", path: "/fast").status == 200)
                        }
                        usleep(250_000)
                        if slow.isClosedByPeerNow() {
                            sentAll = false
                            break
                        }
                    }
                    #expect(!sentAll, "the slow client was never cut")
                }
            }
        }

        @Test func bodyLongerThanAnnouncedIsNotForwarded() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                try await withGateway(snapshot) { _, port in
                    let client = try TestClient(port: port)
                    try client.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabcdefgh")
                    #expect(try client.readResponse().text.hasPrefix("bytes=3 "))
                    let next = try client.readResponse()
                    #expect(next.status == 400)
                    #expect(backends[0].observed.requests == 1)
                }
            }
        }

        @Test func webSocketEchoesThroughTheGateway() async throws {
            let echo = try await WebSocketEchoBackend.start()
            let snapshot = makeSnapshot([ServiceSpec(name: "ws", hosts: ["ws.example.com"], port: echo.port, addresses: ["127.0.0.1"])])
            try await withGateway(snapshot) { _, port in
                let client = try TestClient(port: port)
                let key = "dGhlIHNhbXBsZSBub25jZQ=="
                try client.send("GET /chat HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n")
                let upgrade = try client.readResponse()
                #expect(upgrade.status == 101)
                #expect(upgrade.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
                for message in ["hello", "through the gateway", String(repeating: "x", count: 1000)] {
                    try client.send(WebSocketFrame.masked(text: message))
                    #expect(try WebSocketFrame.readText(from: client) == message)
                }
            }
            await echo.stop()
        }

        @Test func garbageFromClientsNeverStopsTheGateway() async throws {
            try await withBackends(["a"]) { backends in
                try await withGateway(webSnapshot(backends[0]), configuration: testConfiguration(https: true)) { server, port in
                    var generator = SeededGenerator(seed: 42)
                    let prefixes = ["", "GET / HTTP/1.1\r\nHost: example.com\r\n", "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100\r\n\r\n",
                                    "GET / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"]
                    for round in 0..<120 {
                        let target = round % 3 == 2 ? server.httpsAddress!.port! : port
                        let client = try TestClient(port: target, timeout: 2)
                        let garbage = (0..<Int.random(in: 1...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        try? client.send(Array(prefixes[round % prefixes.count].utf8) + garbage)
                        if round % 2 == 0 { _ = client.readUntilClosed() }
                    }
                    #expect(try httpGet(port: port, host: "example.com", path: "/still-here").status == 200)
                }
            }
        }

        @Test func metricsCountRequestsByRouteAndStatusClass() async throws {
            try await withBackends(["a"]) { backends in
                let snapshot = webSnapshot(backends[0])
                try await withGateway(snapshot) { server, port in
                    for _ in 0..<3 { _ = try httpGet(port: port, host: "example.com", path: "/") }
                    _ = try httpGet(port: port, host: "missing.example.com", path: "/")
                    let metrics = try httpGet(port: server.metricsAddress!.port!, host: "localhost", path: "/metrics").text
                    #expect(metrics.contains(#"ployz_gateway_requests_total{route="default.web example.com/",status="2xx"} 3"#))
                    #expect(metrics.contains(#"ployz_gateway_requests_total{route="none",status="4xx"} 1"#))
                    #expect(metrics.contains(#"ployz_gateway_upstream_latency_seconds_count{route="default.web example.com/"} 3"#))
                }
            }
        }
    }

}

extension TestClient {
    /// True when the peer already closed (non-blocking check).
    func isClosedByPeerNow() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK)) == 0
    }
}

/// A deterministic random source, so a failing garbage run can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
