/// What a header means to the proxy. Names are compared case-insensitively, as bytes: the response
/// side never turns a header into a `String`.
enum HeaderRole {
    /// Forwarded as is.
    case endToEnd
    case connection, upgrade, transferEncoding, contentLength, forwardedFor
    /// `X-Forwarded-Proto`/`-Host`: the gateway sets its own on requests.
    case forwardedProtoOrHost
    /// Describes one connection (RFC 9110 §7.6.1) or is replaced by the gateway's own value.
    case dropped

    /// True when a request with this header cannot be forwarded with only headers appended.
    var isSpecialInRequests: Bool {
        switch self {
        case .endToEnd, .contentLength: false
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
        case 7:
            if equalsIgnoringCase(name, "upgrade") { return .upgrade }
            if equalsIgnoringCase(name, "trailer") { return .dropped }
        case 10:
            if equalsIgnoringCase(name, "connection") { return .connection }
            if equalsIgnoringCase(name, "keep-alive") { return .dropped }
        case 14:
            if equalsIgnoringCase(name, "content-length") { return .contentLength }
        case 15:
            if equalsIgnoringCase(name, "x-forwarded-for") { return .forwardedFor }
        case 16:
            if equalsIgnoringCase(name, "x-forwarded-host") { return .forwardedProtoOrHost }
            if equalsIgnoringCase(name, "proxy-connection") { return .dropped }
        case 17:
            if equalsIgnoringCase(name, "transfer-encoding") { return .transferEncoding }
            if equalsIgnoringCase(name, "x-forwarded-proto") { return .forwardedProtoOrHost }
        default:
            break
        }
        return .endToEnd
    }

    /// `name` equals `lowercased` ignoring ASCII case (`lowercased` holds no upper-case letters).
    static func equalsIgnoringCase(_ name: UnsafeRawBufferPointer, _ lowercased: StaticString) -> Bool {
        guard name.count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for index in 0..<name.count {
            var byte = name[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[index] { return false }
        }
        return true
    }
}
