extension DNSMessage {
    /// Encodes the message with name compression, rewriting the header counts from the sections.
    public func encode() -> [UInt8] {
        var writer = WireWriter()
        writer.writeHeader(header, questions: questions.count, answers: answers.count, authority: authority.count,
                           additional: additional.count + (edns == nil ? 0 : 1))
        for question in questions {
            writer.writeName(question.name)
            writer.writeUInt16(question.type.rawValue)
            writer.writeUInt16(question.recordClass.rawValue)
        }
        for record in answers { writer.writeRecord(record) }
        for record in authority { writer.writeRecord(record) }
        for record in additional { writer.writeRecord(record) }
        if let edns { writer.writeOPT(edns) }
        return writer.bytes
    }

    /// Encodes the message so it fits `limit` bytes (a UDP client's payload size).
    ///
    /// Additional records are optional and dropped first without TC (RFC 2181 section 9); if the
    /// rest still does not fit, the answer goes out with TC, its question and OPT but no records,
    /// so the client retries over TCP instead of caching a partial RRset.
    public func encode(limit: Int) -> [UInt8] {
        let full = encode()
        if full.count <= limit { return full }
        var trimmed = self
        trimmed.additional = []
        let withoutAdditional = trimmed.encode()
        if withoutAdditional.count <= limit { return withoutAdditional }
        trimmed.answers = []
        trimmed.authority = []
        trimmed.header.truncated = true
        return trimmed.encode()
    }
}

/// Appends wire bytes and remembers where names were written so later names can point to them.
struct WireWriter {
    var bytes: [UInt8] = []
    /// Lower-cased wire suffix -> offset of its first byte; only offsets below 0x4000 are pointable.
    private var compression: [Suffix: UInt16] = [:]

    /// A name suffix as a dictionary key, hashed in one call rather than byte by byte.
    private struct Suffix: Hashable {
        let bytes: ArraySlice<UInt8>
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    init() { bytes.reserveCapacity(512) }

    mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xff))
    }

    mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(value & 0xffff))
    }

    mutating func writeHeader(_ header: DNSHeader, questions: Int, answers: Int, authority: Int, additional: Int) {
        writeUInt16(header.id)
        writeUInt16(header.flags)
        // Clamped rather than trapping: a message that large never fits 65,535 bytes, so
        // `encode(limit:)` replaces it by a truncated one before it is sent.
        writeUInt16(UInt16(clamping: questions))
        writeUInt16(UInt16(clamping: answers))
        writeUInt16(UInt16(clamping: authority))
        writeUInt16(UInt16(clamping: additional))
    }

    /// Writes `name`, replacing its longest suffix already in the message with a pointer.
    mutating func writeName(_ name: DNSName, compress: Bool = true) {
        let wire = name.wire
        let lowered = name.lowercased().wire
        var index = 0
        var fresh: [(offset: Int, suffixStart: Int)] = []
        while wire[index] != 0 {
            if compress, let target = compression[Suffix(bytes: lowered[index...])] {
                bytes.append(0xc0 | UInt8(target >> 8))
                bytes.append(UInt8(target & 0xff))
                remember(fresh, lowered: lowered)
                return
            }
            fresh.append((bytes.count, index))
            let length = Int(wire[index])
            bytes.append(contentsOf: wire[index...(index + length)])
            index += 1 + length
        }
        bytes.append(0)
        if compress { remember(fresh, lowered: lowered) }
    }

    private mutating func remember(_ fresh: [(offset: Int, suffixStart: Int)], lowered: [UInt8]) {
        for entry in fresh where entry.offset < 0x4000 {
            let suffix = Suffix(bytes: lowered[entry.suffixStart...])
            if compression[suffix] == nil { compression[suffix] = UInt16(entry.offset) }
        }
    }

    mutating func writeRecord(_ record: DNSRecord) {
        writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass.rawValue)
        writeUInt32(record.ttl)
        let lengthOffset = bytes.count
        writeUInt16(0)
        switch record.data {
        case .a(let address):
            writeUInt32(address.value)
        case .aaaa(let address):
            bytes.append(contentsOf: address.bytes)
        case .ns(let name):
            writeName(name)
        case .soa(let soa):
            writeName(soa.primaryNameServer)
            writeName(soa.responsibleMailbox)
            writeUInt32(soa.serial)
            writeUInt32(soa.refresh)
            writeUInt32(soa.retry)
            writeUInt32(soa.expire)
            writeUInt32(soa.minimum)
        case .srv(let srv):
            writeUInt16(srv.priority)
            writeUInt16(srv.weight)
            writeUInt16(srv.port)
            // RFC 2782: the SRV target is never compressed.
            writeName(srv.target, compress: false)
        case .txt(let strings):
            // A character-string holds at most 255 bytes (RFC 1035 section 3.3).
            for string in strings {
                bytes.append(UInt8(min(string.count, 255)))
                bytes.append(contentsOf: string.prefix(255))
            }
        case .opaque(let data):
            bytes.append(contentsOf: data)
        }
        let length = UInt16(clamping: bytes.count - lengthOffset - 2)
        bytes[lengthOffset] = UInt8(length >> 8)
        bytes[lengthOffset + 1] = UInt8(length & 0xff)
    }

    mutating func writeOPT(_ edns: EDNS) {
        bytes.append(0)
        writeUInt16(DNSType.opt.rawValue)
        writeUInt16(edns.udpPayloadSize)
        writeUInt32(UInt32(edns.extendedRcode) << 24 | UInt32(edns.version) << 16
                    | (edns.dnssecOK ? 0x8000 : 0) | UInt32(edns.otherFlags & 0x7fff))
        writeUInt16(UInt16(clamping: edns.options.count))
        bytes.append(contentsOf: edns.options)
    }
}
