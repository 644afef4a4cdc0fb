/// Why bytes are not an acceptable DNS message. Offsets are byte positions in the message.
public enum DNSDecodeError: Error, Equatable, CustomStringConvertible {
    /// Fewer than 12 bytes: not even a header, so nothing can be answered.
    case truncatedHeader(length: Int)
    /// A name runs past the end of the message.
    case truncatedName(offset: Int)
    /// A question's type/class runs past the end (the question count promised more than was sent).
    case truncatedQuestion(index: Int)
    /// A record's fixed fields or rdata run past the end (a section count promised more).
    case truncatedRecord(section: DNSSection, index: Int)
    /// A label length byte between 0x40 and 0xBF: longer than 63, or a retired label type.
    case labelTooLong(offset: Int, lengthByte: UInt8)
    /// The uncompressed name would exceed 255 bytes.
    case nameTooLong(offset: Int)
    /// A compression pointer leads back into the name it ends, which would never terminate.
    case pointerLoop(offset: Int, target: Int)
    /// A compression pointer points at or after itself; only earlier names may be referenced.
    case forwardPointer(offset: Int, target: Int)
    /// A compression pointer points into the 12-byte header.
    case pointerIntoHeader(offset: Int, target: Int)
    /// Rdata of a known type does not have the length or structure its type requires.
    case badRData(type: DNSType, offset: Int)
    /// More than one OPT record (RFC 6891 section 6.1.1).
    case duplicateOPT(offset: Int)
    /// OPT outside the additional section or with a non-root owner name.
    case misplacedOPT(offset: Int)
    /// Bytes left after the last record the counts announce.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncatedHeader(let length):
            "message is \(length) bytes; a DNS header needs 12"
        case .truncatedName(let offset):
            "name at offset \(offset) runs past the end of the message"
        case .truncatedQuestion(let index):
            "question \(index) runs past the end of the message; QDCOUNT promises more than was sent"
        case .truncatedRecord(let section, let index):
            "\(section) record \(index) runs past the end of the message; the section count promises more than was sent"
        case .labelTooLong(let offset, let byte):
            "label length byte 0x\(String(byte, radix: 16)) at offset \(offset): labels are at most 63 bytes"
        case .nameTooLong(let offset):
            "name at offset \(offset) is longer than 255 bytes"
        case .pointerLoop(let offset, let target):
            "compression pointer at offset \(offset) to \(target) loops back into its own name"
        case .forwardPointer(let offset, let target):
            "compression pointer at offset \(offset) points forward to \(target); pointers must point to earlier names"
        case .pointerIntoHeader(let offset, let target):
            "compression pointer at offset \(offset) points into the header (\(target)); names start at offset 12"
        case .badRData(let type, let offset):
            "\(type) rdata at offset \(offset) does not match the type's format"
        case .duplicateOPT(let offset):
            "second OPT record at offset \(offset); EDNS allows one"
        case .misplacedOPT(let offset):
            "OPT record at offset \(offset) must be in the additional section with the root name"
        case .trailingBytes(let count):
            "\(count) bytes follow the last record the section counts announce"
        }
    }
}

/// A message section, for error messages.
public enum DNSSection: String, Sendable, CustomStringConvertible {
    case answer, authority, additional
    public var description: String { rawValue }
}
