import Crypto
import Foundation

/// What an invite token carries to a joining node.
public struct InviteClaims: Codable, Sendable, Equatable {
    public var version = 1
    public var inviteID: String
    public var networkID: String
    public var networkName: String
    /// The network's Ed25519 signing key (raw, base64) that signed this token.
    public var networkPublicKey: String
    public var clusterCIDR: IPv4CIDR
    public var subnetPrefixLength: Int
    /// The subnet claimed for the newcomer.
    public var subnet: IPv4CIDR
    /// Used only until the newcomer rotates to a key it generates itself.
    public var provisionalPrivateKey: WireGuardKey
    public var natsUser: String
    public var natsPassword: String
    public var issuerMachineID: String
    public var issuerPublicKey: WireGuardKey
    public var issuerSubnet: IPv4CIDR
    /// Ordered `host:port` candidates of the issuer, best first.
    public var issuerEndpoints: [String]
    public var expiresAt: Date

    public init(inviteID: String, networkID: String, networkName: String, networkPublicKey: String, clusterCIDR: IPv4CIDR,
                subnetPrefixLength: Int, subnet: IPv4CIDR, provisionalPrivateKey: WireGuardKey, natsUser: String,
                natsPassword: String, issuerMachineID: String, issuerPublicKey: WireGuardKey, issuerSubnet: IPv4CIDR,
                issuerEndpoints: [String], expiresAt: Date) {
        self.inviteID = inviteID
        self.networkID = networkID
        self.networkName = networkName
        self.networkPublicKey = networkPublicKey
        self.clusterCIDR = clusterCIDR
        self.subnetPrefixLength = subnetPrefixLength
        self.subnet = subnet
        self.provisionalPrivateKey = provisionalPrivateKey
        self.natsUser = natsUser
        self.natsPassword = natsPassword
        self.issuerMachineID = issuerMachineID
        self.issuerPublicKey = issuerPublicKey
        self.issuerSubnet = issuerSubnet
        self.issuerEndpoints = issuerEndpoints
        self.expiresAt = expiresAt.roundedToMilliseconds
    }
}

/// `base64url(claims JSON) "." base64url(Ed25519 signature)`, signed by the network key.
public enum InviteToken {
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case badSignature
        case expired(Date)
        case unsupportedVersion(Int)

        public var description: String {
            switch self {
            case .malformed(let why): "invite token is malformed: \(why); copy the whole token printed by `ployzctl mesh invite`"
            case .badSignature: "invite token signature does not verify: the token was altered or not issued by this network"
            case .expired(let at): "invite token expired at \(at.formatted(.iso8601)); ask a member for a new one with `ployzctl mesh invite`"
            case .unsupportedVersion(let v): "invite token version \(v) is not supported by this ployzctl; upgrade Ployz"
            }
        }
    }

    public static func encode(_ claims: InviteClaims, signingKey: Curve25519.Signing.PrivateKey) throws -> String {
        let payload = try JSONEncoder.ployz.encode(claims)
        let signature = try signingKey.signature(for: payload)
        return base64url(payload) + "." + base64url(signature)
    }

    /// Decodes, checks the signature against the key the claims name and checks expiry. The caller
    /// still checks that the network is the one expected, and the store makes the invite single use.
    public static func decode(_ token: String, now: Date = Date()) throws(Problem) -> InviteClaims {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .malformed("expected two parts separated by '.'") }
        guard let payload = unbase64url(parts[0]), let signature = unbase64url(parts[1]) else {
            throw .malformed("not base64url")
        }
        let claims: InviteClaims
        do { claims = try JSONDecoder.ployz.decode(InviteClaims.self, from: payload) } catch {
            throw .malformed("the claims do not decode")
        }
        guard claims.version == 1 else { throw .unsupportedVersion(claims.version) }
        guard let keyBytes = Data(base64Encoded: claims.networkPublicKey),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) else {
            throw .malformed("the network key is not an Ed25519 key")
        }
        guard key.isValidSignature(signature, for: payload) else { throw .badSignature }
        guard claims.expiresAt > now else { throw .expired(claims.expiresAt) }
        return claims
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" }) else { return nil }
        s += String(repeating: "=", count: (4 - s.count % 4) % 4)
        return Data(base64Encoded: s)
    }
}

/// Durations as people type them: `90s`, `10m`, `2h`, `1h30m`, `7d`.
public enum DurationText {
    public static func parse(_ text: String) -> TimeInterval? {
        var total: TimeInterval = 0
        var number = ""
        var sawUnit = false
        for ch in text {
            if ch.isASCII && ch.isNumber {
                number.append(ch)
                continue
            }
            guard let value = Double(number) else { return nil }
            switch ch {
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit, total > 0 else { return nil }
        return total
    }
}
