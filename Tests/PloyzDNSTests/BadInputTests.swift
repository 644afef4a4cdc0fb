import PloyzModel
import Testing
@testable import PloyzDNS

/// Malformed input gets the answer the RFCs give it: a dropped packet when not even a header can
/// be read, FORMERR when it can, NOTIMP for what we do not implement, REFUSED for other classes.
@Suite struct BadInputTests {
    static let header = "abcd 0100"
    static let question = "03 776562 05 706c6f797a 08 696e7465726e616c 00 0001 0001"

    static func decodeError(_ text: String) -> DNSDecodeError? {
        do {
            _ = try DNSMessage(decoding: hex(text))
            return nil
        } catch {
            return error
        }
    }

    @Test func rejectsEmptyAndTruncatedHeaders() {
        #expect(Self.decodeError("") == .truncatedHeader(length: 0))
        #expect(Self.decodeError("abcd 0100 0001 0000 0000 00") == .truncatedHeader(length: 11))
    }

    @Test func rejectsCountsThatLie() {
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000") == .truncatedQuestion(index: 0))
        #expect(Self.decodeError(Self.header + "0002 0000 0000 0000" + Self.question) == .truncatedQuestion(index: 1))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 03776562 00 0001") == .truncatedQuestion(index: 0))
        #expect(Self.decodeError(Self.header + "0001 0001 0000 0000" + Self.question) == .truncatedRecord(section: .answer, index: 0))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0001" + Self.question + "00 0029 04d0 00000000 0004 00")
            == .truncatedRecord(section: .additional, index: 0))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000" + Self.question + "00") == .trailingBytes(count: 1))
        #expect(Self.decodeError(Self.header + "0000 0000 0000 0000" + Self.question) == .trailingBytes(count: 24))
    }

    @Test func rejectsNamesThatRunOut() {
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 0377") == .truncatedName(offset: 12))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 03776562") == .truncatedName(offset: 12))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 c0") == .truncatedName(offset: 12))
    }

    @Test func rejectsLabelsOver63Bytes() {
        let label64 = "40" + String(repeating: "61", count: 64)
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000" + label64 + "00 0001 0001") == .labelTooLong(offset: 12, lengthByte: 0x40))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 80 0001 0001") == .labelTooLong(offset: 12, lengthByte: 0x80))
    }

    @Test func acceptsNamesOf255BytesAndRejects256() {
        let label63 = "3f" + String(repeating: "61", count: 63)
        let max = String(repeating: label63, count: 3) + "3d" + String(repeating: "62", count: 61) + "00"
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000" + max + "0001 0001") == nil)
        let over = String(repeating: label63, count: 3) + "3e" + String(repeating: "62", count: 62) + "00"
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000" + over + "0001 0001") == .nameTooLong(offset: 12))
        // Through pointers: each answer adds 62 bytes to a name that points back to the previous one.
        var packet = Self.header + "0001 0005 0000 0000" + Self.question
        var previous = 12
        var offset = 36
        for _ in 0..<5 {
            packet += "3d" + String(repeating: "63", count: 61) + String(0xc000 | previous, radix: 16) + "0001 0001 00000005 0004 01020304"
            previous = offset
            offset += 62 + 2 + 14
        }
        #expect(Self.decodeError(packet) == .nameTooLong(offset: 270))
    }

    @Test func rejectsCompressionPointerLoopsAndForwardPointers() {
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 c00c 0001 0001") == .pointerLoop(offset: 12, target: 12))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 0161 c00c 0001 0001") == .pointerLoop(offset: 14, target: 12))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 c010 0001 0001 00") == .forwardPointer(offset: 12, target: 16))
        #expect(Self.decodeError(Self.header + "0001 0000 0000 0000 c004 0001 0001") == .pointerIntoHeader(offset: 12, target: 4))
        // Two answers pointing at each other: the first to a later name is forward.
        #expect(Self.decodeError(Self.header + "0001 0002 0000 0000" + Self.question
                                 + "c032 0001 0001 00000005 0004 01020304 c024 0001 0001 00000005 0004 01020304")
            == .forwardPointer(offset: 36, target: 50))
        // A name in the answer that points back into itself via an earlier name that points to it.
        #expect(Self.decodeError(Self.header + "0001 0001 0000 0000" + Self.question
                                 + "0178 c024 0001 0001 00000005 0004 01020304") == .pointerLoop(offset: 38, target: 36))
    }

    @Test func rejectsMalformedRdataAndOPTPlacement() {
        let answer = Self.header + "0001 0001 0000 0000" + Self.question
        #expect(Self.decodeError(answer + "c00c 0001 0001 00000005 0005 0102030405") == .badRData(type: .a, offset: 48))
        #expect(Self.decodeError(answer + "c00c 001c 0001 00000005 0004 01020304") == .badRData(type: .aaaa, offset: 48))
        #expect(Self.decodeError(answer + "c00c 0002 0001 00000005 0002 0161") == .badRData(type: .ns, offset: 48))
        #expect(Self.decodeError(answer + "c00c 0010 0001 00000005 0002 0561") == .badRData(type: .txt, offset: 48))
        #expect(Self.decodeError(answer + "00 0029 04d0 00000000 0000") == .misplacedOPT(offset: 36))
        let twoOPT = Self.header + "0001 0000 0000 0002" + Self.question + "00 0029 04d0 00000000 0000 00 0029 04d0 00000000 0000"
        #expect(Self.decodeError(twoOPT) == .duplicateOPT(offset: 47))
    }

    // MARK: - What the responder does with them

    static let responder = DNSResponder(zone: Zone.build(from: Support.sampleSnapshot()))

    static func reply(_ bytes: [UInt8], responder: DNSResponder = responder) -> DNSMessage? {
        guard case .reply(let message, _) = responder.respond(to: bytes) else { return nil }
        return message
    }

    @Test func dropsWhatHasNoHeaderAndAnyResponse() {
        #expect(Self.responder.respond(to: []) == .drop)
        #expect(Self.responder.respond(to: hex("abcd 0100 0001 0000 00")) == .drop)
        var response = Support.query("web.ployz.internal")
        response[2] |= 0x80
        #expect(Self.responder.respond(to: response) == .drop)
    }

    @Test func answersFORMERRWhenTheHeaderParsesButTheBodyDoesNot() {
        for body in ["0001 0000 0000 0000 c00c 0001 0001", "0001 0000 0000 0000 40" + String(repeating: "61", count: 64) + "00 0001 0001",
                     "0002 0000 0000 0000" + Self.question, "0001 0000 0000 0000" + Self.question + "ffff"] {
            let reply = Self.reply(hex(Self.header + body))
            #expect(reply?.rcode == .formatError)
            #expect(reply?.header.id == 0xabcd && reply?.header.isResponse == true && reply?.header.recursionDesired == true)
            #expect(reply?.questions.isEmpty == true)
        }
    }

    @Test func answersFORMERRUnlessThereIsExactlyOneQuestion() {
        #expect(Self.reply(hex(Self.header + "0000 0000 0000 0000"))?.rcode == .formatError)
        let two = hex(Self.header + "0002 0000 0000 0000" + Self.question + Self.question)
        #expect(Self.reply(two)?.rcode == .formatError)
        #expect(Self.reply(Support.query("web.ployz.internal", .opt))?.rcode == .formatError)
    }

    @Test func answersNOTIMPForOtherOpcodesAndZoneTransfers() {
        for opcode: UInt8 in [1, 2, 4, 5, 15] {
            var query = Support.query("web.ployz.internal")
            query[2] = (query[2] & 0x87) | opcode << 3
            let reply = Self.reply(query)
            #expect(reply?.rcode == .notImplemented)
            #expect(reply?.header.opcode == DNSOpcode(rawValue: opcode))
        }
        #expect(Self.reply(Support.query("ployz.internal", .axfr))?.rcode == .notImplemented)
        #expect(Self.reply(Support.query("ployz.internal", .ixfr))?.rcode == .notImplemented)
    }

    @Test func refusesOtherClasses() {
        for rawClass: UInt16 in [3, 4, 254, 255, 42] {
            var query = Support.query("web.ployz.internal")
            query[query.count - 2] = UInt8(rawClass >> 8)
            query[query.count - 1] = UInt8(rawClass & 0xff)
            let reply = Self.reply(query)
            #expect(reply?.rcode == .refused)
            #expect(reply?.answers.isEmpty == true && reply?.header.authoritative == false)
        }
    }

    @Test func answersBADVERSToEDNSVersionsAbove0() throws {
        var query = Support.query("web.ployz.internal", edns: 1232)
        query[query.count - 5] = 1
        let reply = try #require(Self.reply(query))
        #expect(reply.rcode == .badVersion)
        #expect(reply.header.rcodeLow == 0 && reply.edns?.extendedRcode == 1 && reply.edns?.version == 0)
        #expect(reply.answers.isEmpty)
    }

    @Test func answersOversizedQueriesWithFORMERR() {
        let oversized = Support.query("web.ployz.internal") + [UInt8](repeating: 0xff, count: 65_000)
        #expect(Self.reply(oversized)?.rcode == .formatError)
    }
}
