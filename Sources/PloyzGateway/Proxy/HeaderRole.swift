/// What a header means to the proxy. Names are compared case-insensitively, as bytes: the response
/// side never turns a header into a `String`.
enum HeaderRole {
    /// Forwarded as is.
    case endToEnd
    case connection, upgrade, transferEncoding, contentLength, host
    /// `X-Forwarded-*` and `Forwarded`: on requests the gateway's own replace the client's, which are
    /// not trusted; on responses they pass.
    case forwarding
    /// `Proxy-*` (`Proxy-Authorization`, ...): meant for a proxy, never for the backend; responses keep them.
    case proxy
    /// Describes one connection (RFC 9110 §7.6.1) in both directions.
    case dropped

    /// True when the request head cannot be written with its lines copied as they are.
    var isSpecialInRequests: Bool {
        switch self {
        case .endToEnd, .contentLength, .host: false
        default: true
        }
    }

    static func of(_ name: String) -> HeaderRole {
        var name = name
        return name.withUTF8 { of(UnsafeRawBufferPointer($0)) }
    }

    static func of(_ name: UnsafeRawBufferPointer) -> HeaderRole {
        // Most names differ in length from every special one: one comparison settles them.
        switch name.count {
        case 2:
            if equalsIgnoringCase(name, "te") { return .dropped }
        case 4:
            if equalsIgnoringCase(name, "host") { return .host }
        case 7:
            if equalsIgnoringCase(name, "upgrade") { return .upgrade }
            if equalsIgnoringCase(name, "trailer") { return .dropped }
        case 9:
            if equalsIgnoringCase(name, "forwarded") { return .forwarding }
        case 10:
            if equalsIgnoringCase(name, "connection") { return .connection }
            if equalsIgnoringCase(name, "keep-alive") { return .dropped }
        case 14:
            if equalsIgnoringCase(name, "content-length") { return .contentLength }
        case 16:
            if equalsIgnoringCase(name, "proxy-connection") { return .dropped }
        case 17:
            if equalsIgnoringCase(name, "transfer-encoding") { return .transferEncoding }
        default:
            break
        }
        if name.count > 12 && startsIgnoringCase(name, "x-forwarded-") { return .forwarding }
        if name.count > 6 && startsIgnoringCase(name, "proxy-") { return .proxy }
        return .endToEnd
    }

    /// `name` equals `lowercased` ignoring ASCII case (`lowercased` holds no upper-case letters).
    static func equalsIgnoringCase(_ name: UnsafeRawBufferPointer, _ lowercased: StaticString) -> Bool {
        name.count == lowercased.utf8CodeUnitCount && startsIgnoringCase(name, lowercased)
    }

    /// `name` begins with `lowercased`, ignoring ASCII case.
    static func startsIgnoringCase(_ name: UnsafeRawBufferPointer, _ lowercased: StaticString) -> Bool {
        guard name.count >= lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for index in 0..<lowercased.utf8CodeUnitCount {
            var byte = name[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[index] { return false }
        }
        return true
    }
}
