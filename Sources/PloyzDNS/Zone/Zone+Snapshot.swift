import PloyzModel

extension Zone {
    /// The cluster zone every node serves.
    public static let clusterOrigin = try! DNSName("ployz.internal.")
    /// The default name-server name at the apex.
    public static let defaultNameServer = try! DNSName("ns.ployz.internal.")

    /// The node's own name server as it appears in the apex NS and SOA records.
    public struct NameServer: Sendable, Equatable {
        public var name: DNSName
        /// Addresses published for `name` when it lies inside the zone (glue).
        public var ipv4: [IPv4Address]
        public var ipv6: [IPv6Address]

        public init(name: DNSName = Zone.defaultNameServer, ipv4: [IPv4Address] = [], ipv6: [IPv6Address] = []) {
            self.name = name
            self.ipv4 = ipv4
            self.ipv6 = ipv6
        }
    }

    /// The cluster zone as a pure function of the store's snapshot.
    ///
    /// - `<service>.<namespace>.ployz.internal` A: addresses of the service's ready instances;
    ///   `<service>.ployz.internal` is the same for namespace `default`.
    /// - `_<port name>._<transport>.<service name>` SRV for each service port (RFC 2782), and the
    ///   same under `_<port number>._<transport>` so `_8080._tcp.web...` works too; priority 0,
    ///   weight 0, target the service name (whose A records go in the additional section).
    /// - `<machine>.machine.ployz.internal` AAAA: the machine's overlay address (not for stopped machines).
    /// - Apex SOA and NS; the SOA serial is a hash of the records, so it changes with the content.
    /// Names that are not valid DNS labels (empty, dotted, over 63 bytes) are left out.
    public static func build(from snapshot: ClusterSnapshot, ttl: UInt32 = 5, nameServer: NameServer = NameServer()) -> Zone {
        let origin = clusterOrigin
        var records: [DNSRecord] = []
        var serviceOwners: [DNSName] = []
        var serviceKeys = Set<ServiceKey>()
        for service in snapshot.services.values {
            serviceKeys.insert(ServiceKey(namespace: service.namespace, name: service.name))
        }
        // One pass over the instances, not one per service.
        var readyAddresses: [ServiceKey: [IPv4Address]] = [:]
        for instance in snapshot.instances.values where instance.ready {
            let key = ServiceKey(namespace: instance.namespace, name: instance.service)
            serviceKeys.insert(key)
            if let address = IPv4Address(instance.address) { readyAddresses[key, default: []].append(address) }
        }
        for key in serviceKeys {
            let owners = serviceNames(key, origin: origin)
            guard !owners.isEmpty else { continue }
            let addresses = readyAddresses[key] ?? []
            let ports = snapshot.services[StoreKeys.service(namespace: key.namespace, name: key.name)]?.ports ?? []
            for owner in owners {
                // A service with no ready instance still exists as a name (NODATA, not NXDOMAIN).
                serviceOwners.append(owner)
                records += addresses.map { DNSRecord.a(owner, $0, ttl: ttl) }
                for port in ports {
                    guard let number = UInt16(exactly: port.port) else { continue }
                    let srv = DNSRData.srv(SRVData(priority: 0, weight: 0, port: number, target: owner))
                    for label in Set([port.name.lowercased(), String(number)]) {
                        guard let name = try? DNSName(labels: ["_" + label, "_" + port.transport.lowercased()], under: owner) else { continue }
                        records.append(DNSRecord(name: name, type: .srv, ttl: ttl, data: srv))
                    }
                }
            }
        }
        let machines = try! DNSName(labels: ["machine"], under: origin)
        for machine in snapshot.machines.values where machine.lifecycle != .stopped {
            guard isLabel(machine.name), let name = try? DNSName(labels: [machine.name.lowercased()], under: machines) else { continue }
            records.append(.aaaa(name, machine.overlayIPv6, ttl: ttl))
        }
        records.append(DNSRecord(name: origin, type: .ns, ttl: ttl, data: .ns(nameServer.name)))
        records += nameServer.ipv4.map { DNSRecord.a(nameServer.name, $0, ttl: ttl) }
        records += nameServer.ipv6.map { DNSRecord.aaaa(nameServer.name, $0, ttl: ttl) }
        let soa = SOAData(primaryNameServer: nameServer.name, responsibleMailbox: try! DNSName(labels: ["hostmaster"], under: origin),
                          serial: serial(of: records), refresh: 60, retry: 10, expire: 3600, minimum: ttl)
        return Zone(origin: origin, ttl: ttl, soa: soa, records: records, emptyNames: serviceOwners)
    }

    private struct ServiceKey: Hashable {
        var namespace: String
        var name: String
    }

    /// `<service>.<namespace>.<origin>`, plus `<service>.<origin>` in namespace `default`.
    private static func serviceNames(_ key: ServiceKey, origin: DNSName) -> [DNSName] {
        guard isLabel(key.name), isLabel(key.namespace) else { return [] }
        let service = key.name.lowercased(), namespace = key.namespace.lowercased()
        var names = [try? DNSName(labels: [service, namespace], under: origin)]
        if namespace == "default" { names.append(try? DNSName(labels: [service], under: origin)) }
        return names.compactMap { $0 }
    }

    private static func isLabel(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= DNSName.maxLabelLength && !text.contains(".")
    }

    /// FNV-1a over the records in canonical order: equal content gives equal serials on every node.
    private static func serial(of records: [DNSRecord]) -> UInt32 {
        let keys = records.map { $0.name.lowercased().wire + sortKey($0) }.sorted { $0.lexicographicallyPrecedes($1) }
        var hash: UInt32 = 2_166_136_261
        for key in keys {
            for byte in key {
                hash = (hash ^ UInt32(byte)) &* 16_777_619
            }
        }
        return hash
    }
}
