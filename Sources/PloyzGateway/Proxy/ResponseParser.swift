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
    /// True when some header line must not reach the client as it is (see `HeaderRole.isSpecialInResponses`).
    var hasHopByHopHeaders: Bool

    /// 1xx other than 101: an interim response (100 Continue, 103 Early Hints); the final head follows.
    var isInformational: Bool { status >= 100 && status < 200 && status != 101 }
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
            guard let headBytes = try takeBlock(from: &input, endingWith: Self.blankLine, limit: Self.maxHeadBytes, what: "response head") else { return nil }
            return try headEvent(headBytes)
        case .contentLength(let remaining):
            guard input.readableBytes > 0 else { return nil }
            let count = min(remaining, input.readableBytes)
            let body = input.readSlice(length: count)!
            state = count == remaining ? .ending : .contentLength(remaining: remaining - count)
            return .body(body)
        case .chunkSize:
            guard let line = try takeBlock(from: &input, endingWith: Self.lineEnd, limit: Self.maxChunkLineBytes, what: "chunk size line") else { return nil }
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
            guard var line = try takeBlock(from: &input, endingWith: Self.lineEnd, limit: Self.maxHeadBytes, what: "trailer line") else { return nil }
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

    private static let lineEnd: [UInt8] = Array("\r\n".utf8)
    private static let blankLine: [UInt8] = Array("\r\n\r\n".utf8)

    private mutating func finishResponse(trailers: ByteBuffer?) -> Event {
        state = .head
        trailerLines = nil
        return .end(trailers: trailers)
    }

    /// Takes bytes up to and including `terminator` from what is pending and `input`; nil (keeping
    /// the bytes) when the terminator has not arrived yet.
    private mutating func takeBlock(from input: inout ByteBuffer, endingWith terminator: [UInt8], limit: Int, what: String) throws -> ByteBuffer? {
        if var held = pending {
            // Only the bytes that can complete the terminator are searched again.
            let searchFrom = max(0, held.readableBytes - (terminator.count - 1))
            held.writeBuffer(&input)
            if let end = Self.find(terminator, in: held, from: searchFrom), end + terminator.count <= limit {
                let block = held.readSlice(length: end + terminator.count)!
                pending = nil
                input = held
                return block
            }
            guard held.readableBytes < limit else { throw UpstreamProtocolError("\(what) longer than \(limit) bytes") }
            pending = held
            return nil
        }
        if let end = Self.find(terminator, in: input, from: 0) {
            guard end + terminator.count <= limit else { throw UpstreamProtocolError("\(what) longer than \(limit) bytes") }
            return input.readSlice(length: end + terminator.count)!
        }
        guard input.readableBytes < limit else { throw UpstreamProtocolError("\(what) longer than \(limit) bytes") }
        // A copy: the read buffer it came from is reused by the channel.
        var held = ByteBufferAllocator().buffer(capacity: max(input.readableBytes * 2, 256))
        held.writeBuffer(&input)
        pending = held
        return nil
    }

    /// The offset (from the reader index) where `needle` starts in `buffer`, searching from `offset`.
    private static func find(_ needle: [UInt8], in buffer: ByteBuffer, from offset: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            guard bytes.count >= needle.count + offset else { return nil }
            let first = needle[0]
            var index = offset
            let last = bytes.count - needle.count
            while index <= last {
                if bytes[index] == first {
                    var matched = 1
                    while matched < needle.count && bytes[index + matched] == needle[matched] { matched += 1 }
                    if matched == needle.count { return index }
                }
                index += 1
            }
            return nil
        }
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
        if expectsNoBody || head.status == 204 || head.status == 304 {
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
        guard let lineEnd = find(lineEnd, in: buffer, from: 0) else { throw UpstreamProtocolError("response head without a status line") }
        let statusLine = buffer.readSlice(length: lineEnd)!
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.moveWriterIndex(to: buffer.writerIndex - 2) // the blank line's own "\r\n"
        let (minor, status, statusText) = try parseStatusLine(statusLine)
        var head = UpstreamResponseHead(minorVersion: minor, status: status, statusText: statusText, headerLines: buffer,
                                        keepAlive: minor >= 1, contentLength: nil, chunked: false, connectionExtras: [],
                                        hasHopByHopHeaders: false)
        var transferEncoding: [UInt8]?
        try forEachHeaderLine(in: buffer) { name, value, _ in
            let role = HeaderRole.of(name)
            if role.isSpecialInResponses { head.hasHopByHopHeaders = true }
            switch role {
            case .contentLength:
                let length = try parseContentLength(value)
                if let earlier = head.contentLength, earlier != length {
                    throw UpstreamProtocolError("two different Content-Length headers (\(earlier), \(length))")
                }
                head.contentLength = length
            case .transferEncoding:
                transferEncoding = Array(value)
            case .connection:
                for token in commaSeparatedTokens(value) {
                    switch token {
                    case "close": head.keepAlive = false
                    case "keep-alive": if minor == 0 { head.keepAlive = true }
                    case "upgrade": break
                    default: head.connectionExtras.append(token)
                    }
                }
            default:
                break
            }
        }
        if let transferEncoding {
            // The last coding decides: chunked ends by itself, anything else runs until the close.
            head.chunked = transferEncoding.withUnsafeBytes { commaSeparatedTokens($0).last == "chunked" }
            head.contentLength = nil
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
                var end = start
                while end + 1 < bytes.count && !(bytes[end] == 0x0D && bytes[end + 1] == 0x0A) { end += 1 }
                guard end + 1 < bytes.count else { throw UpstreamProtocolError("header line without its line end") }
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

    /// The comma-separated tokens of a header value, trimmed and lower-cased.
    static func commaSeparatedTokens(_ value: UnsafeRawBufferPointer) -> [String] {
        guard !value.isEmpty else { return [] }
        return String(decoding: value, as: UTF8.self).split(separator: ",").compactMap { part in
            let token = part.trimmingBlanks().lowercased()
            return token.isEmpty ? nil : token
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

private extension Substring {
    func trimmingBlanks() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
