import PloyzModel

/// An authoritative zone held in memory: every name that exists, with its records sorted.
///
/// Names are keyed lower-cased; lookups lower-case the query name, so matching ignores case while
/// the response keeps the client's spelling in the question. Empty non-terminals (names that only
/// exist because something lies below them) are present with no records, so they answer NODATA.
public struct Zone: Sendable {
    /// The apex, e.g. `ployz.internal.`.
    public let origin: DNSName
    /// TTL of every record, also the negative-caching TTL in the SOA.
    public let ttl: UInt32
    /// The apex SOA record.
    public let soa: DNSRecord
    /// Records by lower-cased owner name, then by type; each list is sorted.
    let nodes: [DNSName: [DNSType: [DNSRecord]]]
    /// The same answers pre-encoded for the fast path (see `Zone+Prepared.swift`).
    private(set) var prepared = PreparedAnswers()

    /// Builds a zone from records. Owner names outside `origin` are ignored; names are lower-cased,
    /// duplicates removed and every list sorted so answers are byte-identical on every node.
    /// `emptyNames` exist without records of their own (a service with no ready instance).
    public init(origin: DNSName, ttl: UInt32, soa: SOAData, records: [DNSRecord], emptyNames: [DNSName] = []) {
        let origin = origin.lowercased()
        self.origin = origin
        self.ttl = ttl
        var nodes: [DNSName: [DNSType: [DNSRecord]]] = [origin: [:]]
        func insertWithAncestors(_ name: DNSName) {
            // Every ancestor up to the apex exists, even with no records of its own.
            var current = name
            while current.wire.count > origin.wire.count, nodes[current] == nil {
                nodes[current] = [:]
                current = current.parent
            }
        }
        for name in emptyNames.map({ $0.lowercased() }) where name.isSubdomain(of: origin) {
            insertWithAncestors(name)
        }
        for var record in records {
            record.name = record.name.lowercased()
            record.ttl = ttl
            guard record.name.isSubdomain(of: origin), record.type != .soa else { continue }
            insertWithAncestors(record.name)
            nodes[record.name]![record.type, default: []].append(record)
        }
        let soaRecord = DNSRecord(name: origin, type: .soa, ttl: ttl, data: .soa(soa))
        nodes[origin, default: [:]][.soa] = [soaRecord]
        for (name, byType) in nodes {
            for (type, list) in byType {
                nodes[name]![type] = Zone.sortedUnique(list)
            }
        }
        self.nodes = nodes
        self.soa = soaRecord
        prepared = PreparedAnswers(zone: self)
    }

    /// What the zone holds for one question.
    public enum Lookup: Equatable, Sendable {
        /// Records of the asked type (all types for ANY), plus helpful additional records.
        case answer([DNSRecord], additional: [DNSRecord])
        /// The name exists but has no record of that type.
        case noData
        /// The name does not exist in the zone.
        case nameError
        /// The name is not in this zone at all.
        case outOfZone
    }

    /// Every record in the zone in canonical order (RFC 4034 section 6.1: names compared label by
    /// label from the apex down, then by type): what the server can answer.
    public var allRecords: [DNSRecord] {
        func canonical(_ a: DNSName, _ b: DNSName) -> Bool {
            a.labels.reversed().lexicographicallyPrecedes(b.labels.reversed()) { $0.lexicographicallyPrecedes($1) }
        }
        return nodes.keys.sorted(by: canonical).flatMap { name in
            nodes[name]!.keys.sorted { $0.rawValue < $1.rawValue }.flatMap { nodes[name]![$0]! }
        }
    }

    /// Looks one question up; the class is not checked here (the responder does).
    public func lookup(_ name: DNSName, type: DNSType) -> Lookup {
        let key = name.lowercased()
        guard key.isSubdomain(of: origin) else { return .outOfZone }
        guard let node = nodes[key] else { return .nameError }
        let found: [DNSRecord]
        if type == .any {
            found = node.keys.sorted { $0.rawValue < $1.rawValue }.flatMap { node[$0]! }
        } else {
            found = node[type] ?? []
        }
        guard !found.isEmpty else { return .noData }
        return .answer(found.map { renamed($0, to: name) }, additional: additionalRecords(for: found))
    }

    /// The authoritative response to a query whose question is in this zone; nil when it is not.
    ///
    /// The caller has already checked opcode, counts and class. Negative answers carry the SOA
    /// in the authority section so resolvers can cache them (RFC 2308).
    public func answer(_ query: DNSMessage) -> DNSMessage? {
        guard let question = query.questions.first else { return nil }
        var response = DNSMessage.response(to: query)
        response.header.authoritative = true
        switch lookup(question.name, type: question.type) {
        case .outOfZone:
            return nil
        case .answer(let records, let additional):
            response.answers = records
            response.additional = additional
        case .noData:
            response.authority = [soa]
        case .nameError:
            response.rcode = .nameError
            response.authority = [soa]
        }
        return response
    }

    /// Address records of names that answers point to (SRV targets, NS hosts) when the zone has them.
    private func additionalRecords(for records: [DNSRecord]) -> [DNSRecord] {
        var targets: [DNSName] = []
        for record in records {
            switch record.data {
            case .srv(let srv): targets.append(srv.target.lowercased())
            case .ns(let host): targets.append(host.lowercased())
            default: break
            }
        }
        var seen = Set<DNSName>()
        var result: [DNSRecord] = []
        for target in targets where seen.insert(target).inserted {
            result += nodes[target]?[.a] ?? []
            result += nodes[target]?[.aaaa] ?? []
        }
        return result
    }

    /// Answers carry the query's spelling of the owner name (stored names are lower-case).
    private func renamed(_ record: DNSRecord, to name: DNSName) -> DNSRecord {
        guard record.name != name else { return record }
        var copy = record
        copy.name = name
        return copy
    }

    private static func sortedUnique(_ records: [DNSRecord]) -> [DNSRecord] {
        let keyed = records.map { (key: sortKey($0), record: $0) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var result: [DNSRecord] = []
        var previous: [UInt8]?
        for entry in keyed where entry.key != previous {
            result.append(entry.record)
            previous = entry.key
        }
        return result
    }

    /// Records order by their rdata's wire form, as in DNSSEC canonical order (RFC 4034 6.3).
    static func sortKey(_ record: DNSRecord) -> [UInt8] {
        var writer = WireWriter()
        writer.writeRecord(DNSRecord(name: .root, type: record.type, ttl: 0, data: record.data))
        return Array(writer.bytes.dropFirst(11))
    }
}

extension DNSMessage {
    /// An empty response to `query`: same id, opcode and question, RD and CD copied, QR set, and
    /// an OPT record when the query had one (RFC 6891 section 7) with its DO bit copied (RFC 3225).
    public static func response(to query: DNSMessage) -> DNSMessage {
        var header = DNSHeader(id: query.header.id)
        header.isResponse = true
        header.opcode = query.header.opcode
        header.recursionDesired = query.header.recursionDesired
        header.checkingDisabled = query.header.checkingDisabled
        return DNSMessage(header: header, questions: query.questions,
                          edns: query.edns.map { EDNS(udpPayloadSize: DNSResponder.advertisedUDPPayloadSize, dnssecOK: $0.dnssecOK) })
    }
}
