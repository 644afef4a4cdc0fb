import NIOCore
import Testing
@testable import NATSClient

/// A readable rendering of an operation, for comparing decoder output.
func render(_ op: ServerOp) -> String {
    switch op {
    case .info(let json): return "INFO \(json)"
    case .ping: return "PING"
    case .pong: return "PONG"
    case .ok: return "+OK"
    case .err(let text): return "-ERR \(text)"
    case .message(let m, let sid):
        var h = ""
        if let headers = m.headers {
            h = " status=\(headers.statusCode.map(String.init) ?? "-") " + headers.fields.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        }
        return "MSG \(m.subject) \(sid) \(m.reply ?? "-") [\(m.string)]\(h)"
    }
}

/// Feeds `chunks` one after the other into a fresh decoder, returning every decoded op.
func decodeAll(_ chunks: [[UInt8]]) throws -> [String] {
    var decoder = NATSProtocolDecoder()
    var buffer = ByteBuffer()
    var out: [String] = []
    for chunk in chunks {
        buffer.writeBytes(chunk)
        while let op = try decoder.decodeOp(&buffer) { out.append(render(op)) }
        buffer.discardReadBytes()
    }
    return out
}

let sampleStream = Array((
    "INFO {\"server_id\":\"X\",\"version\":\"2.9.10\",\"max_payload\":1048576}\r\n"
    + "PING\r\nPONG\r\n+OK\r\n"
    + "MSG foo.bar 1 5\r\nhello\r\n"
    + "MSG foo.baz 22 _INBOX.abc 0\r\n\r\n"
    + "msg lower 3 2\r\nhi\r\n"
    + "HMSG h.subj 7 reply.to 24 29\r\nNATS/1.0\r\nA: b\r\nA: c\r\n\r\nworld\r\n"
    + "HMSG status 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
    + "MSG bin 2 4\r\n\r\n\r\n\r\n"
    + "-ERR 'Permissions Violation for Publish to \"x\"'\r\n"
).utf8)

@Suite struct ParserTests {
    @Test func decodesEveryOperation() throws {
        let ops = try decodeAll([sampleStream])
        #expect(ops == [
            "INFO {\"server_id\":\"X\",\"version\":\"2.9.10\",\"max_payload\":1048576}",
            "PING", "PONG", "+OK",
            "MSG foo.bar 1 - [hello]",
            "MSG foo.baz 22 _INBOX.abc []",
            "MSG lower 3 - [hi]",
            "MSG h.subj 7 reply.to [world] status=- A=b,A=c",
            "MSG status 9 - [] status=503 ",
            "MSG bin 2 - [\r\n\r\n]",
            "-ERR Permissions Violation for Publish to \"x\"",
        ])
    }

    @Test func everySplitPointGivesTheSameOperations() throws {
        let whole = try decodeAll([sampleStream])
        for split in 0...sampleStream.count {
            let ops = try decodeAll([Array(sampleStream[..<split]), Array(sampleStream[split...])])
            #expect(ops == whole, "split at \(split)")
        }
    }

    @Test func everyThreeWaySplitOfAMessage() throws {
        let frame = Array("HMSG a.b 1 r 12 17\r\nNATS/1.0\r\n\r\nhello\r\nPING\r\n".utf8)
        let whole = try decodeAll([frame])
        #expect(whole.count == 2)
        for i in 0...frame.count {
            for j in i...frame.count {
                let ops = try decodeAll([Array(frame[..<i]), Array(frame[i..<j]), Array(frame[j...])])
                #expect(ops == whole, "split at \(i),\(j)")
            }
        }
    }

    @Test func byteByByte() throws {
        let ops = try decodeAll(sampleStream.map { [$0] })
        #expect(ops == (try decodeAll([sampleStream])))
    }

    @Test func largePayloadInManyChunks() throws {
        let payload = [UInt8](repeating: UInt8(ascii: "z"), count: 1_000_000)
        let frame = Array("MSG big 1 1000000\r\n".utf8) + payload + Array("\r\n".utf8)
        var chunks: [[UInt8]] = []
        var i = 0
        while i < frame.count {
            chunks.append(Array(frame[i..<min(i + 65_521, frame.count)]))
            i += 65_521
        }
        var decoder = NATSProtocolDecoder()
        var buffer = ByteBuffer()
        var got: [ServerOp] = []
        for c in chunks {
            buffer.writeBytes(c)
            while let op = try decoder.decodeOp(&buffer) { got.append(op) }
        }
        #expect(got.count == 1)
        if case .message(let m, _) = got.first { #expect(m.payload.readableBytes == 1_000_000) }
    }

    @Test(arguments: [
        "FOO bar\r\n",
        "MSG a b 3\r\nabc\r\n",
        "MSG a 1 x\r\n",
        "MSG a 1\r\n",
        "MSG a 1 2 3 4 5\r\n",
        "HMSG a 1 10 5\r\n",
        "HMSG a 1 x 5\r\n",
        "MSG a 1 3\r\nabcXY",
        "INFO not-json\r\n",
        "HMSG a 1 5 5\r\nXXXXX\r\n",
        "MSG a 1 99999999999\r\n",
    ])
    func malformedFramesThrowProtocolError(_ text: String) throws {
        var decoder = NATSProtocolDecoder()
        var buffer = ByteBuffer(string: text)
        #expect(throws: NATSError.self) {
            while try decoder.decodeOp(&buffer) != nil {}
        }
    }

    @Test func protocolErrorCarriesTheTruncatedLine() throws {
        var decoder = NATSProtocolDecoder()
        var buffer = ByteBuffer(string: "BOGUS " + String(repeating: "x", count: 500) + "\r\n")
        do {
            _ = try decoder.decodeOp(&buffer)
            Issue.record("no error")
        } catch let NATSError.protocolError(line) {
            #expect(line.hasPrefix("BOGUS xxx"))
            #expect(line.count <= NATSProtocolDecoder.maxErrorLine + 3)
        }
    }

    @Test func overlongLineWithoutNewlineIsAnError() throws {
        var decoder = NATSProtocolDecoder()
        var buffer = ByteBuffer(repeating: UInt8(ascii: "a"), count: NATSProtocolDecoder.maxControlLine + 1)
        #expect(throws: NATSError.self) { _ = try decoder.decodeOp(&buffer) }
    }

    @Test func headersRoundTrip() throws {
        var h = NATSHeaders()
        h.append("Nats-Msg-Id", "1")
        h.append("X-Multi", "a")
        h.append("x-multi", "b")
        var buffer = ByteBuffer()
        h.write(to: &buffer)
        #expect(buffer.readableBytes == h.wireSize)
        let parsed = try #require(NATSHeaders.parse(buffer))
        #expect(parsed == h)
        #expect(parsed["X-MULTI"] == "a")
        #expect(parsed.values("x-multi") == ["a", "b"])
        h.set("x-multi", "c")
        #expect(h.values("X-Multi") == ["c"])
        var status = NATSHeaders()
        status.statusCode = 408
        status.statusDescription = "Request Timeout"
        var sb = ByteBuffer()
        status.write(to: &sb)
        #expect(String(buffer: sb) == "NATS/1.0 408 Request Timeout\r\n\r\n")
        #expect(NATSHeaders.parse(sb) == status)
    }

    @Test func serverURLs() throws {
        #expect(try ServerAddress.parse("nats://127.0.0.1:4222") == ServerAddress(host: "127.0.0.1", port: 4222))
        #expect(try ServerAddress.parse("nats://[fd00::1]:4223") == ServerAddress(host: "fd00::1", port: 4223))
        #expect(try ServerAddress.parse("localhost") == ServerAddress(host: "localhost", port: 4222))
        #expect(try ServerAddress.parse("nats://u:p@h:1") == ServerAddress(host: "h", port: 1, user: "u", password: "p"))
        #expect(throws: NATSError.self) { try ServerAddress.parse("http://h:1") }
        #expect(throws: NATSError.self) { try ServerAddress.parse("nats://h:99999") }
        #expect(throws: NATSError.self) { try ServerAddress.parse("nats://[fd00::1") }
    }
}
