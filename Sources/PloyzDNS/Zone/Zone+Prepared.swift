/// Every answer the zone can give for a name that exists, encoded once when the zone is built.
///
/// A response is header + question + sections. The question is the client's, at offset 12, and
/// its length does not depend on letter case, so the sections encoded for the lower-case name
/// (whose compression pointers refer to offsets inside that question) are valid for any spelling.
/// Serving a query is then a copy, which is what makes the server keep up with knotd.
struct PreparedAnswers: Sendable {
    /// The part of a response after the question section.
    struct Sections: Sendable {
        var rcode: DNSRcode
        var answerCount: UInt16
        var authorityCount: UInt16
        var additionalCount: UInt16
        var bytes: [UInt8]
    }

    /// Sections by raw type for each lower-cased name; types a name lacks answer NODATA from
    /// `negativeSOA`, and ANY is left to the full path (it is rare and its answer is large).
    var nodes: [DNSName: [UInt16: Sections]] = [:]
    var origin = DNSName.root
    /// The SOA for NXDOMAIN and NODATA answers, built around the question at query time; nil
    /// when the SOA names are not both direct children of the apex (then the full path answers).
    var negativeSOA: NegativeSOA?

    /// The apex SOA in pieces, so the full path's compression can be reproduced around any
    /// question: owner, MNAME and RNAME all end in a pointer to the apex inside the question.
    struct NegativeSOA: Sendable {
        var mname: DNSName
        var rname: DNSName
        /// Type, class, TTL and rdata length.
        var fixed: [UInt8]
        /// Length byte and bytes of the first label of MNAME and RNAME.
        var mnameLabel: [UInt8]
        var rnameLabel: [UInt8]
        /// Serial, refresh, retry, expire, minimum.
        var numbers: [UInt8]

        /// The encoder would point into the question for a longer suffix when the question lies
        /// at or below MNAME or RNAME; those few cases are left to the full path.
        func fits(_ question: DNSName) -> Bool {
            !question.isSubdomain(of: mname) && !question.isSubdomain(of: rname)
        }

        func record(apexOffset: Int) -> [UInt8] {
            let pointer = [0xc0 | UInt8(apexOffset >> 8), UInt8(apexOffset & 0xff)]
            return pointer + fixed + mnameLabel + pointer + rnameLabel + pointer + numbers
        }
    }

    init() {}

    init(zone: Zone) {
        origin = zone.origin
        negativeSOA = Self.negativeSOA(zone)
        nodes.reserveCapacity(zone.nodes.count)
        for (name, byType) in zone.nodes {
            var sections: [UInt16: Sections] = [:]
            for type in byType.keys {
                sections[type.rawValue] = Self.sections(zone, name, type)
            }
            nodes[name] = sections
        }
    }

    private static func negativeSOA(_ zone: Zone) -> NegativeSOA? {
        guard case .soa(let soa) = zone.soa.data else { return nil }
        let mname = soa.primaryNameServer.lowercased(), rname = soa.responsibleMailbox.lowercased()
        guard mname.parent == zone.origin, rname.parent == zone.origin, mname != rname else { return nil }
        let mnameLabel = Array(mname.wire[...Int(mname.wire[0])]), rnameLabel = Array(rname.wire[...Int(rname.wire[0])])
        let rdataLength = mnameLabel.count + 2 + rnameLabel.count + 2 + 20
        var writer = WireWriter()
        writer.writeUInt16(DNSType.soa.rawValue)
        writer.writeUInt16(DNSClass.internet.rawValue)
        writer.writeUInt32(zone.soa.ttl)
        writer.writeUInt16(UInt16(rdataLength))
        let fixed = writer.bytes
        writer = WireWriter()
        for number in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { writer.writeUInt32(number) }
        return NegativeSOA(mname: mname, rname: rname, fixed: fixed, mnameLabel: mnameLabel, rnameLabel: rnameLabel, numbers: writer.bytes)
    }

    private static func sections(_ zone: Zone, _ name: DNSName, _ type: DNSType) -> Sections {
        let query = DNSMessage(questions: [DNSQuestion(name: name, type: type)])
        let response = zone.answer(query)!
        let bytes = response.encode()
        let header = try! DNSHeader(decoding: bytes)
        return Sections(rcode: response.rcode, answerCount: header.answerCount, authorityCount: header.authorityCount,
                        additionalCount: header.additionalCount,
                        bytes: Array(bytes[(DNSHeader.length + name.wire.count + 4)...]))
    }
}
