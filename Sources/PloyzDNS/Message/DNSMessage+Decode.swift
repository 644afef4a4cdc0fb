import PloyzModel

extension DNSHeader {
    /// Reads the 12-byte header, or fails when the message is shorter.
    public init(decoding bytes: [UInt8]) throws(DNSDecodeError) {
        guard bytes.count >= DNSHeader.length else { throw .truncatedHeader(length: bytes.count) }
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) }
        self.init(id: u16(0), flags: u16(2), questionCount: u16(4), answerCount: u16(6),
                  authorityCount: u16(8), additionalCount: u16(10))
    }
}

extension DNSMessage {
    /// Decodes a message strictly: every count must be honoured exactly, names must be well formed
    /// and compression pointers must point backwards to earlier names.
    public init(decoding bytes: [UInt8]) throws(DNSDecodeError) {
        var reader = WireReader(bytes: bytes)
        let header = try DNSHeader(decoding: bytes)
        reader.position = DNSHeader.length
        var questions: [DNSQuestion] = []
        questions.reserveCapacity(Int(min(header.questionCount, 4)))
        for index in 0..<Int(header.questionCount) {
            // Nothing left at all: the count promised a question that was never sent.
            guard reader.position < bytes.count else { throw .truncatedQuestion(index: index) }
            let name = try reader.readName()
            guard let type = reader.readUInt16(), let rawClass = reader.readUInt16() else {
                throw .truncatedQuestion(index: index)
            }
            questions.append(DNSQuestion(name: name, type: DNSType(rawValue: type), recordClass: DNSClass(rawValue: rawClass)))
        }
        var edns: EDNS?
        let answers = try reader.readRecords(count: header.answerCount, section: .answer, edns: &edns)
        let authority = try reader.readRecords(count: header.authorityCount, section: .authority, edns: &edns)
        let additional = try reader.readRecords(count: header.additionalCount, section: .additional, edns: &edns)
        guard reader.position == bytes.count else { throw .trailingBytes(count: bytes.count - reader.position) }
        self.init(header: header, questions: questions, answers: answers, authority: authority,
                  additional: additional, edns: edns)
    }
}

/// A cursor over message bytes; reads return nil at the end instead of trapping.
struct WireReader {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func readUInt16() -> UInt16? {
        guard position + 2 <= bytes.count else { return nil }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func readUInt32() -> UInt32? {
        guard let high = readUInt16(), let low = readUInt16() else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }

    /// Reads a possibly compressed name at the cursor and leaves the cursor after it.
    ///
    /// Loop freedom: every pointer must land strictly before the start of the label run that
    /// contains it, so the run starts strictly decrease and decompression always terminates.
    mutating func readName() throws(DNSDecodeError) -> DNSName {
        let start = position
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var cursor = position
        var runStart = position
        var resume: Int?
        while true {
            guard cursor < bytes.count else { throw .truncatedName(offset: start) }
            let length = bytes[cursor]
            switch length & 0xc0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    position = resume ?? cursor + 1
                    return DNSName(validatedWire: wire)
                }
                let end = cursor + 1 + Int(length)
                guard end <= bytes.count else { throw .truncatedName(offset: start) }
                // +1 keeps room for the root label that must still follow.
                guard wire.count + 1 + Int(length) + 1 <= DNSName.maxWireLength else { throw .nameTooLong(offset: start) }
                wire.append(contentsOf: bytes[cursor..<end])
                cursor = end
            case 0xc0:
                guard cursor + 1 < bytes.count else { throw .truncatedName(offset: start) }
                let target = Int(length & 0x3f) << 8 | Int(bytes[cursor + 1])
                if target > cursor { throw .forwardPointer(offset: cursor, target: target) }
                if target >= runStart { throw .pointerLoop(offset: cursor, target: target) }
                if target < DNSHeader.length { throw .pointerIntoHeader(offset: cursor, target: target) }
                if resume == nil { resume = cursor + 2 }
                runStart = target
                cursor = target
            default:
                throw .labelTooLong(offset: cursor, lengthByte: length)
            }
        }
    }

    mutating func readRecords(count: UInt16, section: DNSSection, edns: inout EDNS?) throws(DNSDecodeError) -> [DNSRecord] {
        var records: [DNSRecord] = []
        for index in 0..<Int(count) {
            let start = position
            guard position < bytes.count else { throw .truncatedRecord(section: section, index: index) }
            let name = try readName()
            guard let type = readUInt16(), let rawClass = readUInt16(), let ttl = readUInt32(),
                  let length = readUInt16(), position + Int(length) <= bytes.count else {
                throw .truncatedRecord(section: section, index: index)
            }
            let rdataEnd = position + Int(length)
            if type == DNSType.opt.rawValue {
                guard section == .additional, name.wire == [0] else { throw .misplacedOPT(offset: start) }
                guard edns == nil else { throw .duplicateOPT(offset: start) }
                edns = EDNS(udpPayloadSize: rawClass, extendedRcode: UInt8(ttl >> 24), version: UInt8((ttl >> 16) & 0xff),
                            dnssecOK: ttl & 0x8000 != 0, otherFlags: UInt16(ttl & 0x7fff),
                            options: Array(bytes[position..<rdataEnd]))
                position = rdataEnd
                continue
            }
            let recordType = DNSType(rawValue: type)
            let rdataStart = position
            let data = try readRData(type: recordType, end: rdataEnd)
            guard position == rdataEnd else { throw .badRData(type: recordType, offset: rdataStart) }
            records.append(DNSRecord(name: name, type: recordType, recordClass: DNSClass(rawValue: rawClass), ttl: ttl, data: data))
        }
        return records
    }

    /// Parses rdata of the types we serve; a name inside must end within the rdata.
    private mutating func readRData(type: DNSType, end: Int) throws(DNSDecodeError) -> DNSRData {
        let start = position
        let bad = DNSDecodeError.badRData(type: type, offset: start)
        let length = end - start
        // Names inside rdata may not run past it: parse against the bytes up to its end.
        var inner = WireReader(bytes: Array(bytes[..<end]))
        inner.position = position
        switch type {
        case .a:
            guard length == 4 else { throw bad }
            position = end
            return .a(IPv4Address(UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8 | UInt32(bytes[start + 3])))
        case .aaaa:
            guard length == 16, let address = IPv6Address(bytes: Array(bytes[start..<end])) else { throw bad }
            position = end
            return .aaaa(address)
        case .ns:
            let name = try inner.readNameInRData(type: type)
            position = inner.position
            return .ns(name)
        case .soa:
            let primary = try inner.readNameInRData(type: type)
            let mailbox = try inner.readNameInRData(type: type)
            guard let serial = inner.readUInt32(), let refresh = inner.readUInt32(), let retry = inner.readUInt32(),
                  let expire = inner.readUInt32(), let minimum = inner.readUInt32() else { throw bad }
            position = inner.position
            return .soa(SOAData(primaryNameServer: primary, responsibleMailbox: mailbox, serial: serial, refresh: refresh,
                                retry: retry, expire: expire, minimum: minimum))
        case .srv:
            guard let priority = inner.readUInt16(), let weight = inner.readUInt16(), let port = inner.readUInt16() else { throw bad }
            let target = try inner.readNameInRData(type: type)
            position = inner.position
            return .srv(SRVData(priority: priority, weight: weight, port: port, target: target))
        case .txt:
            guard length > 0 else { throw bad }
            var strings: [[UInt8]] = []
            var cursor = start
            while cursor < end {
                let stringEnd = cursor + 1 + Int(bytes[cursor])
                guard stringEnd <= end else { throw bad }
                strings.append(Array(bytes[(cursor + 1)..<stringEnd]))
                cursor = stringEnd
            }
            position = end
            return .txt(strings)
        default:
            position = end
            return .opaque(Array(bytes[start..<end]))
        }
    }

    /// A name inside rdata: a name running past the rdata is a malformed record, not a short message.
    private mutating func readNameInRData(type: DNSType) throws(DNSDecodeError) -> DNSName {
        let start = position
        do {
            return try readName()
        } catch .truncatedName(offset: _) {
            throw .badRData(type: type, offset: start)
        }
    }
}
