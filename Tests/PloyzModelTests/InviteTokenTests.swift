import Crypto
import Foundation
import Testing
@testable import PloyzModel

@Suite struct InviteTokenTests {
    let networkKey = Curve25519.Signing.PrivateKey()
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func claims(expiresIn seconds: TimeInterval = 600) -> InviteClaims {
        InviteClaims(inviteID: "inv-1", networkID: "net-1", networkName: "demo",
                     networkPublicKey: networkKey.publicKey.rawRepresentation.base64EncodedString(),
                     clusterCIDR: IPv4CIDR("10.101.0.0/16")!, subnetPrefixLength: 24, subnet: IPv4CIDR("10.101.1.0/24")!,
                     provisionalPrivateKey: WireGuardKeyPair.generate().privateKey, natsUser: "ployz", natsPassword: "secret",
                     issuerMachineID: "m0", issuerPublicKey: WireGuardKeyPair.generate().publicKey,
                     issuerSubnet: IPv4CIDR("10.101.0.0/24")!, issuerEndpoints: ["192.168.77.11:51820"],
                     expiresAt: now.addingTimeInterval(seconds))
    }

    @Test func roundTrips() throws {
        let original = claims()
        let token = try InviteToken.encode(original, signingKey: networkKey)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
        #expect(try InviteToken.decode(token, now: now) == original)
        #expect(try InviteToken.decode("  \(token)\n", now: now) == original)
    }

    @Test func refusesTamperedTokens() throws {
        let token = try InviteToken.encode(claims(), signingKey: networkKey)
        let parts = token.split(separator: ".")
        // Re-encode the claims with another subnet but keep the old signature.
        var forged = claims()
        forged.subnet = IPv4CIDR("10.101.2.0/24")!
        let forgedPayload = InviteToken.base64url(try JSONEncoder.ployz.encode(forged))
        #expect(throws: InviteToken.Problem.badSignature) { try InviteToken.decode(forgedPayload + "." + parts[1], now: now) }
        // Signed by another key that the claims do not name.
        let other = try InviteToken.encode(claims(), signingKey: Curve25519.Signing.PrivateKey())
        #expect(throws: InviteToken.Problem.badSignature) { try InviteToken.decode(other, now: now) }
    }

    @Test func refusesExpiredAndMalformedTokens() throws {
        let token = try InviteToken.encode(claims(expiresIn: -1), signingKey: networkKey)
        #expect(throws: InviteToken.Problem.expired(now.addingTimeInterval(-1))) { try InviteToken.decode(token, now: now) }
        #expect(throws: InviteToken.Problem.malformed("expected two parts separated by '.'")) { try InviteToken.decode("abc", now: now) }
        #expect(throws: InviteToken.Problem.malformed("not base64url")) { try InviteToken.decode("a$b.c", now: now) }
        #expect(throws: InviteToken.Problem.malformed("the claims do not decode")) { try InviteToken.decode("e30.AAAA", now: now) }
    }

    @Test func durations() {
        #expect(DurationText.parse("10m") == 600)
        #expect(DurationText.parse("1h30m") == 5400)
        #expect(DurationText.parse("45s") == 45)
        #expect(DurationText.parse("2d") == 172_800)
        for bad in ["", "10", "m", "10x", "-5m", "0s", "1.5h"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
    }
}
