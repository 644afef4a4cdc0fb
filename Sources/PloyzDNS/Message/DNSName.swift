/// A domain name held in uncompressed wire form (length-prefixed labels ending in the root label).
///
/// Equality is byte-exact, so it is case-sensitive; zone lookups use `lowercased()` keys because
/// DNS names compare case-insensitively (RFC 4343) while answers echo the client's spelling.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// Longest name on the wire, root label included (RFC 1035 section 2.3.4).
    public static let maxWireLength = 255
    /// Longest label (RFC 1035 section 2.3.4).
    public static let maxLabelLength = 63

    /// The name's wire bytes, always ending with the zero root label.
    public let wire: [UInt8]

    /// The root name `.`.
    public static let root = DNSName(validatedWire: [0])

    /// Wraps bytes the caller has already checked to be a well-formed uncompressed name.
    init(validatedWire: [UInt8]) { wire = validatedWire }

    /// Parses dotted text such as `web.default.ployz.internal` (trailing dot optional, `.` is root).
    public init(_ text: String) throws(DNSNameError) {
        if text == "." || text.isEmpty { self = .root; return }
        let body = text.hasSuffix(".") ? String(text.dropLast()) : text
        var wire: [UInt8] = []
        for label in body.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty else { throw .emptyLabel(text) }
            guard bytes.count <= Self.maxLabelLength else { throw .labelTooLong(String(label)) }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        wire.append(0)
        guard wire.count <= Self.maxWireLength else { throw .nameTooLong(text) }
        self.wire = wire
    }

    /// Builds a name from labels, e.g. `["web", "default"]` + `ployz.internal.`.
    public init(labels: [String], under parent: DNSName = .root) throws(DNSNameError) {
        var wire: [UInt8] = []
        for label in labels {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty else { throw .emptyLabel(labels.joined(separator: ".")) }
            guard bytes.count <= Self.maxLabelLength else { throw .labelTooLong(label) }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        wire.append(contentsOf: parent.wire)
        guard wire.count <= Self.maxWireLength else { throw .nameTooLong(labels.joined(separator: ".") + "." + parent.description) }
        self.wire = wire
    }

    /// Hashes the bytes in one call; the synthesized conformance would feed them one at a time.
    public func hash(into hasher: inout Hasher) {
        wire.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool { lhs.wire == rhs.wire }

    /// The labels, leftmost first, without the root label.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var index = 0
        while wire[index] != 0 {
            let length = Int(wire[index])
            result.append(wire[(index + 1)..<(index + 1 + length)])
            index += 1 + length
        }
        return result
    }

    public var labelCount: Int { labels.count }

    /// The same name with ASCII letters lower-cased (the canonical form zones are keyed by).
    public func lowercased() -> DNSName {
        DNSName(validatedWire: wire.map(asciiLowercase))
    }

    /// True when both names are equal ignoring ASCII case.
    public func equalsIgnoringCase(_ other: DNSName) -> Bool {
        wire.count == other.wire.count && zip(wire, other.wire).allSatisfy { asciiLowercase($0) == asciiLowercase($1) }
    }

    /// True when this name is `ancestor` or lies below it, ignoring ASCII case.
    public func isSubdomain(of ancestor: DNSName) -> Bool {
        let offset = wire.count - ancestor.wire.count
        guard offset >= 0 else { return false }
        // The suffix must start on a label boundary, not in the middle of a label's bytes.
        var index = 0
        while index < offset { index += 1 + Int(wire[index]) }
        guard index == offset else { return false }
        for i in 0..<ancestor.wire.count where asciiLowercase(wire[offset + i]) != asciiLowercase(ancestor.wire[i]) {
            return false
        }
        return true
    }

    /// The name without its leftmost label; root stays root.
    public var parent: DNSName {
        guard wire[0] != 0 else { return self }
        return DNSName(validatedWire: Array(wire[(1 + Int(wire[0]))...]))
    }

    /// Dotted text with a trailing dot; bytes outside printable ASCII, dots and backslashes are
    /// escaped as in zone files (`\046`, `\\`).
    public var description: String {
        if wire == [0] { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7e:
                    text += String(UnicodeScalar(byte))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            text += "."
        }
        return text
    }
}

/// Why text could not be made into a domain name.
public enum DNSNameError: Error, Equatable, CustomStringConvertible {
    case emptyLabel(String)
    case labelTooLong(String)
    case nameTooLong(String)

    public var description: String {
        switch self {
        case .emptyLabel(let name): "\"\(name)\": empty label; labels are separated by single dots"
        case .labelTooLong(let label): "label \"\(label)\" is longer than 63 bytes"
        case .nameTooLong(let name): "\"\(name)\" is longer than 255 bytes on the wire"
        }
    }
}

@inline(__always)
func asciiLowercase(_ byte: UInt8) -> UInt8 {
    byte &+ (byte >= 0x41 && byte <= 0x5a ? 0x20 : 0)
}
