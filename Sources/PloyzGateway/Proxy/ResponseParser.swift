#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A backend's response head, parsed straight from its bytes: only what the proxy decides on is
/// decoded; the header lines themselves stay bytes and are copied to the client as they are.
struct UpstreamResponseHead {
    /// The `x` of `HTTP/1.x`.
    var minorVersion: Int
    var status: Int
    /// The status line after the version, without its line end: `200 OK`.
    var statusText: ByteBuffer
    /// Every header line, each with its `\r\n`, without the blank line that ends the head.
    var headerLines: ByteBuffer
    /// Whether the backend keeps the connection open after this response.
    var keepAlive: Bool
    var contentLength: Int?
    var chunked: Bool
    /// Names a `Connection` header lists besides `close`, `keep-alive` and `upgrade` (lower-cased):
    /// hop-by-hop like the standard ones.
    var connectionExtras: [String]
    /// The header lines the client may see: `headerLines` without hop-by-hop headers and without a
    /// `Content-Length` that does not frame the body (beside `Transfer-Encoding`, or on 204/304 and 1xx).
    /// The same bytes as `headerLines` when nothing had to go. Names in `connectionExtras` are still in it.
    var forwardedLines: ByteBuffer

    /// 1xx other than 101: an interim response (100 Continue, 103 Early Hints); the final head follows.
    var isInformational: Bool { status >= 100 && status < 200 && status != 101 }
    /// 1xx, 204 and 304 responses have no body, whatever their headers say.
    var hasBodilessStatus: Bool { status < 200 || status == 204 || status == 304 }
}

/// The error of a backend that does not speak HTTP/1.x well enough to proxy.
struct UpstreamProtocolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses the responses on one backend connection, one after another, without copying bodies:
/// body events are slices of the bytes read. A pure state machine, fed by `UpstreamConnection`.
///
/// Bodies framed by `Content-Length` are counted, chunked bodies are decoded (chunk data only, and
/// the trailer lines at the end), and a body without either ends when the backend closes.
struct ResponseParser {
    enum Event {
        /// An interim 1xx response; parsing goes on with the next head.
        case informational(UpstreamResponseHead)
        /// The final response head; its body and end follow.
        case head(UpstreamResponseHead)
        /// 101 Switching Protocols: the bytes after it belong to the new protocol and stay unparsed.
        case upgrade(UpstreamResponseHead)
        case body(ByteBuffer)
        /// The response is complete; `trailers` holds a chunked body's trailer lines (each with `\r\n`).
        case end(trailers: ByteBuffer?)
    }

    private enum State {
        case head
        case contentLength(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The `\r\n` after a chunk's data.
        case chunkDataEnd(seenCR: Bool)
        case trailers
        case untilClose
        /// The response is whole (a body-less head, or the last body bytes went out): `.end` is next.
        case ending
        case upgraded
    }

    /// The largest response head (and trailer block) accepted.
    static let maxHeadBytes = 64 * 1024
    /// The longest chunk-size line (with extensions) accepted.
    static let maxChunkLineBytes = 4 * 1024

    private var state = State.head
    /// Bytes of a head or line that arrived in pieces, kept until it is whole.
    private var pending: ByteBuffer?
    /// The trailer lines of the chunked body being read, so far.
    private var trailerLines: ByteBuffer?
    /// True while the request in flight was a HEAD: its response has no body whatever it says.
    var expectsNoBody = false

    /// True after a 101: the connection no longer carries HTTP.
    var isUpgraded: Bool {
        if case .upgraded = state { return true }
        return false
    }

    /// True between responses: no partial response has been read.
    var isBetweenResponses: Bool {
        if case .head = state { return pending == nil }
        return false
    }

    /// The next event from `input`, consuming what it used; nil when `input` holds no whole event
    /// (the rest is kept for the next call) or after an upgrade (the rest stays in `input`).
    mutating func next(_ input: inout ByteBuffer) throws -> Event? {
        switch state {
        case .upgraded:
            return nil
        case .ending:
            return finishResponse(trailers: nil)
        case .head:
            guard let headBytes = try takeBlock(from: &input, endingWith: .blankLine, limit: Self.maxHeadBytes, what: "response head") else { return nil }
            return try headEvent(headBytes)
        case .contentLength(let remaining):
            guard input.readableBytes > 0 else { return nil }
            let count = min(remaining, input.readableBytes)
            let body = input.readSlice(length: count)!
            state = count == remaining ? .ending : .contentLength(remaining: remaining - count)
            return .body(body)
        case .chunkSize:
            guard let line = try takeBlock(from: &input, endingWith: .lineEnd, limit: Self.maxChunkLineBytes, what: "chunk size line") else { return nil }
            let size = try Self.chunkSize(line)
            state = size == 0 ? .trailers : .chunkData(remaining: size)
            return try next(&input)
        case .chunkData(let remaining):
            guard input.readableBytes > 0 else { return nil }
            let count = min(remaining, input.readableBytes)
            let body = input.readSlice(length: count)!
            state = count == remaining ? .chunkDataEnd(seenCR: false) : .chunkData(remaining: remaining - count)
            return .body(body)
        case .chunkDataEnd(let seenCR):
            guard let byte = input.readInteger(as: UInt8.self) else { return nil }
            guard byte == (seenCR ? 0x0A : 0x0D) else { throw UpstreamProtocolError("chunk data longer than its size") }
            state = seenCR ? .chunkSize : .chunkDataEnd(seenCR: true)
            return try next(&input)
        case .trailers:
            guard var line = try takeBlock(from: &input, endingWith: .lineEnd, limit: Self.maxHeadBytes, what: "trailer line") else { return nil }
            guard line.readableBytes > 2 else { return finishResponse(trailers: trailerLines) }
            try Self.forEachHeaderLine(in: line) { _, _, _ in }
            var lines = trailerLines ?? ByteBufferAllocator().buffer(capacity: 128)
            lines.writeBuffer(&line)
            guard lines.readableBytes <= Self.maxHeadBytes else { throw UpstreamProtocolError("trailers longer than \(Self.maxHeadBytes) bytes") }
            trailerLines = lines
            return try next(&input)
        case .untilClose:
            guard input.readableBytes > 0 else { return nil }
            return .body(input.readSlice(length: input.readableBytes)!)
        }
    }

    /// The backend closed the connection: the end of a body that runs until close, nil otherwise
    /// (the response was cut short, or none was in progress).
    mutating func inputClosed() -> Event? {
        guard case .untilClose = state else { return nil }
        return finishResponse(trailers: nil)
    }

    // MARK: Pieces

    /// What ends a block: a line, or a head (a line and an empty line).
    private enum Terminator: Int {
        case lineEnd = 2
        case blankLine = 4
    }

    private mutating func finishResponse(trailers: ByteBuffer?) -> Event {
        state = .head
        trailerLines = nil
        return .end(trailers: trailers)
    }

    /// Takes bytes up to and including `terminator` from what is pending and `input`; nil (keeping
    /// the bytes) when the terminator has not arrived yet.
    private mutating func takeBlock(from input: inout ByteBuffer, endingWith terminator: Terminator, limit: Int, what: String) throws -> ByteBuffer? {
        if var held = pending {
            // Only the bytes that can complete the terminator are searched again.
            let searchFrom = max(0, held.readableBytes - (terminator.rawValue - 1))
            held.writeBuffer(&input)
            if let end = Self.find(terminator, in: held, from: searchFrom), end + terminator.rawValue <= limit {
                let block = held.readSlice(length: end + terminator.rawValue)!
                pending = nil
                input = held
                return block
            }
            guard held.readableBytes < limit else { throw UpstreamProtocolError("\(what) longer than \(limit) bytes") }
            pending = held
            return nil
        }
        if let end = Self.find(terminator, in: input, from: 0) {
            guard end + terminator.rawValue <= limit else { throw UpstreamProtocolError("\(what) longer than \(limit) bytes") }
            return input.readSlice(length: end + terminator.rawValue)!
        }
        guard input.readableBytes < limit else { throw UpstreamProtocolError("\(what) longer than \(limit) bytes") }
        // A copy: the read buffer it came from is reused by the channel.
        var held = ByteBufferAllocator().buffer(capacity: max(input.readableBytes * 2, 256))
        held.writeBuffer(&input)
        pending = held
        return nil
    }

    /// The offset (from the reader index) where `terminator` starts in `buffer`, searching from `offset`.
    private static func find(_ terminator: Terminator, in buffer: ByteBuffer, from offset: Int) -> Int? {
        buffer.withUnsafeReadableBytes { find(terminator, in: $0, from: offset) }
    }

    private static func find(_ terminator: Terminator, in bytes: UnsafeRawBufferPointer, from offset: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let length = terminator.rawValue
        // Every terminator ends in "\n": memchr finds the candidates, the bytes before confirm them.
        var index = offset + length - 1
        while index < bytes.count {
            guard let found = memchr(base + index, 0x0A, bytes.count - index) else { return nil }
            let newline = base.distance(to: UnsafeRawPointer(found))
            let start = newline - length + 1
            if bytes[newline - 1] == 0x0D && (length == 2 || bytes[newline - 2] == 0x0A && bytes[newline - 3] == 0x0D) {
                return start
            }
            index = newline + 1
        }
        return nil
    }

    private mutating func headEvent(_ headBytes: ByteBuffer) throws -> Event {
        var head = try Self.parseHead(headBytes)
        if head.status == 101 {
            state = .upgraded
            return .upgrade(head)
        }
        if head.isInformational {
            return .informational(head)
        }
        if expectsNoBody || head.hasBodilessStatus {
            state = .ending
            return .head(head)
        }
        if head.chunked {
            state = .chunkSize
        } else if let length = head.contentLength {
            if length == 0 {
                state = .ending
            } else {
                state = .contentLength(remaining: length)
            }
        } else {
            state = .untilClose
            head.keepAlive = false
        }
        return .head(head)
    }

    /// Parses a whole head (status line, header lines, blank line).
    static func parseHead(_ bytes: ByteBuffer) throws -> UpstreamResponseHead {
        var buffer = bytes
        guard let lineEnd = find(.lineEnd, in: buffer, from: 0) else { throw UpstreamProtocolError("response head without a status line") }
        let statusLine = buffer.readSlice(length: lineEnd)!
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.moveWriterIndex(to: buffer.writerIndex - 2) // the blank line's own "\r\n"
        let (minor, status, statusText) = try parseStatusLine(statusLine)
        var head = UpstreamResponseHead(minorVersion: minor, status: status, statusText: statusText, headerLines: buffer,
                                        keepAlive: minor >= 1, contentLength: nil, chunked: false, connectionExtras: [],
                                        forwardedLines: buffer)
        var sawTransferEncoding = false
        var lastCodingIsChunked = false
        // Lines for the client are copied only once a line has to be left out; until then they are `buffer` itself.
        var forwarded: ByteBuffer?
        var linesStart = 0
        try forEachHeaderLine(in: buffer) { name, value, line in
            let role = HeaderRole.of(name)
            let forward: Bool
            switch role {
            case .endToEnd, .host, .forwarding, .proxy:
                forward = true
            case .contentLength:
                forward = !head.hasBodilessStatus
                let length = try parseContentLength(value)
                if let earlier = head.contentLength, earlier != length {
                    throw UpstreamProtocolError("two different Content-Length headers (\(earlier), \(length))")
                }
                head.contentLength = length
            case .transferEncoding:
                forward = false
                sawTransferEncoding = true
                lastCodingIsChunked = false
                forEachToken(in: value) { coding in lastCodingIsChunked = HeaderRole.equalsIgnoringCase(coding, "chunked") }
            case .connection:
                forward = false
                forEachToken(in: value) { token in
                    if HeaderRole.equalsIgnoringCase(token, "close") {
                        head.keepAlive = false
                    } else if HeaderRole.equalsIgnoringCase(token, "keep-alive") {
                        if minor == 0 { head.keepAlive = true }
                    } else if !HeaderRole.equalsIgnoringCase(token, "upgrade") {
                        head.connectionExtras.append(String(decoding: token, as: UTF8.self).lowercased())
                    }
                }
            case .upgrade, .dropped:
                forward = false
            }
            if !forward && forwarded == nil {
                var copy = ByteBufferAllocator().buffer(capacity: buffer.readableBytes)
                copy.writeBytes(UnsafeRawBufferPointer(start: line.baseAddress! - linesStart, count: linesStart))
                forwarded = copy
            }
            if forward { forwarded?.writeBytes(line) }
            linesStart += line.count
        }
        if let forwarded { head.forwardedLines = forwarded }
        if sawTransferEncoding {
            // The last coding decides: chunked ends by itself, anything else runs until the close.
            head.chunked = lastCodingIsChunked
            if head.contentLength != nil {
                // Not the framing: the client never sees it (rare, so a second pass).
                var lines = ByteBufferAllocator().buffer(capacity: head.forwardedLines.readableBytes)
                try forEachHeaderLine(in: head.forwardedLines) { name, _, line in
                    if HeaderRole.of(name) != .contentLength { lines.writeBytes(line) }
                }
                head.forwardedLines = lines
                head.contentLength = nil
            }
            if !head.chunked { head.keepAlive = false }
        }
        return head
    }

    /// `HTTP/1.x NNN reason`.
    private static func parseStatusLine(_ line: ByteBuffer) throws -> (minor: Int, status: Int, text: ByteBuffer) {
        let parsed: (Int, Int)? = line.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 12, bytes.starts(with: "HTTP/1.".utf8), bytes[8] == UInt8(ascii: " ") else { return nil }
            let minor = Int(bytes[7]) - 48
            guard minor == 0 || minor == 1 else { return nil }
            var status = 0
            for index in 9..<12 {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                status = status * 10 + digit
            }
            guard status >= 100, bytes.count == 12 || bytes[12] == UInt8(ascii: " ") else { return nil }
            for byte in bytes[12...] where byte < 0x20 && byte != 0x09 || byte == 0x7F { return nil }
            return (minor, status)
        }
        guard let (minor, status) = parsed else {
            throw UpstreamProtocolError("malformed status line \"\(String(decoding: line.readableBytesView.prefix(64), as: UTF8.self))\"")
        }
        return (minor, status, line.getSlice(at: line.readerIndex + 9, length: line.readableBytes - 9)!)
    }

    /// Calls `body` with the name, the value (without surrounding blanks) and the whole line (with its
    /// `\r\n`) of every `name: value\r\n` line in `lines`, after checking it: a token name, no folded
    /// lines, no control bytes in values.
    static func forEachHeaderLine(in lines: ByteBuffer,
                                  _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ line: UnsafeRawBufferPointer) throws -> Void) throws {
        try lines.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count {
                guard let lineEnd = find(.lineEnd, in: bytes, from: start) else { throw UpstreamProtocolError("header line without its line end") }
                let end = lineEnd
                var colon = start
                while colon < end && bytes[colon] != UInt8(ascii: ":") {
                    guard isTokenByte(bytes[colon]) else { throw UpstreamProtocolError("invalid header name") }
                    colon += 1
                }
                guard colon > start, colon < end else { throw UpstreamProtocolError("header line without a name and a colon") }
                var valueStart = colon + 1
                var valueEnd = end
                while valueStart < valueEnd && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
                while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                for index in valueStart..<valueEnd {
                    let byte = bytes[index]
                    guard byte >= 0x20 && byte != 0x7F || byte == 0x09 else { throw UpstreamProtocolError("control byte in a header value") }
                }
                try body(UnsafeRawBufferPointer(rebasing: bytes[start..<colon]), UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd]),
                         UnsafeRawBufferPointer(rebasing: bytes[start..<end + 2]))
                start = end + 2
            }
        }
    }

    /// RFC 9110 token characters (header names).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    private static func parseContentLength(_ value: UnsafeRawBufferPointer) throws -> Int {
        guard !value.isEmpty, value.count <= 18 else { throw UpstreamProtocolError("invalid Content-Length") }
        var length = 0
        for byte in value {
            guard byte >= 48 && byte <= 57 else { throw UpstreamProtocolError("invalid Content-Length \"\(String(decoding: value, as: UTF8.self))\"") }
            length = length * 10 + Int(byte - 48)
        }
        return length
    }

    /// Calls `body` with each comma-separated token of a header value, without surrounding blanks.
    static func forEachToken(in value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var start = 0
        while start < value.count {
            var end = start
            while end < value.count && value[end] != UInt8(ascii: ",") { end += 1 }
            var tokenStart = start
            var tokenEnd = end
            while tokenStart < tokenEnd && (value[tokenStart] == 0x20 || value[tokenStart] == 0x09) { tokenStart += 1 }
            while tokenEnd > tokenStart && (value[tokenEnd - 1] == 0x20 || value[tokenEnd - 1] == 0x09) { tokenEnd -= 1 }
            if tokenEnd > tokenStart { try body(UnsafeRawBufferPointer(rebasing: value[tokenStart..<tokenEnd])) }
            start = end + 1
        }
    }

    /// A chunk-size line: hex digits, then optional extensions after `;`, then `\r\n`.
    private static func chunkSize(_ line: ByteBuffer) throws -> Int {
        let size: Int? = line.withUnsafeReadableBytes { bytes in
            var size = 0
            var digits = 0
            for byte in bytes.dropLast(2) {
                let value: Int
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte) - 48
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte) - 87
                case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte) - 55
                case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                    return digits > 0 ? size : nil
                default:
                    return nil
                }
                digits += 1
                guard digits <= 15 else { return nil }
                size = size * 16 + value
            }
            return digits > 0 ? size : nil
        }
        guard let size else { throw UpstreamProtocolError("malformed chunk size line") }
        return size
    }
}
