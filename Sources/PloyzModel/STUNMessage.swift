/// The part of STUN (RFC 5389) a node needs to learn its public address: a Binding request and the
/// (XOR-)MAPPED-ADDRESS of the success response. Pure; the UDP exchange lives with the daemon.
public enum STUNMessage {
    public static let magicCookie: UInt32 = 0x2112_A442
    static let bindingRequest: UInt16 = 0x0001
    static let bindingSuccess: UInt16 = 0x0101
    static let mappedAddress: UInt16 = 0x0001
    static let xorMappedAddress: UInt16 = 0x0020

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case tooShort, notSTUN, notBindingSuccess(UInt16), wrongTransaction, noMappedAddress, badAttribute(UInt16)

        public var description: String {
            switch self {
            case .tooShort: "STUN response is shorter than its header says"
            case .notSTUN: "not a STUN message (magic cookie missing)"
            case .notBindingSuccess(let type): "STUN message type 0x\(String(type, radix: 16)) is not a Binding success response"
            case .wrongTransaction: "STUN response answers another transaction"
            case .noMappedAddress: "STUN response holds no mapped address"
            case .badAttribute(let type): "STUN attribute 0x\(String(type, radix: 16)) is malformed"
            }
        }
    }

    /// A Binding request with no attributes.
    public static func bindingRequest(transactionID: [UInt8]) -> [UInt8] {
        precondition(transactionID.count == 12)
        return be16(bindingRequest) + be16(0) + be32(magicCookie) + transactionID
    }

    /// The address and port the server saw, as `host:port` (`[v6]:port` for IPv6).
    public static func mappedAddress(in response: [UInt8], transactionID: [UInt8]) throws(Problem) -> (address: String, port: Int) {
        guard response.count >= 20 else { throw .tooShort }
        guard read32(response, 4) == magicCookie else { throw .notSTUN }
        let type = read16(response, 0)
        guard type == bindingSuccess else { throw .notBindingSuccess(type) }
        let length = Int(read16(response, 2))
        guard response.count >= 20 + length else { throw .tooShort }
        guard Array(response[8..<20]) == transactionID else { throw .wrongTransaction }
        var offset = 20
        var plain: (String, Int)?
        while offset + 4 <= 20 + length {
            let attribute = read16(response, offset)
            let size = Int(read16(response, offset + 2))
            let body = offset + 4
            guard body + size <= 20 + length else { throw .badAttribute(attribute) }
            if attribute == xorMappedAddress || attribute == mappedAddress {
                let value = try address(Array(response[body..<body + size]), xored: attribute == xorMappedAddress,
                                        transactionID: transactionID, attribute: attribute)
                if attribute == xorMappedAddress { return value }
                plain = value
            }
            offset = body + (size + 3) / 4 * 4
        }
        if let plain { return plain }
        throw .noMappedAddress
    }

    private static func address(_ value: [UInt8], xored: Bool, transactionID: [UInt8], attribute: UInt16) throws(Problem) -> (String, Int) {
        guard value.count >= 4 else { throw .badAttribute(attribute) }
        let family = value[1]
        var port = read16(value, 2)
        if xored { port ^= UInt16(magicCookie >> 16) }
        let mask = be32(magicCookie) + transactionID
        switch family {
        case 0x01:
            guard value.count == 8 else { throw .badAttribute(attribute) }
            let bytes = (0..<4).map { value[4 + $0] ^ (xored ? mask[$0] : 0) }
            return (IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]).description, Int(port))
        case 0x02:
            guard value.count == 20 else { throw .badAttribute(attribute) }
            let bytes = (0..<16).map { value[4 + $0] ^ (xored ? mask[$0] : 0) }
            return ("[\(IPv6Address(bytes: bytes)!)]", Int(port))
        default:
            throw .badAttribute(attribute)
        }
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func read16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    static func read32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(read16(b, i)) << 16 | UInt32(read16(b, i + 2)) }
}
