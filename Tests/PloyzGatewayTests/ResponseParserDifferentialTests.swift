import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import PloyzGateway

extension GatewayTests {
    /// `ResponseParser` against NIO's llhttp-based `HTTPResponseDecoder` on generated responses: the
    /// same statuses, headers, bodies and trailers, whatever the read splits on our side.
    @Suite struct ResponseParserDifferentialTests {
        /// One response as both parsers should see it.
        private struct Expected: Equatable {
            var status: Int
            var headers: [String]
            var body: [UInt8] = []
            var trailers: [String] = []
        }

        /// A random well-formed response (and what it means), sometimes after a 100 Continue.
        private func makeResponse(_ random: inout SeededGenerator) -> (bytes: [UInt8], expected: [Expected]) {
            var text = ""
            var expected: [Expected] = []
            if Int.random(in: 0..<5, using: &random) == 0 {
                text += "HTTP/1.1 100 Continue\r\n\r\n"
                expected.append(Expected(status: 100, headers: []))
            }
            let status = [200, 201, 204, 301, 304, 404, 500, 503].randomElement(using: &random)!
            let bodyless = status == 204 || status == 304
            var headers: [String] = []
            for index in 0..<Int.random(in: 0...6, using: &random) {
                let name = "X-" + String((0..<Int.random(in: 1...12, using: &random)).map { _ in "abcdefghijklmnopqrstuvwxyz-0123456789".randomElement(using: &random)! }) + "\(index)"
                let value = String((0..<Int.random(in: 0...40, using: &random)).map { _ in "abc XYZ 0123 ;=,/\"'()".randomElement(using: &random)! })
                    .trimmingCharacters(in: .whitespaces)
                headers.append("\(name): \(value)")
            }
            let body = (0..<(bodyless ? 0 : Int.random(in: 0...3000, using: &random))).map { _ in UInt8.random(in: 0...255, using: &random) }
            let chunked = !bodyless && Bool.random(using: &random)
            var trailers: [String] = []
            if chunked {
                headers.append("Transfer-Encoding: chunked")
                if Bool.random(using: &random) { trailers = ["X-Checksum: \(body.count)"] }
            } else if !bodyless || Bool.random(using: &random) {
                headers.append("Content-Length: \(body.count)")
            }
            text += "HTTP/1.1 \(status) Reason Phrase\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
            var bytes = Array(text.utf8)
            if chunked {
                var offset = 0
                while offset < body.count {
                    let size = min(Int.random(in: 1...700, using: &random), body.count - offset)
                    bytes += Array("\(String(size, radix: 16))\r\n".utf8) + body[offset..<(offset + size)] + Array("\r\n".utf8)
                    offset += size
                }
                bytes += Array(("0\r\n" + trailers.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
            } else {
                bytes += body
            }
            expected.append(Expected(status: status, headers: headers, body: bodyless ? [] : body, trailers: trailers))
            return (bytes, expected)
        }

        private func ours(_ bytes: [UInt8], splits: [Int]) throws -> [Expected] {
            var parser = ResponseParser()
            var result: [Expected] = []
            var start = 0
            for end in splits + [bytes.count] where end >= start {
                var input = ByteBuffer(bytes: bytes[start..<end])
                start = end
                while let event = try parser.next(&input) {
                    switch event {
                    case .informational(let head), .head(let head), .upgrade(let head):
                        result.append(Expected(status: head.status, headers: try Self.lines(head.headerLines)))
                    case .body(let body):
                        result[result.count - 1].body += body.readableBytesView
                    case .end(let trailers):
                        if let trailers { result[result.count - 1].trailers = try Self.lines(trailers) }
                    }
                }
            }
            return result
        }

        private static func lines(_ buffer: ByteBuffer) throws -> [String] {
            var lines: [String] = []
            try ResponseParser.forEachHeaderLine(in: buffer) { name, value, _ in
                lines.append(String(decoding: name, as: UTF8.self) + ": " + String(decoding: value, as: UTF8.self))
            }
            return lines
        }

        private func nio(_ bytes: [UInt8], responses: Int) throws -> [Expected] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes,
                                                                                             informationalResponseStrategy: .forward)))
            defer { _ = try? channel.finish() }
            // The decoder pairs each response with a request it saw leave.
            for _ in 0..<responses {
                try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
            }
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            var result: [Expected] = []
            while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                switch part {
                case .head(let head):
                    result.append(Expected(status: Int(head.status.code), headers: head.headers.map { "\($0.name): \($0.value)" }))
                case .body(let body):
                    result[result.count - 1].body += body.readableBytesView
                case .end(let trailers):
                    result[result.count - 1].trailers = (trailers ?? [:]).map { "\($0.name): \($0.value)" }
                }
            }
            return result
        }

        @Test func agreesWithLlhttpOnGeneratedResponsesAtRandomSplits() throws {
            var random = SeededGenerator(seed: 7)
            for round in 0..<300 {
                var bytes: [UInt8] = []
                var expected: [Expected] = []
                var finals = 0
                // Several responses back to back, as on a kept connection.
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let response = makeResponse(&random)
                    bytes += response.bytes
                    expected += response.expected
                    finals += 1
                }
                let splits = (0..<Int.random(in: 0...6, using: &random)).map { _ in Int.random(in: 0...bytes.count, using: &random) }.sorted()
                let parsed = try ours(bytes, splits: splits)
                #expect(parsed == expected, "round \(round), splits \(splits)")
                #expect(try nio(bytes, responses: finals) == expected, "llhttp disagrees with the generator, round \(round)")
            }
        }

        @Test func randomBytesAreRefusedOrParsedNeverACrash() {
            var random = SeededGenerator(seed: 11)
            let prefixes = ["", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"]
            for round in 0..<2000 {
                var parser = ResponseParser()
                let garbage = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                var input = ByteBuffer(bytes: Array(prefixes[round % prefixes.count].utf8) + garbage)
                var events = 0
                do {
                    while try parser.next(&input) != nil, events < 10_000 { events += 1 }
                } catch {
                    #expect(error is UpstreamProtocolError)
                }
                #expect(events < 10_000)
            }
        }
    }
}
