import Crypto
import Foundation

/// A 32-byte Curve25519 key as WireGuard uses it: base64 in config and tokens, hex on the UAPI.
public struct WireGuardKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == 32 else { return nil }
        bytes = Array(data)
    }

    public init?(hex: String) {
        guard hex.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        bytes = out
    }

    public var base64: String { Data(bytes).base64EncodedString() }
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
    /// The public form is safe to print; a private key is never printed by description.
    public var description: String { base64 }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let key = WireGuardKey(base64: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a base64 32-byte key"))
        }
        self = key
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(base64)
    }
}

/// A WireGuard keypair. The private half stays on the node that generated it.
public struct WireGuardKeyPair: Sendable, Equatable {
    public let privateKey: WireGuardKey
    public let publicKey: WireGuardKey

    public static func generate() -> WireGuardKeyPair {
        let key = Curve25519.KeyAgreement.PrivateKey()
        return WireGuardKeyPair(
            privateKey: WireGuardKey(bytes: Array(key.rawRepresentation))!,
            publicKey: WireGuardKey(bytes: Array(key.publicKey.rawRepresentation))!)
    }

    /// Derives the public key; fails only for a malformed private key.
    public init(privateKey: WireGuardKey) throws {
        let key = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey.bytes)
        self.privateKey = privateKey
        self.publicKey = WireGuardKey(bytes: Array(key.publicKey.rawRepresentation))!
    }

    private init(privateKey: WireGuardKey, publicKey: WireGuardKey) {
        self.privateKey = privateKey
        self.publicKey = publicKey
    }
}

extension WireGuardKey {
    /// The node's overlay address: `fd` followed by the first 15 bytes of its public key,
    /// so any node can derive a peer's overlay /128 from the key alone.
    public var overlayAddress: IPv6Address {
        IPv6Address(bytes: [0xfd] + bytes.prefix(15))!
    }
}
