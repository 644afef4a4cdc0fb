import NIOCore
import NIOHTTP1
import Testing
@testable import PloyzGateway

extension GatewayTests {
    /// The backend response parser, fed bytes directly (no sockets): every test that matters runs
    /// at every split of the input into two reads, and byte by byte.
    @Suite struct ResponseParserTests {
        /// Events as text; consecutive body parts are joined, so the split points do not show.
        private func parse(_ pieces: [String], headRequest: Bool = false, close: Bool = false) throws -> (events: [String], rest: String) {
            var parser = ResponseParser()
            parser.expectsNoBody = headRequest
            var events: [String] = []
            var rest = ""
            for piece in pieces {
                var input = ByteBuffer(string: piece)
                while let event = try parser.next(&input) {
                    events.append(describe(event), joiningBodies: true)
                }
                rest += String(buffer: input)
            }
            if close, let end = parser.inputClosed() { events.append(describe(end), joiningBodies: true) }
            return (events, rest)
        }

        private func describe(_ event: ResponseParser.Event) -> String {
            func head(_ kind: String, _ head: UpstreamResponseHead) -> String {
                "\(kind) \(head.status) '\(String(buffer: head.statusText))' 1.\(head.minorVersion)"
                    + " keepAlive=\(head.keepAlive) length=\(head.contentLength.map(String.init) ?? "-") chunked=\(head.chunked)"
            }
            switch event {
            case .informational(let value): return head("interim", value)
            case .head(let value): return head("head", value)
            case .upgrade(let value): return head("upgrade", value)
            case .body(let body): return "body:" + String(buffer: body)
            case .end(let trailers): return "end" + (trailers.map { " trailers:" + String(buffer: $0) } ?? "")
            }
        }

        /// Every way of cutting `text` into two reads, and one read per byte.
        private func splits(_ text: String) -> [[String]] {
            let bytes = Array(text.utf8)
            var result = [[text]]
            for cut in 1..<bytes.count {
                result.append([String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)])
            }
            result.append(bytes.map { String(decoding: [$0], as: UTF8.self) })
            return result
        }

        @Test func contentLengthResponsesBackToBackAtEverySplit() throws {
            let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
            for pieces in splits(text) {
                let (events, rest) = try parse(pieces)
                #expect(events == [
                    "head 200 '200 OK' 1.1 keepAlive=true length=5 chunked=false", "body:hello", "end",
                    "head 404 '404 Not Found' 1.1 keepAlive=true length=0 chunked=false", "end",
                ], "split \(pieces.map(\.utf8.count))")
                #expect(rest.isEmpty)
            }
        }

        @Test func chunkedBodyWithExtensionsAndTrailersAtEverySplit() throws {
            let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Checksum: 42\r\n\r\n"
            for pieces in splits(text) {
                let (events, _) = try parse(pieces)
                #expect(events == [
                    "head 200 '200 OK' 1.1 keepAlive=true length=- chunked=true", "body:hello, world!!!", "end trailers:X-Checksum: 42\r\n",
                ], "split \(pieces.map(\.utf8.count))")
            }
            let (plain, _) = try parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"])
            #expect(plain.last == "end")
        }

        @Test func transferEncodingOverridesContentLengthAndOtherCodingsRunUntilClose() throws {
            let both = try parse(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"])
            #expect(both.events == ["head 200 '200 OK' 1.1 keepAlive=true length=- chunked=true", "body:ok", "end"])
            let gzip = try parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz"], close: true)
            #expect(gzip.events == ["head 200 '200 OK' 1.1 keepAlive=false length=- chunked=false", "body:zzz", "end"])
        }

        @Test func bodyWithoutLengthEndsAtTheCloseAndTruncationIsNotAnEnd() throws {
            let untilClose = try parse(["HTTP/1.1 200 OK\r\n\r\nall of ", "it"], close: true)
            #expect(untilClose.events == ["head 200 '200 OK' 1.1 keepAlive=false length=- chunked=false", "body:all of it", "end"])
            let cut = try parse(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], close: true)
            #expect(cut.events == ["head 200 '200 OK' 1.1 keepAlive=true length=10 chunked=false", "body:abc"])
            let nothing = try parse([], close: true)
            #expect(nothing.events.isEmpty)
        }

        @Test func headRequestsAndBodylessStatusesHaveNoBody() throws {
            let head = try parse(["HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"], headRequest: true)
            #expect(head.events == ["head 200 '200 OK' 1.1 keepAlive=true length=1234 chunked=false", "end"])
            for status in ["204 No Content", "304 Not Modified"] {
                let (events, rest) = try parse(["HTTP/1.1 \(status)\r\nContent-Length: 7\r\n\r\n"])
                #expect(events == ["head \(status.prefix(3)) '\(status)' 1.1 keepAlive=true length=7 chunked=false", "end"])
                #expect(rest.isEmpty)
            }
        }

        @Test func interimResponsesComeBeforeTheFinalOne() throws {
            let (events, _) = try parse(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"])
            #expect(events == [
                "interim 100 '100 Continue' 1.1 keepAlive=true length=- chunked=false",
                "interim 103 '103 Early Hints' 1.1 keepAlive=true length=- chunked=false",
                "head 201 '201 Created' 1.1 keepAlive=true length=2 chunked=false", "body:ok", "end",
            ])
        }

        @Test func upgradeLeavesTheNewProtocolsBytesUnparsed() throws {
            var parser = ResponseParser()
            var input = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{05}hello")
            guard case .upgrade(let head)? = try parser.next(&input) else {
                Issue.record("no upgrade event")
                return
            }
            #expect(head.status == 101 && String(buffer: head.forwardedLines).isEmpty)
            #expect(parser.isUpgraded)
            #expect(try parser.next(&input) == nil)
            #expect(Array(input.readableBytesView) == Array("\u{81}\u{05}hello".utf8))
        }

        @Test func keepAliveFollowsVersionAndConnectionTokens() throws {
            let cases: [(String, Bool)] = [
                ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
                ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
                ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
                ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true),
                ("HTTP/1.1 200 OK\r\nConnection: keep-alive, CLOSE\r\nContent-Length: 0\r\n\r\n", false),
            ]
            for (text, keepAlive) in cases {
                var parser = ResponseParser()
                var input = ByteBuffer(string: text)
                guard case .head(let head)? = try parser.next(&input) else {
                    Issue.record("no head for \(text)")
                    continue
                }
                #expect(head.keepAlive == keepAlive, "\(text)")
            }
        }

        @Test func forwardedLinesLeaveOutHopByHopHeadersAndLengthsThatDoNotFrame() throws {
            func forwarded(_ text: String) throws -> String { String(buffer: try ResponseParser.parseHead(ByteBuffer(string: text)).forwardedLines) }
            let plain = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Forwarded-For: a\r\nServer: s\r\n\r\n"
            #expect(try forwarded(plain) == "Content-Length: 0\r\nX-Forwarded-For: a\r\nServer: s\r\n")
            let listed = try ResponseParser.parseHead(ByteBuffer(string:
                "HTTP/1.1 200 OK\r\nX-Secret: 1\r\nConnection: X-Secret, keep-alive\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nServer: s\r\nContent-Length: 3\r\n\r\n"))
            #expect(String(buffer: listed.forwardedLines) == "X-Secret: 1\r\nServer: s\r\nContent-Length: 3\r\n")
            #expect(listed.connectionExtras == ["x-secret"])
            // Transfer-Encoding frames the body: a Content-Length beside it, before or after, never reaches the client.
            #expect(try forwarded("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nA: 1\r\nTransfer-Encoding: chunked\r\nB: 2\r\n\r\n") == "A: 1\r\nB: 2\r\n")
            #expect(try forwarded("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\nB: 2\r\n\r\n") == "B: 2\r\n")
            #expect(try forwarded("HTTP/1.1 304 Not Modified\r\nETag: x\r\nContent-Length: 9\r\n\r\n") == "ETag: x\r\n")
        }

        @Test func malformedResponsesAreErrorsThatNameTheProblem() throws {
            let bad: [(String, String)] = [
                ("HTTP/2 200 OK\r\n\r\n", "malformed status line"),
                ("HTTP/1.1 20 OK\r\n\r\n", "malformed status line"),
                ("HTTP/1.1 200OK\r\n\r\n", "malformed status line"),
                ("ICY 200 OK\r\n\r\n", "malformed status line"),
                ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "invalid header name"),
                ("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "invalid header name"),
                ("HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", "without a name and a colon"),
                ("HTTP/1.1 200 OK\r\nX-A: a\u{01}b\r\n\r\n", "control byte"),
                ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "two different Content-Length"),
                ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
                ("HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\n", "invalid Content-Length"),
                ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
                ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "malformed chunk size"),
                ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "chunk data longer than its size"),
                ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnocolon\r\n\r\n", "without a name and a colon"),
            ]
            for (text, message) in bad {
                #expect(throws: UpstreamProtocolError.self, "\(text.debugDescription)") { _ = try parse([text]) }
                do { _ = try parse([text]) } catch { #expect("\(error)".contains(message), "\(text.debugDescription): \(error)") }
            }
            let duplicateSame = try parse(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok"])
            #expect(duplicateSame.events.last == "end")
        }

        @Test func oversizedHeadsAndChunkLinesAreRefusedWhetherWholeOrInPieces() throws {
            let big = "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: ResponseParser.maxHeadBytes) + "\r\n\r\n"
            #expect(throws: UpstreamProtocolError.self) { _ = try parse([big]) }
            let halves = [String(big.prefix(big.count / 2)), String(big.dropFirst(big.count / 2))]
            #expect(throws: UpstreamProtocolError.self) { _ = try parse(halves) }
            // Never a terminator: refused once the limit is passed, not held forever.
            var parser = ResponseParser()
            let piece = String(repeating: "b", count: 8 * 1024)
            var refused = false
            for _ in 0..<20 where !refused {
                var input = ByteBuffer(string: piece)
                do { _ = try parser.next(&input) } catch { refused = true }
            }
            #expect(refused)
            let longChunkLine = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: ResponseParser.maxChunkLineBytes)
            #expect(throws: UpstreamProtocolError.self) { _ = try parse([longChunkLine]) }
        }

        @Test func splitCookiesOfHTTP2AreJoinedForHTTP1Backends() {
            let split = HTTPHeaders([("host", "a"), ("cookie", "a=1"), ("x", "y"), ("Cookie", "b=2, c"), ("cookie", "d=4")])
            let joined = HTTP2StreamAdapter.joiningCookies(split)
            #expect(joined?["cookie"] == ["a=1; b=2, c; d=4"])
            #expect(joined?["host"] == ["a"] && joined?["x"] == ["y"])
            #expect(HTTP2StreamAdapter.joiningCookies(HTTPHeaders([("cookie", "only=1")])) == nil)
        }

        @Test func headerRolesIgnoreCase() {
            #expect(HeaderRole.of("Content-LENGTH") == .contentLength)
            #expect(HeaderRole.of("transfer-encoding") == .transferEncoding)
            #expect(HeaderRole.of("X-Forwarded-Proto") == .forwarding && HeaderRole.of("x-forwarded-port") == .forwarding)
            #expect(HeaderRole.of("Proxy-Authorization") == .proxy && HeaderRole.of("Host") == .host)
            #expect(HeaderRole.of("TE") == .dropped)
            #expect(HeaderRole.of("Connection") == .connection)
            #expect(HeaderRole.of("Content-Lengtx") == .endToEnd)
            #expect(HeaderRole.of("content\rlength") == .endToEnd)
        }
    }
}

private extension Array where Element == String {
    /// Appends `event`, joining it to the previous one when both are body parts.
    mutating func append(_ event: String, joiningBodies: Bool) {
        if joiningBodies, event.hasPrefix("body:"), let last, last.hasPrefix("body:") {
            self[count - 1] = last + event.dropFirst(5)
        } else {
            append(event)
        }
    }
}
