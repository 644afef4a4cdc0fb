import NIOCore

/// Streaming decoder of server operations. Frames may be split at any byte; a message frame is
/// emitted once its control line, payload and trailing CRLF have all arrived.
struct NATSProtocolDecoder: ByteToMessageDecoder {
    typealias InboundOut = ServerOp

    /// Longest control line accepted without a newline (INFO with many connect_urls is long).
    static let maxControlLine = 64 * 1024
    /// Largest payload size accepted from the server (its own max_payload is at most 64 MiB).
    static let maxPayload = 64 * 1024 * 1024
    /// How much of a bad line goes into the error.
    static let maxErrorLine = 128

    /// A parsed MSG/HMSG control line waiting for its payload.
    private struct PendingMessage {
        var subject: String
        var sid: UInt64
        var reply: String?
        var headerLength: Int
        var totalLength: Int
    }

    private var pending: PendingMessage?

    init() {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let op = try decodeOp(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(op))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A frame cut off by the server closing is dropped; the connection handles the close.
        while let op = try decodeOp(&buffer) {
            context.fireChannelRead(wrapInboundOut(op))
        }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }

    /// Decodes the next complete operation, or returns nil (consuming nothing) when more bytes
    /// are needed. Usable without a channel, which the tests do.
    mutating func decodeOp(_ buffer: inout ByteBuffer) throws -> ServerOp? {
        if let p = pending {
            return try decodePayload(p, &buffer)
        }
        let view = buffer.readableBytesView
        guard let nl = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > Self.maxControlLine {
                throw NATSError.protocolError(Self.truncate(view[view.startIndex..<view.startIndex + Self.maxErrorLine]))
            }
            return nil
        }
        var end = nl
        if end > view.startIndex && view[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = view[view.startIndex..<end]
        let consumed = nl + 1 - view.startIndex
        let op = try parseLine(line)
        buffer.moveReaderIndex(forwardBy: consumed)
        if let op { return op }
        // The line was a MSG/HMSG header: its payload follows.
        return try decodePayload(pending!, &buffer)
    }

    private mutating func decodePayload(_ p: PendingMessage, _ buffer: inout ByteBuffer) throws -> ServerOp? {
        guard buffer.readableBytes >= p.totalLength + 2 else { return nil }
        let crlfIndex = buffer.readerIndex + p.totalLength
        guard buffer.getInteger(at: crlfIndex, as: UInt16.self) == 0x0D0A else {
            let tail = buffer.getBytes(at: crlfIndex, length: 2) ?? []
            throw NATSError.protocolError("payload of \(p.subject) not followed by CRLF (got \(tail))")
        }
        var headers: NATSHeaders?
        if p.headerLength > 0 {
            let hbuf = buffer.readSlice(length: p.headerLength)!
            guard let h = NATSHeaders.parse(hbuf) else {
                throw NATSError.protocolError(Self.truncate(hbuf.readableBytesView[...]))
            }
            headers = h
        }
        let payload = buffer.readSlice(length: p.totalLength - p.headerLength)!
        buffer.moveReaderIndex(forwardBy: 2)
        pending = nil
        return .message(NATSMessage(subject: p.subject, reply: p.reply, headers: headers, payload: payload), sid: p.sid)
    }

    /// Parses one control line; returns nil after storing a MSG/HMSG header in `pending`.
    private mutating func parseLine(_ line: ByteBufferView.SubSequence) throws -> ServerOp? {
        var fields: [ByteBufferView] = []
        fields.reserveCapacity(6)
        var i = line.startIndex
        while i < line.endIndex {
            while i < line.endIndex && (line[i] == 0x20 || line[i] == 0x09) { i += 1 }
            guard i < line.endIndex else { break }
            let start = i
            while i < line.endIndex && line[i] != 0x20 && line[i] != 0x09 { i += 1 }
            fields.append(line[start..<i])
            // INFO and -ERR carry free text after the verb: stop splitting there.
            if fields.count == 1, Self.isVerb(fields[0], "INFO") || Self.isVerb(fields[0], "-ERR") { break }
        }
        guard let verb = fields.first else { throw NATSError.protocolError(Self.truncate(line)) }
        if Self.isVerb(verb, "MSG") {
            // MSG <subject> <sid> [reply] <#bytes>
            guard fields.count == 4 || fields.count == 5,
                  let sid = Self.parseInt(fields[2]),
                  let total = Self.parseInt(fields.last!), total <= Self.maxPayload
            else { throw NATSError.protocolError(Self.truncate(line)) }
            pending = PendingMessage(
                subject: String(decoding: fields[1], as: UTF8.self), sid: UInt64(sid),
                reply: fields.count == 5 ? String(decoding: fields[3], as: UTF8.self) : nil,
                headerLength: 0, totalLength: total)
            return nil
        }
        if Self.isVerb(verb, "HMSG") {
            // HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>
            guard fields.count == 5 || fields.count == 6,
                  let sid = Self.parseInt(fields[2]),
                  let hdr = Self.parseInt(fields[fields.count - 2]),
                  let total = Self.parseInt(fields[fields.count - 1]),
                  total <= Self.maxPayload, hdr <= total
            else { throw NATSError.protocolError(Self.truncate(line)) }
            pending = PendingMessage(
                subject: String(decoding: fields[1], as: UTF8.self), sid: UInt64(sid),
                reply: fields.count == 6 ? String(decoding: fields[3], as: UTF8.self) : nil,
                headerLength: hdr, totalLength: total)
            return nil
        }
        if fields.count == 1 {
            if Self.isVerb(verb, "PING") { return .ping }
            if Self.isVerb(verb, "PONG") { return .pong }
            if Self.isVerb(verb, "+OK") { return .ok }
        }
        if Self.isVerb(verb, "INFO") {
            let rest = line[verb.endIndex...].drop(while: { $0 == 0x20 || $0 == 0x09 })
            guard rest.first == UInt8(ascii: "{") else { throw NATSError.protocolError(Self.truncate(line)) }
            return .info(String(decoding: rest, as: UTF8.self))
        }
        if Self.isVerb(verb, "-ERR") {
            var text = String(decoding: line[verb.endIndex...], as: UTF8.self).trimmingCharacters(in: " \t")
            if text.hasPrefix("'") && text.hasSuffix("'") && text.count >= 2 {
                text = String(text.dropFirst().dropLast())
            }
            return .err(text)
        }
        throw NATSError.protocolError(Self.truncate(line))
    }

    private static func isVerb(_ field: ByteBufferView, _ verb: StaticString) -> Bool {
        guard field.count == verb.utf8CodeUnitCount else { return false }
        let v = UnsafeBufferPointer(start: verb.utf8Start, count: verb.utf8CodeUnitCount)
        var j = 0
        for b in field {
            let u = (b >= 97 && b <= 122) ? b - 32 : b
            if u != v[j] { return false }
            j += 1
        }
        return true
    }

    private static func parseInt(_ field: ByteBufferView) -> Int? {
        guard !field.isEmpty, field.count <= 18 else { return nil }
        var n = 0
        for b in field {
            guard b >= 48 && b <= 57 else { return nil }
            n = n * 10 + Int(b - 48)
        }
        return n
    }

    static func truncate<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let s = String(decoding: bytes.prefix(maxErrorLine), as: UTF8.self)
        return bytes.count > maxErrorLine ? s + "..." : s
    }
}
