#if canImport(Glibc)
import Glibc
#endif

/// Canonical text for the values WireGuard compares, so a desired `10.1.0.7/24` equals the `10.1.0.0/24`
/// the device reports and `[fd00::0001]:51820` equals `[fd00::1]:51820`. Parsing goes through
/// inet_pton/inet_ntop: strict (no leading zeros, no zones) and fast enough for thousands of peers.
enum WireGuardText {
    /// A CIDR with host bits cleared and IPv6 in RFC 5952 form; nil when it is not a CIDR.
    static func normalizedCIDR(_ text: String) -> String? {
        guard let slash = text.lastIndex(of: "/"),
              let prefix = decimal(text[text.index(after: slash)...]),
              let bytes = addressBytes(text[..<slash]), prefix <= bytes.count * 8 else { return nil }
        let masked = bytes.enumerated().map { index, byte -> UInt8 in
            let bitsLeft = prefix - index * 8
            if bitsLeft >= 8 { return byte }
            if bitsLeft <= 0 { return 0 }
            return byte & UInt8(truncatingIfNeeded: 0xff << (8 - bitsLeft))
        }
        return "\(format(masked))/\(prefix)"
    }

    /// `host:port` for IPv4, `[host]:port` for IPv6, host canonical; nil when it is neither.
    static func normalizedEndpoint(_ text: String) -> String? {
        guard let colon = text.lastIndex(of: ":"),
              let port = decimal(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        let host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") {
            guard let bytes = addressBytes(host.dropFirst().dropLast()), bytes.count == 16 else { return nil }
            return "[\(format(bytes))]:\(port)"
        }
        guard let bytes = addressBytes(host), bytes.count == 4 else { return nil }
        return "\(format(bytes)):\(port)"
    }

    /// The canonical endpoint, or an error saying what an endpoint must look like.
    static func validEndpoint(_ text: String) throws -> String {
        guard let endpoint = normalizedEndpoint(text) else {
            throw WireGuardError.invalidValue("endpoint \"\(text)\" must be IPv4:PORT or [IPv6]:PORT")
        }
        return endpoint
    }

    /// The canonical CIDR, or an error saying what an allowed IP must look like.
    static func validCIDR(_ text: String) throws -> String {
        guard let cidr = normalizedCIDR(text) else {
            throw WireGuardError.invalidValue("allowed IP \"\(text)\" must be a CIDR such as 10.101.1.0/24 or fd00::1/128")
        }
        return cidr
    }

    /// Checks a listen port or keepalive interval, both 16-bit on the wire.
    static func validUInt16(_ value: Int, _ what: String) throws -> Int {
        guard (0...65535).contains(value) else { throw WireGuardError.invalidValue("\(what) \(value) must be 0-65535") }
        return value
    }

    /// A plain decimal number (digits only: no sign, no spaces), at most 5 digits.
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text)
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address.
    private static func addressBytes(_ text: Substring) -> [UInt8]? {
        var storage = in6_addr()
        return String(text).withCString { cString in
            withUnsafeMutableBytes(of: &storage) { raw -> [UInt8]? in
                if inet_pton(AF_INET, cString, raw.baseAddress) == 1 { return Array(raw.prefix(4)) }
                if inet_pton(AF_INET6, cString, raw.baseAddress) == 1 { return Array(raw) }
                return nil
            }
        }
    }

    private static func format(_ bytes: [UInt8]) -> String {
        var storage = in6_addr()
        withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &storage, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(cString: buffer)
    }
}
