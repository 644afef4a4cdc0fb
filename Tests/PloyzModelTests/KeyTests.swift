import Testing
@testable import PloyzModel

@Suite struct KeyTests {
    @Test func generatedKeysRoundTrip() throws {
        let pair = WireGuardKeyPair.generate()
        #expect(WireGuardKey(base64: pair.publicKey.base64) == pair.publicKey)
        #expect(WireGuardKey(hex: pair.privateKey.hex) == pair.privateKey)
        let derived = try WireGuardKeyPair(privateKey: pair.privateKey)
        #expect(derived.publicKey == pair.publicKey)
        #expect(WireGuardKeyPair.generate().privateKey != pair.privateKey)
    }

    /// RFC 7748 section 6.1: Alice's private key and public key.
    @Test func derivesTheRFC7748PublicKey() throws {
        let privateKey = WireGuardKey(hex: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")!
        let pair = try WireGuardKeyPair(privateKey: privateKey)
        #expect(pair.publicKey.hex == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    }

    @Test func rejectsMalformedKeys() {
        #expect(WireGuardKey(base64: "AAAA") == nil)
        #expect(WireGuardKey(hex: String(repeating: "z", count: 64)) == nil)
        #expect(WireGuardKey(hex: "00") == nil)
        #expect(WireGuardKey(bytes: [1, 2, 3]) == nil)
    }

    @Test func overlayAddressIsFdPlusFirst15KeyBytes() {
        let key = WireGuardKey(bytes: Array(1...32))!
        #expect(key.overlayAddress.bytes == [0xfd] + Array(1...15))
        #expect(key.overlayAddress.description == "fd01:203:405:607:809:a0b:c0d:e0f")
        #expect(key.overlayAddress.isUniqueLocal)
    }
}
