import PloyzDNS
import PloyzModel

extension DNSRData {
    /// The record's data as zone files write it.
    var presentation: String {
        switch self {
        case .a(let address): address.description
        case .aaaa(let address): address.description
        case .ns(let name): name.description
        case .soa(let soa): "\(soa.primaryNameServer) \(soa.responsibleMailbox) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .srv(let srv): "\(srv.priority) \(srv.weight) \(srv.port) \(srv.target)"
        case .txt(let strings): strings.map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: " ")
        case .opaque(let bytes): "\\# \(bytes.count)"
        }
    }
}

extension MeshController {
    /// What the DNS sidecar serves: the zone built from the store the way `ployz-dns` builds it.
    func dnsRecords() async throws -> [DNSRecordSummary] {
        let snapshot = try await registry().snapshot()
        let zone = Zone.build(from: snapshot, ttl: UInt32(config.dnsTTL))
        return zone.allRecords.map {
            DNSRecordSummary(name: $0.name.description, type: $0.type.description, value: $0.data.presentation, ttl: Int($0.ttl))
        }
    }
}
