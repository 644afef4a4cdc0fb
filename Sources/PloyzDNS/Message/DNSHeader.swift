/// The fixed 12-byte message header (RFC 1035 section 4.1.1).
///
/// Flags are kept as the raw 16-bit word so unknown bits (Z) survive a decode/encode round trip.
public struct DNSHeader: Equatable, Sendable {
    public static let length = 12

    public var id: UInt16
    public var flags: UInt16
    public var questionCount: UInt16
    public var answerCount: UInt16
    public var authorityCount: UInt16
    public var additionalCount: UInt16

    public init(id: UInt16 = 0, flags: UInt16 = 0, questionCount: UInt16 = 0, answerCount: UInt16 = 0,
                authorityCount: UInt16 = 0, additionalCount: UInt16 = 0) {
        self.id = id
        self.flags = flags
        self.questionCount = questionCount
        self.answerCount = answerCount
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
    }

    /// QR: set in responses.
    public var isResponse: Bool {
        get { flag(0x8000) }
        set { setFlag(0x8000, newValue) }
    }

    public var opcode: DNSOpcode {
        get { DNSOpcode(rawValue: UInt8((flags >> 11) & 0x0f)) }
        set { flags = (flags & ~0x7800) | (UInt16(newValue.rawValue) << 11) }
    }

    /// AA: the answer comes from the zone's authority.
    public var authoritative: Bool {
        get { flag(0x0400) }
        set { setFlag(0x0400, newValue) }
    }

    /// TC: the message was cut to fit the transport; retry over TCP.
    public var truncated: Bool {
        get { flag(0x0200) }
        set { setFlag(0x0200, newValue) }
    }

    /// RD: the client asks for recursion; copied into the response.
    public var recursionDesired: Bool {
        get { flag(0x0100) }
        set { setFlag(0x0100, newValue) }
    }

    /// RA: the server offers recursion (here: only when forwarding is configured).
    public var recursionAvailable: Bool {
        get { flag(0x0080) }
        set { setFlag(0x0080, newValue) }
    }

    /// AD (RFC 4035).
    public var authenticData: Bool {
        get { flag(0x0020) }
        set { setFlag(0x0020, newValue) }
    }

    /// CD (RFC 4035).
    public var checkingDisabled: Bool {
        get { flag(0x0010) }
        set { setFlag(0x0010, newValue) }
    }

    /// The low four bits of the response code; `DNSMessage.rcode` adds the EDNS upper bits.
    public var rcodeLow: UInt8 {
        get { UInt8(flags & 0x000f) }
        set { flags = (flags & ~0x000f) | UInt16(newValue & 0x0f) }
    }

    @inline(__always) private func flag(_ mask: UInt16) -> Bool { flags & mask != 0 }
    @inline(__always) private mutating func setFlag(_ mask: UInt16, _ on: Bool) {
        flags = on ? flags | mask : flags & ~mask
    }
}
