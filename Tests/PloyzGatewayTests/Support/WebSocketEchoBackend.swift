import Crypto
import Foundation
import NIOCore
import NIOPosix

/// A tiny WebSocket server: answers the upgrade with 101 and echoes every frame back unmasked.
enum WebSocketEchoBackend {
    static func start() async throws -> RawBackend {
        try await RawBackend.start { EchoHandler() }
    }

    private final class EchoHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var buffer = ByteBuffer()
        private var upgraded = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            if !upgraded {
                guard let text = buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes),
                      let end = text.range(of: "\r\n\r\n") else { return }
                let head = String(text[..<end.lowerBound])
                buffer.moveReaderIndex(forwardBy: text.utf8.distance(from: text.startIndex, to: end.upperBound))
                let key = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                    .map { $0.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) } ?? ""
                let accept = Data(Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
                let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n"
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)), promise: nil)
                upgraded = true
            }
            while let (opcode, payload) = WebSocketFrame.parse(&buffer) {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: WebSocketFrame.unmasked(opcode: opcode, payload: payload))), promise: nil)
            }
        }
    }
}

/// Just enough RFC 6455 framing for the echo test.
enum WebSocketFrame {
    static func masked(text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    static func unmasked(opcode: UInt8, payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(UInt8(payload.count))
        } else {
            frame += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        }
        return frame + payload
    }

    /// Removes one complete frame from `buffer`; nil when more bytes are needed.
    static func parse(_ buffer: inout ByteBuffer) -> (opcode: UInt8, payload: [UInt8])? {
        guard let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes), bytes.count >= 2 else { return nil }
        let opcode = bytes[0] & 0x0f
        let isMasked = bytes[1] & 0x80 != 0
        var length = Int(bytes[1] & 0x7f)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        }
        let maskOffset = offset
        if isMasked { offset += 4 }
        guard bytes.count >= offset + length else { return nil }
        var payload = Array(bytes[offset..<(offset + length)])
        if isMasked {
            payload = payload.enumerated().map { $0.element ^ bytes[maskOffset + $0.offset % 4] }
        }
        buffer.moveReaderIndex(forwardBy: offset + length)
        return (opcode, payload)
    }

    /// Reads one unmasked server text frame from the client connection.
    static func readText(from client: TestClient) throws -> String {
        let header = try client.readRaw(2)
        var length = Int(header[1] & 0x7f)
        if length == 126 {
            let extended = try client.readRaw(2)
            length = Int(extended[0]) << 8 | Int(extended[1])
        }
        return String(decoding: try client.readRaw(length), as: UTF8.self)
    }
}
