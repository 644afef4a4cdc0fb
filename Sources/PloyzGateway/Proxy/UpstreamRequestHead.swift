import NIOCore
import NIOHTTP1

/// Why a request is answered by the gateway itself instead of reaching a backend. The connection
/// closes after the answer: a request whose framing or target is in doubt leaves the rest of the
/// connection in doubt too.
struct RequestRefusal: Error, Equatable, CustomStringConvertible {
    let status: HTTPResponseStatus
    let description: String

    init(_ status: HTTPResponseStatus, _ description: String) {
        self.status = status
        self.description = description
    }

    /// A 400 Bad Request.
    init(_ description: String) {
        self.init(.badRequest, description)
    }
}

/// A client's request head, checked against RFC 9110/9112 and written as bytes for the backend:
/// hop-by-hop fields removed, the client's `X-Forwarded-*` replaced by the gateway's, framing explicit.
///
/// NIO's llhttp decoder has already refused what it parses strictly (bad tokens, obs-fold, control
/// bytes, bad chunk framing); the checks here are about meaning, which llhttp leaves to the server:
/// one `Host` that agrees with the target, one valid length, `chunked` as the final coding.
struct UpstreamRequestHead {
    /// The request line and header lines as the backend gets them, with the blank line.
    var bytes: ByteBuffer
    /// What routes are matched by: the `Host` field, or the authority of an absolute-form target.
    var host: String
    /// The origin-form target (a path and query), as the backend gets it.
    var target: String
    /// A WebSocket handshake: `Connection: upgrade` and `Upgrade: websocket` go to the backend.
    var isUpgrade: Bool
    /// The body goes up chunked (the client sent it chunked; the decoder took the framing off).
    var chunkedBody: Bool
    /// The client asked to switch protocols (`Connection: upgrade` and an `Upgrade` field). NIO's
    /// decoder stops parsing after such a request, so unless the backend switches (101), the client
    /// connection closes after the response.
    var asksToSwitchProtocols: Bool

    /// Longer request targets get 414 (RFC 9112 §3: URI Too Long).
    static let maxTargetBytes = 8 * 1024

    /// The lines every request of one client connection gets: `X-Forwarded-For` and `-Proto`, and
    /// the name of `X-Forwarded-Host`, whose value (the request's host) follows.
    static func forwardingLines(clientAddress: String, scheme: String) -> ByteBuffer {
        ByteBuffer(string: "x-forwarded-for: \(clientAddress)\r\nx-forwarded-proto: \(scheme)\r\nx-forwarded-host: ")
    }

    /// Checks `head` and writes it for the backend, after `forwardingLines` of its connection.
    init(_ head: HTTPRequestHead, forwardingLines: ByteBuffer) throws(RequestRefusal) {
        guard head.uri.utf8.count <= Self.maxTargetBytes else {
            throw RequestRefusal(.uriTooLong, "request target longer than \(Self.maxTargetBytes) bytes")
        }
        let (target, authority) = try Self.originForm(of: head.uri, method: head.method)
        // HTTP/2 fields come from HPACK, not llhttp: their values are checked here.
        if head.version.major == 2 { try Self.checkFieldValues(head.headers) }

        var buffer = ByteBufferAllocator().buffer(capacity: 256 + target.utf8.count)
        buffer.writeString(head.method.rawValue)
        buffer.writeStaticString(" ")
        buffer.writeString(target)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        let headersStart = buffer.writerIndex
        var fields = SpecialFields()
        for (name, value) in head.headers {
            let role = HeaderRole.of(name)
            if role.isSpecialInRequests {
                fields.note(role, value)
            } else {
                if role == .host {
                    fields.hosts += 1
                    fields.host = value
                } else if role == .contentLength {
                    fields.lengths += 1
                    fields.length = value
                }
                buffer.writeHeaderLine(name, value)
            }
        }
        if !fields.connectionNames.isEmpty {
            // Fields the client's `Connection` names are hop-by-hop too (rare): a second pass leaves them out.
            buffer.moveWriterIndex(to: headersStart)
            for (name, value) in head.headers where !HeaderRole.of(name).isSpecialInRequests {
                if !fields.connectionNames.contains(name.lowercased()) { buffer.writeHeaderLine(name, value) }
            }
        }

        let host = try Self.host(fields, authority: authority, version: head.version)
        let framing = try Self.bodyFraming(fields, version: head.version)
        let isUpgrade = fields.asksForUpgrade && head.method == .GET && fields.upgradeIsWebSocket
        if isUpgrade {
            buffer.writeStaticString("connection: upgrade\r\nupgrade: websocket\r\n")
        }
        switch framing {
        case .chunked(let codings):
            buffer.writeHeaderLine("transfer-encoding", codings)
        case .length:
            break
        case .none:
            if head.method == .POST || head.method == .PUT || head.method == .PATCH { buffer.writeStaticString("content-length: 0\r\n") }
        }
        buffer.writeImmutableBuffer(forwardingLines)
        buffer.writeString(host)
        buffer.writeStaticString("\r\n\r\n")

        self.bytes = buffer
        self.host = host
        self.target = target
        self.isUpgrade = isUpgrade
        self.asksToSwitchProtocols = fields.asksForUpgrade && fields.sawUpgrade
        if case .chunked = framing { self.chunkedBody = true } else { self.chunkedBody = false }
    }

    // MARK: Checks

    /// What the request's fields say beyond their lines, gathered in one pass.
    private struct SpecialFields {
        var hosts = 0
        var host = ""
        var lengths = 0
        var length = ""
        /// Every coding of every `Transfer-Encoding` field, in order, lower-cased.
        var codings: [String] = []
        var sawTransferEncoding = false
        var asksForUpgrade = false
        var sawUpgrade = false
        var upgradeIsWebSocket = false
        /// Names the `Connection` field lists besides `close`, `keep-alive` and `upgrade`, lower-cased.
        var connectionNames: Set<String> = []

        mutating func note(_ role: HeaderRole, _ value: String) {
            switch role {
            case .transferEncoding:
                sawTransferEncoding = true
                codings += Self.tokens(value)
            case .connection:
                for token in Self.tokens(value) {
                    switch token {
                    case "upgrade": asksForUpgrade = true
                    case "close", "keep-alive": break
                    default: connectionNames.insert(token)
                    }
                }
            case .upgrade:
                // The first protocol listed is the one asked for; only WebSocket is proxied.
                sawUpgrade = true
                upgradeIsWebSocket = Self.tokens(value).first == "websocket"
            case .endToEnd, .host, .contentLength, .forwarding, .proxy, .dropped:
                break
            }
        }

        /// The elements of a comma-separated list, trimmed and lower-cased, empty ones skipped (RFC 9110 §5.6.1).
        static func tokens(_ value: String) -> [String] {
            value.split(separator: ",").compactMap { element in
                let trimmed = element.trimmingSpacesAndTabs
                return trimmed.isEmpty ? nil : trimmed.lowercased()
            }
        }
    }

    private enum Framing {
        case none
        case length
        /// The codings to announce upstream, `chunked` last.
        case chunked(String)
    }

    /// RFC 9112 §6: `chunked` as the final coding, and only there; no length beside it; one valid length otherwise.
    private static func bodyFraming(_ fields: SpecialFields, version: HTTPVersion) throws(RequestRefusal) -> Framing {
        if fields.sawTransferEncoding {
            guard version.major != 1 || version.minor >= 1 else {
                throw RequestRefusal("Transfer-Encoding in an HTTP/1.0 request")
            }
            guard fields.lengths == 0 else { throw RequestRefusal("Content-Length beside Transfer-Encoding") }
            let codings = fields.codings.joined(separator: ", ")
            guard fields.codings.last == "chunked", fields.codings.firstIndex(of: "chunked") == fields.codings.count - 1 else {
                throw RequestRefusal("Transfer-Encoding \"\(codings)\": chunked must be the final coding, and only there")
            }
            return .chunked(codings)
        }
        guard fields.lengths <= 1 else { throw RequestRefusal("more than one Content-Length field") }
        guard fields.lengths == 1 else { return .none }
        let digits = fields.length.utf8
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw RequestRefusal("Content-Length \"\(fields.length)\" is not a length")
        }
        return .length
    }

    /// RFC 9112 §3.2: exactly one `Host` in HTTP/1.1, and the same authority as an absolute-form target.
    private static func host(_ fields: SpecialFields, authority: Substring?, version: HTTPVersion) throws(RequestRefusal) -> String {
        guard fields.hosts <= 1 else { throw RequestRefusal("more than one Host field") }
        if fields.hosts == 1 {
            guard fields.host.utf8.allSatisfy(isAuthorityByte) else { throw RequestRefusal("Host \"\(fields.host)\" is not a host name") }
        } else if version.major == 1 && version.minor >= 1 {
            throw RequestRefusal("HTTP/1.1 request without a Host field")
        }
        guard let authority else { return fields.host }
        if fields.hosts == 1 && fields.host.lowercased() != authority.lowercased() {
            throw RequestRefusal("Host \"\(fields.host)\" disagrees with the request target's authority \"\(authority)\"")
        }
        return String(authority)
    }

    /// The target as the backend gets it (RFC 9112 §3.2): an origin-form target as it is, an
    /// absolute-form `http(s)` one as its path and query, with its authority.
    private static func originForm(of uri: String, method: HTTPMethod) throws(RequestRefusal) -> (String, authority: Substring?) {
        if uri.utf8.first == UInt8(ascii: "/") { return (uri, nil) }
        if uri == "*" && method == .OPTIONS { return (uri, nil) }
        let lowered = uri.prefix(8).lowercased()
        let schemeLength = lowered.hasPrefix("http://") ? 7 : lowered.hasPrefix("https://") ? 8 : 0
        guard schemeLength > 0 else { throw RequestRefusal("request target \"\(uri)\" is neither a path nor an http(s) URI") }
        let afterScheme = uri.dropFirst(schemeLength)
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard !authority.isEmpty, authority.utf8.allSatisfy(isAuthorityByte) else {
            throw RequestRefusal("request target \"\(uri)\" has no valid authority")
        }
        let rest = afterScheme[authorityEnd...]
        let target = rest.first == "/" ? String(rest) : "/" + rest
        return (target, authority)
    }

    /// Bytes of a host and port (RFC 3986 §3.2: unreserved, sub-delims, `%`, `:`, `[`, `]`); no
    /// userinfo, which RFC 9110 §4.2.4 has recipients treat as an error.
    private static func isAuthorityByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
             UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
             UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "%"), UInt8(ascii: ":"), UInt8(ascii: "["),
             UInt8(ascii: "]"):
            true
        default:
            false
        }
    }

    /// RFC 9110 §5.5: NUL, CR and LF never appear in a field value.
    private static func checkFieldValues(_ headers: HTTPHeaders) throws(RequestRefusal) {
        for (name, value) in headers where value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) {
            throw RequestRefusal("field \(name) holds a NUL, CR or LF byte")
        }
    }
}

private extension Substring {
    /// Without leading and trailing spaces and tabs (optional whitespace, RFC 9110 §5.6.3).
    var trimmingSpacesAndTabs: Substring {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }), let last = lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return self[first...last]
    }
}
