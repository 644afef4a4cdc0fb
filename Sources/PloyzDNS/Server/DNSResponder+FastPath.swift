extension DNSResponder {
    /// A reply produced by the fast path, with what metrics need to know about it.
    public struct FastReply: Sendable {
        public var bytes: [UInt8]
        public var type: DNSType
        public var rcode: DNSRcode
    }

    /// Answers the usual query straight from the zone's pre-encoded sections: one question of
    /// class IN with an uncompressed name inside the zone, no other records except an OPT of
    /// version 0. Anything else returns nil and goes through `respond(to:)`, which holds every
    /// rule; this only avoids building messages for the common case, and the tests check both
    /// paths give the same bytes.
    ///
    /// - Parameter overUDP: replies over the client's UDP limit (or over 65,535 bytes on TCP)
    ///   return nil, so the full path truncates them properly.
    public func fastReply(to query: UnsafeRawBufferPointer, overUDP: Bool) -> FastReply? {
        let count = query.count
        guard count >= DNSHeader.length + 5,
              query[2] & 0xf8 == 0,  // QR = 0, opcode = QUERY
              query[4] == 0, query[5] == 1, query[6] == 0, query[7] == 0, query[8] == 0, query[9] == 0, query[10] == 0,
              query[11] <= 1 else { return nil }
        // The question name, lower-cased as we go; compression cannot occur in the first name.
        var lowered: [UInt8] = []
        lowered.reserveCapacity(count - DNSHeader.length - 4)
        var index = DNSHeader.length
        while true {
            guard index < count else { return nil }
            let length = Int(query[index])
            if length == 0 { break }
            guard length <= DNSName.maxLabelLength, index + 1 + length < count else { return nil }
            lowered.append(UInt8(length))
            for offset in (index + 1)...(index + length) { lowered.append(asciiLowercase(query[offset])) }
            index += 1 + length
        }
        lowered.append(0)
        let questionEnd = index + 5
        guard lowered.count <= DNSName.maxWireLength, questionEnd <= count,
              query[index + 3] == 0, query[index + 4] == 1 else { return nil }
        let type = UInt16(query[index + 1]) << 8 | UInt16(query[index + 2])
        switch DNSType(rawValue: type) {
        case .opt, .axfr, .ixfr, .maila, .mailb: return nil
        default: break
        }
        var udpLimit = Self.classicUDPLimit
        let hasEDNS = query[11] == 1
        if hasEDNS {
            // Exactly one OPT: root owner, type 41, version 0, options spanning the rest.
            guard questionEnd + 11 <= count, query[questionEnd] == 0, query[questionEnd + 1] == 0, query[questionEnd + 2] == 41,
                  query[questionEnd + 6] == 0,
                  questionEnd + 11 + (Int(query[questionEnd + 9]) << 8 | Int(query[questionEnd + 10])) == count else { return nil }
            udpLimit = max(udpLimit, Int(query[questionEnd + 3]) << 8 | Int(query[questionEnd + 4]))
        } else {
            guard questionEnd == count else { return nil }
        }

        let prepared = zone.prepared
        let name = DNSName(validatedWire: lowered)
        let sections: PreparedAnswers.Sections
        if let node = prepared.nodes[name], let found = node[type] {
            sections = found
        } else {
            // NODATA for a name that exists, NXDOMAIN for one that does not: both carry the SOA.
            let exists = prepared.nodes[name] != nil
            guard exists || name.isSubdomain(of: prepared.origin), type != DNSType.any.rawValue,
                  let soa = prepared.negativeSOA, soa.fits(name) else { return nil }
            let apexOffset = DNSHeader.length + lowered.count - prepared.origin.wire.count
            sections = PreparedAnswers.Sections(rcode: exists ? .noError : .nameError, answerCount: 0, authorityCount: 1,
                                                additionalCount: 0, bytes: soa.record(apexOffset: apexOffset))
        }

        let size = questionEnd + sections.bytes.count + (hasEDNS ? 11 : 0)
        guard size <= (overUDP ? udpLimit : Int(UInt16.max)) else { return nil }
        var reply: [UInt8] = []
        reply.reserveCapacity(size)
        reply.append(query[0])
        reply.append(query[1])
        // QR, AA, RD copied; RA when forwarding; CD copied (byte 3 bit 4); rcode.
        reply.append(0x84 | (query[2] & 0x01))
        reply.append((forwarding ? 0x80 : 0) | (query[3] & 0x10) | UInt8(sections.rcode.rawValue & 0x0f))
        reply.append(contentsOf: [0, 1])
        appendUInt16(&reply, sections.answerCount)
        appendUInt16(&reply, sections.authorityCount)
        appendUInt16(&reply, sections.additionalCount + (hasEDNS ? 1 : 0))
        reply.append(contentsOf: UnsafeRawBufferPointer(rebasing: query[DNSHeader.length..<questionEnd]))
        reply.append(contentsOf: sections.bytes)
        if hasEDNS {
            // OPT: our payload size, rcode and version 0, the query's DO bit, no options.
            reply.append(contentsOf: [0, 0, 41, UInt8(Self.advertisedUDPPayloadSize >> 8), UInt8(Self.advertisedUDPPayloadSize & 0xff),
                                      0, 0, query[questionEnd + 7] & 0x80, 0, 0, 0])
        }
        return FastReply(bytes: reply, type: DNSType(rawValue: type), rcode: sections.rcode)
    }
}

@inline(__always)
private func appendUInt16(_ bytes: inout [UInt8], _ value: UInt16) {
    bytes.append(UInt8(value >> 8))
    bytes.append(UInt8(value & 0xff))
}
