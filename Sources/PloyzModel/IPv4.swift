/// An IPv4 address held as a host-order 32-bit integer.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad notation; returns nil for anything else (no leading zeros, no shorthand).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(part.count > 1 && part.first == "0"),
                  let octet = UInt8(part) else { return nil }
            result = result << 8 | UInt32(octet)
        }
        value = result
    }

    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An IPv4 network in CIDR notation, always normalised to its network address.
public struct IPv4CIDR: Hashable, Sendable, CustomStringConvertible, Codable {
    public let network: IPv4Address
    public let prefixLength: Int

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingSlash, badAddress(String), badPrefix(String), hostBitsSet(String)
        public var description: String {
            switch self {
            case .missingSlash: "expected ADDRESS/PREFIX, e.g. 10.101.0.0/16"
            case .badAddress(let a): "\"\(a)\" is not an IPv4 address"
            case .badPrefix(let p): "prefix length \"\(p)\" must be 0-32"
            case .hostBitsSet(let n): "host bits are set; did you mean \(n)?"
            }
        }
    }

    public init(network: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        self.network = IPv4Address(network.value & IPv4CIDR.mask(prefixLength))
    }

    /// Parses strictly: host bits must be zero so a typo is not silently "fixed".
    public static func parse(_ text: String) throws(ParseError) -> IPv4CIDR {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .missingSlash }
        guard let address = IPv4Address(parts[0]) else { throw .badAddress(String(parts[0])) }
        guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let prefix = Int(parts[1]), (0...32).contains(prefix)
        else { throw .badPrefix(String(parts[1])) }
        let cidr = IPv4CIDR(network: address, prefixLength: prefix)
        guard cidr.network == address else { throw .hostBitsSet(cidr.description) }
        return cidr
    }

    public init?(_ text: String) {
        guard let cidr = try? IPv4CIDR.parse(text) else { return nil }
        self = cidr
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    public var mask: UInt32 { IPv4CIDR.mask(prefixLength) }
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }
    public var last: IPv4Address { IPv4Address(network.value | ~mask) }
    public var description: String { "\(network)/\(prefixLength)" }

    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }
    public func contains(_ other: IPv4CIDR) -> Bool { other.prefixLength >= prefixLength && contains(other.network) }
    public func overlaps(_ other: IPv4CIDR) -> Bool { contains(other.network) || other.contains(network) }

    /// The n-th address inside this network (0 is the network address itself).
    public func host(_ n: UInt32) -> IPv4Address? {
        guard UInt64(n) < size else { return nil }
        return IPv4Address(network.value + n)
    }

    /// How many subnets of `length` fit in this network.
    public func subnetCount(prefixLength length: Int) -> Int {
        guard length >= prefixLength, length <= 32 else { return 0 }
        return 1 << (length - prefixLength)
    }

    /// The index-th subnet of `length` inside this network.
    public func subnet(_ index: Int, prefixLength length: Int) -> IPv4CIDR? {
        guard index >= 0, index < subnetCount(prefixLength: length) else { return nil }
        let step = UInt32(1) << UInt32(32 - length)
        return IPv4CIDR(network: IPv4Address(network.value + UInt32(index) * step), prefixLength: length)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try IPv4CIDR.parse(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(text): \(error)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
