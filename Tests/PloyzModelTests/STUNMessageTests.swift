import Testing
@testable import PloyzModel

@Suite struct STUNMessageTests {
    let transaction: [UInt8] = [0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae]

    @Test func bindingRequestBytes() {
        #expect(STUNMessage.bindingRequest(transactionID: transaction)
            == [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42] + transaction)
    }

    /// RFC 5769 section 2.2: the IPv4 sample response, XOR-MAPPED-ADDRESS 192.0.2.1 port 32853
    /// (attributes other than the address are left out here; lengths adjusted).
    @Test func decodesTheRFC5769IPv4Address() throws {
        let response: [UInt8] = [0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42] + transaction
            + [0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]
        let mapped = try STUNMessage.mappedAddress(in: response, transactionID: transaction)
        #expect(mapped.address == "192.0.2.1")
        #expect(mapped.port == 32853)
    }

    /// RFC 5769 section 2.3: the IPv6 sample, 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
    @Test func decodesTheRFC5769IPv6Address() throws {
        let response: [UInt8] = [0x01, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42] + transaction
            + [0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47,
               0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9]
        let mapped = try STUNMessage.mappedAddress(in: response, transactionID: transaction)
        #expect(mapped.address == "[2001:db8:1234:5678:11:2233:4455:6677]")
        #expect(mapped.port == 32853)
    }

    @Test func plainMappedAddressIsAFallback() throws {
        let response: [UInt8] = [0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42] + transaction
            + [0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x1f, 0x90, 203, 0, 113, 7]
        let mapped = try STUNMessage.mappedAddress(in: response, transactionID: transaction)
        #expect(mapped.address == "203.0.113.7" && mapped.port == 8080)
    }

    @Test func rejectsWhatIsNotAnAnswer() {
        let header: [UInt8] = [0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]
        #expect(throws: STUNMessage.Problem.tooShort) { try STUNMessage.mappedAddress(in: [1, 2, 3], transactionID: transaction) }
        #expect(throws: STUNMessage.Problem.notSTUN) {
            try STUNMessage.mappedAddress(in: [0x01, 0x01, 0, 0, 0, 0, 0, 0] + transaction, transactionID: transaction)
        }
        #expect(throws: STUNMessage.Problem.wrongTransaction) {
            try STUNMessage.mappedAddress(in: header + [UInt8](repeating: 0, count: 12), transactionID: transaction)
        }
        #expect(throws: STUNMessage.Problem.noMappedAddress) { try STUNMessage.mappedAddress(in: header + transaction, transactionID: transaction) }
        #expect(throws: STUNMessage.Problem.notBindingSuccess(0x0111)) {
            try STUNMessage.mappedAddress(in: [0x01, 0x11, 0, 0, 0x21, 0x12, 0xa4, 0x42] + transaction, transactionID: transaction)
        }
        // An attribute that claims more bytes than the message has.
        #expect(throws: STUNMessage.Problem.badAttribute(0x0020)) {
            try STUNMessage.mappedAddress(in: [0x01, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42] + transaction + [0x00, 0x20, 0x00, 0x40, 0, 1, 0, 0],
                                          transactionID: transaction)
        }
    }
}
