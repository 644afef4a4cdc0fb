import PloyzModel

/// One entry of the question section.
public struct DNSQuestion: Equatable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var recordClass: DNSClass

    public init(name: DNSName, type: DNSType, recordClass: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// SOA rdata (RFC 1035 section 3.3.13).
public struct SOAData: Equatable, Sendable {
    public var primaryNameServer: DNSName
    public var responsibleMailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// The negative-caching TTL (RFC 2308).
    public var minimum: UInt32

    public init(primaryNameServer: DNSName, responsibleMailbox: DNSName, serial: UInt32,
                refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.primaryNameServer = primaryNameServer
        self.responsibleMailbox = responsibleMailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// SRV rdata (RFC 2782).
public struct SRVData: Equatable, Sendable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: DNSName

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// Record data: parsed for the types we serve, opaque bytes for every other type (RFC 3597).
public enum DNSRData: Equatable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ns(DNSName)
    case soa(SOAData)
    case srv(SRVData)
    /// Character-strings, each at most 255 bytes.
    case txt([[UInt8]])
    case opaque([UInt8])
}

/// A resource record (RFC 1035 section 4.1.3). OPT is not one of these: see `EDNS`.
public struct DNSRecord: Equatable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var recordClass: DNSClass
    public var ttl: UInt32
    public var data: DNSRData

    public init(name: DNSName, type: DNSType, recordClass: DNSClass = .internet, ttl: UInt32, data: DNSRData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    public static func a(_ name: DNSName, _ address: IPv4Address, ttl: UInt32) -> DNSRecord {
        DNSRecord(name: name, type: .a, ttl: ttl, data: .a(address))
    }

    public static func aaaa(_ name: DNSName, _ address: IPv6Address, ttl: UInt32) -> DNSRecord {
        DNSRecord(name: name, type: .aaaa, ttl: ttl, data: .aaaa(address))
    }
}

/// The EDNS0 OPT pseudo-record (RFC 6891 section 6.1), kept apart from the additional section.
public struct EDNS: Equatable, Sendable {
    /// The largest UDP payload the sender can reassemble.
    public var udpPayloadSize: UInt16
    /// Upper eight bits of the 12-bit response code.
    public var extendedRcode: UInt8
    public var version: UInt8
    /// DO: the sender wants DNSSEC records.
    public var dnssecOK: Bool
    /// The remaining flag bits (Z), kept for round trips.
    public var otherFlags: UInt16
    /// Options as raw `code, length, data` bytes; we understand none, so they are not echoed.
    public var options: [UInt8]

    public init(udpPayloadSize: UInt16 = 1232, extendedRcode: UInt8 = 0, version: UInt8 = 0,
                dnssecOK: Bool = false, otherFlags: UInt16 = 0, options: [UInt8] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRcode = extendedRcode
        self.version = version
        self.dnssecOK = dnssecOK
        self.otherFlags = otherFlags
        self.options = options
    }
}
