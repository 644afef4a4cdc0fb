import NIOCore
import NIOHTTP1
import Testing
@testable import PloyzGateway

extension GatewayTests {
    /// The proxy's decisions, driven event by event with no sockets: each action as text.
    @Suite struct ProxyStateMachineTests {
        /// A machine and the exchange it routed, with helpers that return actions as text.
        private struct Driver {
            var machine = ProxyStateMachine(maxRequestHeaderBytes: 1024)
            var exchange: ProxyExchange?

            mutating func read(_ part: HTTPServerRequestPart) -> String { describe(machine.clientRead(part)) }
            mutating func readComplete() -> String { describe(machine.clientReadComplete()) }

            /// A head through routing to the connect; the route has `backends` backends.
            mutating func start(_ method: HTTPMethod = .GET, _ uri: String = "/", version: HTTPVersion = .http1_1, backends: Int = 1,
                                chunked: Bool = false, upgrade: Bool = false) -> [String] {
                let head = HTTPRequestHead(version: version, method: method, uri: uri, headers: ["host": "example.com"])
                let routed = read(.head(head))
                let exchange = ProxyStateMachineTests.exchange(method: method, version: version, backends: backends, chunked: chunked, upgrade: upgrade)
                self.exchange = exchange
                return [routed, describe(machine.requestRouted(exchange))]
            }

            mutating func responseHead(_ text: String) throws -> String {
                describe(machine.upstreamResponseHead(try ResponseParser.parseHead(ByteBuffer(string: text))))
            }

            /// Drains the pipelining queue the way the handler does after an exchange ends.
            mutating func drain() -> [String] {
                var actions: [String] = []
                while let action = machine.nextQueued() { actions.append(describe(action)) }
                actions.append(describe(machine.queueSettled()))
                actions.append(describe(machine.readsMayResume(upstreamWritable: true)))
                return actions
            }
        }

        private static func exchange(method: HTTPMethod, version: HTTPVersion, backends: Int, chunked: Bool, upgrade: Bool) -> ProxyExchange {
            let addresses = (0..<backends).map { Backend(instanceID: "i\($0)", address: try! SocketAddress(ipAddress: "127.0.0.\($0 + 2)", port: 80)) }
            let route = Route(service: "default.web", hostPattern: "example.com", pathPrefix: "/", backends: addresses)
            return ProxyExchange(route: route, upstreamHead: ByteBuffer(string: "\(method) / HTTP/1.1\r\n\r\n"), isHeadRequest: method == .HEAD,
                                 chunkedBody: chunked, clientMinorVersion: version.minor, clientKeepAlive: version.minor >= 1, isUpgrade: upgrade,
                                 mayRetry: method != .POST, firstBackendIndex: 0)
        }

        @Test func keepAliveExchangeFromHeadToEnd() throws {
            var driver = Driver()
            #expect(driver.start() == ["route GET /", "connect"])
            #expect(describe(driver.machine.upstreamAttached()) == "startRequest flush=false", "the client's read-complete flushes")
            #expect(driver.read(.end(nil)) == "none")
            #expect(driver.readComplete() == "flushUpstream")
            #expect(try driver.responseHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n") == "head 200 raw keepAlive=true")
            #expect(describe(driver.machine.upstreamResponseBody(ByteBuffer(string: "ok"))) == "body ok raw")
            #expect(describe(driver.machine.upstreamReadComplete()) == "flushClient")
            #expect(describe(driver.machine.upstreamResponseEnd(nil)) == "finish raw release=true then nextRequest")
            #expect(driver.drain() == ["none", "none"])
            #expect(driver.machine.exchange == nil)
        }

        @Test func pipelinedRequestsWaitAndReadingPausesUntilTheExchangeEnds() throws {
            var driver = Driver()
            _ = driver.start()
            _ = driver.machine.upstreamAttached()
            _ = driver.read(.end(nil))
            let second = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/two", headers: ["host": "example.com"])
            #expect(driver.read(.head(second)) == "none")
            #expect(driver.read(.body(ByteBuffer(string: "abc"))) == "none")
            #expect(driver.read(.end(nil)) == "none")
            #expect(describe(driver.machine.readRequested(upstreamWritable: true)) == "none", "reading pauses while requests wait")
            _ = driver.readComplete()
            _ = try driver.responseHead("HTTP/1.1 204 No Content\r\n\r\n")
            #expect(describe(driver.machine.upstreamResponseEnd(nil)) == "finish none release=true then nextRequest")
            // The next head is routed; its body waits in the exchange until a connection is attached.
            var drained: [String] = []
            if let action = driver.machine.nextQueued() { drained.append(describe(action)) }
            #expect(drained == ["route POST /two"])
            let exchange = Self.exchange(method: .POST, version: .http1_1, backends: 1, chunked: false, upgrade: false)
            #expect(describe(driver.machine.requestRouted(exchange)) == "connect")
            #expect(driver.drain() == ["none", "none", "none", "none"], "body and end go into the exchange: \(exchange.buffered.count)")
            #expect(exchange.buffered.count == 1 && exchange.requestEnded)
            #expect(describe(driver.machine.upstreamAttached()) == "startRequest flush=true", "outside a client read, nothing else flushes")
            #expect(describe(driver.machine.readsMayResume(upstreamWritable: true)) == "read")
        }

        @Test func bodyFramingForTheClient() throws {
            var chunked = Driver()
            _ = chunked.start()
            _ = chunked.machine.upstreamAttached()
            _ = chunked.read(.end(nil))
            #expect(try chunked.responseHead("HTTP/1.1 200 OK\r\n\r\n") == "head 200 chunked keepAlive=true")
            #expect(describe(chunked.machine.upstreamResponseBody(ByteBuffer())) == "none", "an empty chunk would end the body")
            #expect(describe(chunked.machine.upstreamResponseEnd(nil)) == "finish chunked release=true then nextRequest")

            var old = Driver()
            _ = old.start(version: .http1_0)
            _ = old.machine.upstreamAttached()
            _ = old.read(.end(nil))
            #expect(try old.responseHead("HTTP/1.1 200 OK\r\n\r\n") == "head 200 raw keepAlive=false", "HTTP/1.0 learns the end from the close")
            #expect(describe(old.machine.upstreamResponseEnd(nil)) == "finish raw release=true then close")

            var head = Driver()
            _ = head.start(.HEAD)
            _ = head.machine.upstreamAttached()
            _ = head.read(.end(nil))
            #expect(try head.responseHead("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n") == "head 200 none keepAlive=true")
            #expect(describe(head.machine.upstreamResponseBody(ByteBuffer(string: "x"))) == "none")
        }

        @Test func requestBodiesGoUpChunkedWhenTheClientChunked() {
            var driver = Driver()
            _ = driver.start(.POST, chunked: true)
            _ = driver.machine.upstreamAttached()
            #expect(driver.read(.body(ByteBuffer(string: "hello"))) == "sendBody hello chunked=true")
            #expect(driver.read(.body(ByteBuffer())) == "none", "an empty part would end the chunked body")
            #expect(driver.read(.end(nil)) == "sendEnd chunked=true")
        }

        @Test func connectFailuresAreRetriedForIdempotentRequestsOnly() {
            var get = Driver()
            _ = get.start(backends: 2)
            _ = get.exchange!.takeNextBackend { _ in true } // what the handler does on `.connect`
            #expect(describe(get.machine.connectFailed(upstream: "upstream a", error: "refused")) == "connect")
            _ = get.exchange!.takeNextBackend { _ in true }
            #expect(describe(get.machine.connectFailed(upstream: "upstream b", error: "refused")) == "respond 502 keepAlive=true then discardRequestBody")

            var post = Driver()
            _ = post.start(.POST, backends: 2)
            _ = post.exchange!.takeNextBackend { _ in true }
            _ = post.read(.end(nil))
            #expect(describe(post.machine.connectFailed(upstream: "upstream a", error: "refused")) == "respond 502 keepAlive=true then nextRequest")
        }

        @Test func upstreamFailures() throws {
            // A pooled connection that was closed while idle: sent again.
            var stale = Driver()
            _ = stale.start()
            _ = stale.machine.upstreamAttached()
            _ = stale.read(.end(nil))
            #expect(describe(stale.machine.upstreamFailed(upstream: "upstream a", error: nil, timedOut: false, wasUsed: true)) == "connect")

            // A fresh connection that closed before any answer (the backend died): a GET goes to
            // the next backend when there is one; a POST, or a GET with no other backend, gets 502.
            var fresh = Driver()
            _ = fresh.start(.GET, backends: 2)
            _ = fresh.exchange!.takeNextBackend { _ in true }
            _ = fresh.machine.upstreamAttached()
            _ = fresh.read(.end(nil))
            #expect(describe(fresh.machine.upstreamFailed(upstream: "upstream a", error: nil, timedOut: false, wasUsed: false)) == "connect")
            var alone = Driver()
            _ = alone.start(.GET, backends: 1)
            _ = alone.exchange!.takeNextBackend { _ in true }
            _ = alone.machine.upstreamAttached()
            _ = alone.read(.end(nil))
            #expect(describe(alone.machine.upstreamFailed(upstream: "upstream a", error: nil, timedOut: false, wasUsed: false))
                .hasPrefix("respond 502"))
            var post = Driver()
            _ = post.start(.POST, backends: 2)
            _ = post.exchange!.takeNextBackend { _ in true }
            _ = post.machine.upstreamAttached()
            _ = post.read(.end(nil))
            #expect(describe(post.machine.upstreamFailed(upstream: "upstream a", error: nil, timedOut: false, wasUsed: false))
                .hasPrefix("respond 502"))

            var timedOut = Driver()
            _ = timedOut.start()
            _ = timedOut.machine.upstreamAttached()
            _ = timedOut.read(.end(nil))
            #expect(describe(timedOut.machine.upstreamFailed(upstream: "upstream a", error: "t", timedOut: true, wasUsed: true))
                == "respond 504 keepAlive=false then close")

            var midResponse = Driver()
            _ = midResponse.start()
            _ = midResponse.machine.upstreamAttached()
            _ = midResponse.read(.end(nil))
            _ = try midResponse.responseHead("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
            #expect(describe(midResponse.machine.upstreamFailed(upstream: "upstream a", error: nil, timedOut: false, wasUsed: true)) == "closeClient")

            // The backend answered before the request ended: both connections end.
            var early = Driver()
            _ = early.start(.POST)
            _ = early.machine.upstreamAttached()
            _ = try early.responseHead("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
            #expect(describe(early.machine.upstreamResponseEnd(nil)) == "finish raw release=false then close")
        }

        @Test func localAnswersParseErrorsAndDraining() throws {
            // 404 before the body: the body is read and dropped, then the next request runs.
            var notFound = Driver()
            let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/x", headers: ["host": "nowhere"])
            #expect(notFound.read(.head(head)) == "route POST /x")
            let answer = LocalResponse(status: .notFound, message: "no route", metrics: nil, keepAlive: true)
            #expect(describe(notFound.machine.requestAnsweredLocally(answer, refused: false)) == "respond 404 keepAlive=true then discardRequestBody")
            #expect(notFound.read(.body(ByteBuffer(string: "dropped"))) == "none")
            #expect(notFound.read(.end(nil)) == "nextRequest")

            // A refused head closes the connection at once.
            var refused = Driver()
            _ = refused.read(.head(head))
            let refusal = LocalResponse(status: .badRequest, message: "two Host fields", metrics: nil, keepAlive: false)
            #expect(describe(refused.machine.requestAnsweredLocally(refusal, refused: true)) == "respond 400 keepAlive=false then close")

            // A parse error during an exchange waits for its end.
            var busy = Driver()
            _ = busy.start()
            _ = busy.machine.upstreamAttached()
            _ = busy.read(.end(nil))
            #expect(describe(busy.machine.parseError(.invalidHeaderToken)) == "none")
            _ = try busy.responseHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            _ = busy.machine.upstreamResponseEnd(nil)
            #expect(busy.drain().first == "respond 400 keepAlive=false then close")
            var oversized = Driver()
            #expect(describe(oversized.machine.parseError(.headerOverflow)).hasPrefix("respond 431"))

            // Draining: idle closes now, busy after a response that says close.
            var idle = Driver()
            #expect(describe(idle.machine.quiesce()) == "closeClient")
            var draining = Driver()
            _ = draining.start()
            _ = draining.machine.upstreamAttached()
            _ = draining.read(.end(nil))
            #expect(describe(draining.machine.quiesce()) == "none")
            #expect(try draining.responseHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") == "head 200 raw keepAlive=false")
            #expect(describe(draining.machine.upstreamResponseEnd(nil)) == "finish raw release=true then close")
        }

        @Test func upgradesOnlyWhenAsked() throws {
            let switching = try ResponseParser.parseHead(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"))
            var asked = Driver()
            _ = asked.start(upgrade: true)
            _ = asked.machine.upstreamAttached()
            #expect(describe(asked.machine.upstreamUpgraded(switching, upstream: "upstream a")) == "upgrade 101")

            var unasked = Driver()
            _ = unasked.start()
            _ = unasked.machine.upstreamAttached()
            _ = unasked.read(.end(nil))
            #expect(describe(unasked.machine.upstreamUpgraded(switching, upstream: "upstream a")) == "respond 502 keepAlive=false then close")
        }

        @Test func backendsPausedAfterAFailedConnectArePassedOver() throws {
            let exchange = Self.exchange(method: .GET, version: .http1_1, backends: 3, chunked: false, upgrade: false)
            let paused = try SocketAddress(ipAddress: "127.0.0.2", port: 80)
            #expect(exchange.takeNextBackend { $0 != paused }.instanceID == "i1")
            #expect(exchange.takeNextBackend { _ in true }.instanceID == "i2")
            #expect(exchange.attempts == 2 && exchange.mayConnectAgain)
            // With every backend paused, the next in turn is tried anyway.
            #expect(exchange.takeNextBackend { _ in false }.instanceID == "i0")
            #expect(!exchange.mayConnectAgain)
        }
    }
}

/// An action as text, for comparing.
private func describe(_ action: ProxyStateMachine.Action) -> String {
    switch action {
    case .none: "none"
    case .read: "read"
    case .route(let head): "route \(head.method) \(head.uri)"
    case .connect: "connect"
    case .startRequest(_, let flush): "startRequest flush=\(flush)"
    case .sendBody(.body(let body), let chunked): "sendBody \(String(buffer: body)) chunked=\(chunked)"
    case .sendBody(.end, let chunked): "sendEnd chunked=\(chunked)"
    case .flushUpstream: "flushUpstream"
    case .resumeUpstreamReads: "resumeUpstreamReads"
    case .releaseUpstream: "releaseUpstream"
    case .writeInformational(let head, let minor): "informational \(head.status) 1.\(minor)"
    case .writeResponseHead(let head, let framing): "head \(head.status) \(framing.body) keepAlive=\(framing.keepAlive)"
    case .writeResponseBody(let body, let framing): "body \(String(buffer: body)) \(framing)"
    case .flushClient: "flushClient"
    case .upgrade(let head, _): "upgrade \(head.status)"
    case .finishResponse(_, let framing, let release, let then): "finish \(framing) release=\(release) then \(then)"
    case .nextRequest: "nextRequest"
    case .respond(let response, let then): "respond \(response.status.code) keepAlive=\(response.keepAlive) then \(then)"
    case .closeClient: "closeClient"
    }
}
