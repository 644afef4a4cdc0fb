import PloyzModel
import Testing
@testable import PloyzDNS

/// Hex text (spaces ignored) to bytes, for hand-built packets.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func name(_ text: String) -> DNSName { try! DNSName(text) }

@Suite struct CodecTests {
    static let webQuestion = "03 776562 05 706c6f797a 08 696e7465726e616c 00 0001 0001"

    @Test func encodesAnswerWithOwnerNamesCompressedToTheQuestion() throws {
        var header = DNSHeader(id: 0xbeef)
        header.isResponse = true
        header.authoritative = true
        header.recursionDesired = true
        let message = DNSMessage(header: header, questions: [DNSQuestion(name: name("web.ployz.internal"), type: .a)],
                                 answers: [.a(name("web.ployz.internal"), IPv4Address(10, 101, 0, 3), ttl: 5),
                                           .a(name("WEB.ployz.internal"), IPv4Address(10, 101, 0, 4), ttl: 5)])
        let expected = hex("beef 8500 0001 0002 0000 0000" + Self.webQuestion
                           + "c00c 0001 0001 00000005 0004 0a650003"
                           + "c00c 0001 0001 00000005 0004 0a650004")
        #expect(message.encode() == expected)
        #expect(try DNSMessage(decoding: expected) == message.withCounts(questions: 1, answers: 2)
            .renamingAnswer(1, to: name("web.ployz.internal")))
    }

    @Test func compressesSuffixesInsideSOAAndNSButNeverTheSRVTarget() throws {
        let apex = name("ployz.internal")
        let soa = SOAData(primaryNameServer: name("ns.ployz.internal"), responsibleMailbox: name("hostmaster.ployz.internal"),
                          serial: 7, refresh: 60, retry: 10, expire: 3600, minimum: 5)
        let message = DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: name("web.ployz.internal"), type: .srv)],
                                 answers: [DNSRecord(name: name("web.ployz.internal"), type: .srv, ttl: 5,
                                                     data: .srv(SRVData(priority: 0, weight: 0, port: 8080, target: name("web.ployz.internal"))))],
                                 authority: [DNSRecord(name: apex, type: .soa, ttl: 5, data: .soa(soa)),
                                             DNSRecord(name: apex, type: .ns, ttl: 5, data: .ns(name("ns.ployz.internal")))])
        let expected = hex("0001 0000 0001 0001 0002 0000"
                           + "03 776562 05 706c6f797a 08 696e7465726e616c 00 0021 0001"
                           // SRV: owner -> 12; target written in full (RFC 2782).
                           + "c00c 0021 0001 00000005 001a 0000 0000 1f90 03776562 05706c6f797a 08696e7465726e616c 00"
                           // SOA: owner -> "ployz.internal" at 16; mname "ns" + pointer; rname "hostmaster" + pointer.
                           + "c010 0006 0001 00000005 0026 026e73 c010 0a686f73746d6173746572 c010"
                           + "00000007 0000003c 0000000a 00000e10 00000005"
                           // NS: owner -> 16, host -> the "ns.ployz.internal" written inside the SOA rdata at offset 86.
                           + "c010 0002 0001 00000005 0002 c056")
        #expect(message.encode() == expected)
        #expect(try DNSMessage(decoding: expected) == message.withCounts(questions: 1, answers: 1, authority: 2))
    }

    @Test func decodesTheQueryDigSends() throws {
        // Captured from `dig @127.0.0.1 Web.Default.ployz.internal A` (BIND 9.18): RD+AD, EDNS 1232 with a cookie.
        let packet = hex("6d1e 0120 0001 0000 0000 0001 03576562 0744656661756c74 05706c6f797a 08696e7465726e616c 00 0001 0001"
                         + "00 0029 04d0 00000000 000c 000a0008 9d7dd9017e5678a3")
        let message = try DNSMessage(decoding: packet)
        #expect(message.header.id == 0x6d1e)
        #expect(message.header.recursionDesired && message.header.authenticData && !message.header.isResponse)
        #expect(message.questions == [DNSQuestion(name: name("Web.Default.ployz.internal"), type: .a)])
        #expect(message.edns == EDNS(udpPayloadSize: 1232, options: hex("000a0008 9d7dd9017e5678a3")))
        #expect(message.encode() == packet)
    }

    @Test func decodesEDNSFlagsAndExtendedRcode() throws {
        let packet = hex("0000 8000 0000 0000 0000 0001 00 0029 1000 01 00 8000 0000")
        let message = try DNSMessage(decoding: packet)
        #expect(message.edns == EDNS(udpPayloadSize: 4096, extendedRcode: 1, version: 0, dnssecOK: true))
        #expect(message.rcode == .badVersion)
        #expect(message.encode() == packet)
    }

    @Test func followsBackwardPointersAcrossRecords() throws {
        let packet = hex("0002 8000 0001 0002 0000 0000" + Self.webQuestion
                         + "c00c 001c 0001 0000003c 0010 fd000000000000000000000000000001"
                         // "a" + pointer to "ployz.internal" at 16; TXT with two strings.
                         + "0161 c010 0010 0001 0000003c 0007 026869 03796f75")
        let message = try DNSMessage(decoding: packet)
        #expect(message.answers.map(\.name) == [name("web.ployz.internal"), name("a.ployz.internal")])
        #expect(message.answers[0].data == .aaaa(IPv6Address("fd00::1")!))
        #expect(message.answers[1].data == .txt([Array("hi".utf8), Array("you".utf8)]))
        #expect(message.encode() == packet)
    }

    @Test func keepsUnknownTypesAsOpaqueRdata() throws {
        let packet = hex("0003 8000 0001 0001 0000 0000 03776562 05706c6f797a 08696e7465726e616c 00 0041 0001"
                         + "c00c 0041 0001 0000003c 0003 000100")
        let message = try DNSMessage(decoding: packet)
        #expect(message.answers.first?.data == .opaque([0, 1, 0]))
        #expect(message.encode() == packet)
    }

    @Test func truncatesToTheLimitWithTC() {
        let owner = name("many.ployz.internal")
        var message = DNSMessage(header: DNSHeader(id: 9), questions: [DNSQuestion(name: owner, type: .a)],
                                 answers: (0..<100).map { .a(owner, IPv4Address(UInt32(0x0a00_0000 + $0)), ttl: 5) },
                                 edns: EDNS(udpPayloadSize: 1232))
        message.header.isResponse = true
        let full = message.encode()
        #expect(full.count > 512)
        let cut = message.encode(limit: 512)
        let decoded = try! DNSMessage(decoding: cut)
        #expect(decoded.header.truncated)
        #expect(decoded.answers.isEmpty && decoded.questions.count == 1 && decoded.edns != nil)
        #expect(message.encode(limit: full.count) == full)
    }

    @Test func dropsAdditionalRecordsBeforeSettingTC() throws {
        let owner = name("x.ployz.internal")
        let message = DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: owner, type: .a)],
                                 answers: [.a(owner, IPv4Address(1, 2, 3, 4), ttl: 5)],
                                 additional: (0..<60).map { .a(name("glue.ployz.internal"), IPv4Address(UInt32($0)), ttl: 5) })
        let decoded = try DNSMessage(decoding: message.encode(limit: 512))
        #expect(!decoded.header.truncated && decoded.answers.count == 1 && decoded.additional.isEmpty)
    }

    @Test func parsesNameText() throws {
        #expect(try DNSName("Web.ployz.internal.").wire == hex("03576562 05706c6f797a 08696e7465726e616c 00"))
        #expect(DNSName.root.description == ".")
        #expect(name("a.b").description == "a.b.")
        #expect(throws: DNSNameError.emptyLabel("a..b")) { try DNSName("a..b") }
        #expect(throws: DNSNameError.labelTooLong(String(repeating: "x", count: 64))) { try DNSName(String(repeating: "x", count: 64) + ".com") }
        let long = Array(repeating: String(repeating: "x", count: 63), count: 4).joined(separator: ".")
        #expect(throws: DNSNameError.nameTooLong(long)) { try DNSName(long) }
        #expect(name("WEB.Ployz.Internal").isSubdomain(of: name("ployz.internal")))
        #expect(!name("xployz.internal").isSubdomain(of: name("ployz.internal")))
        // "b.c" inside a label's bytes is not a label boundary.
        #expect(!(try! DNSName(labels: ["a.b", "c"])).isSubdomain(of: name("b.c")))
    }
}

extension DNSMessage {
    /// The message as the decoder returns it: header counts filled in.
    func withCounts(questions: UInt16 = 0, answers: UInt16 = 0, authority: UInt16 = 0, additional: UInt16 = 0) -> DNSMessage {
        var copy = self
        copy.header.questionCount = questions
        copy.header.answerCount = answers
        copy.header.authorityCount = authority
        copy.header.additionalCount = additional
        return copy
    }

    /// Compression makes the decoded owner the question's spelling.
    func renamingAnswer(_ index: Int, to name: DNSName) -> DNSMessage {
        var copy = self
        copy.answers[index].name = name
        return copy
    }
}
