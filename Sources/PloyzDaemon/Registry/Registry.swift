import Foundation
import NATSClient
import NIOSSL
import PloyzModel
import PloyzStore

/// Services, instances, routes and certificates as people publish them with `ployzctl`: the same
/// records workloads will publish, so the gateway and DNS can be used before workloads exist.
public struct Registry: Sendable {
    public let store: ClusterStore

    public init(store: ClusterStore) {
        self.store = store
    }

    // MARK: Services

    /// Creates or updates a service's ports; its routes are kept.
    public func setService(namespace: String, name: String, ports: [ServicePort]) async throws -> ServiceRecord {
        var service = try await existingService(namespace: namespace, name: name) ?? ServiceRecord(namespace: namespace, name: name)
        service.ports = ports
        try check(RecordValidation.problem(with: service))
        try await store.putService(service)
        return service
    }

    public func removeService(namespace: String, name: String) async throws {
        guard try await existingService(namespace: namespace, name: name) != nil else {
            throw ControlError(.notFound, "service \(namespace)/\(name) does not exist")
        }
        try await store.deleteService(namespace: namespace, name: name)
    }

    public func services() async throws -> [ServiceRecord] { try await store.services() }

    // MARK: Instances

    public func setInstance(_ instance: InstanceRecord) async throws -> InstanceRecord {
        try check(RecordValidation.problem(with: instance))
        try await store.putInstance(instance)
        return instance
    }

    public func removeInstance(id: String) async throws {
        guard try await store.get(InstanceRecord.self, in: .instances, key: id) != nil else {
            throw ControlError(.notFound, "instance \"\(id)\" does not exist")
        }
        try await store.deleteInstance(id: id)
    }

    public func instances() async throws -> [InstanceRecord] { try await store.instances() }

    // MARK: Routes

    /// Adds or updates a route of a service, creating the service when it does not exist yet.
    /// Compare-and-set on the service record, so two people editing one service both land.
    public func setRoute(namespace: String, service name: String, route: HTTPRoute) async throws -> ServiceRecord {
        try await editService(namespace: namespace, name: name, createIfMissing: true) { $0.settingRoute(route) }
    }

    public func removeRoute(namespace: String, service name: String, hostname: String, pathPrefix: String?) async throws -> ServiceRecord {
        try await editService(namespace: namespace, name: name, createIfMissing: false) { service in
            guard let edited = service.removingRoute(hostname: hostname, pathPrefix: pathPrefix) else {
                throw ControlError(.notFound, "service \(namespace)/\(name) has no route for \(hostname)\(pathPrefix ?? "")")
            }
            return edited
        }
    }

    public func routes() async throws -> [RouteSummary] {
        try await snapshot().routeSummaries()
    }

    // MARK: Certificates

    /// Stores a certificate for `hostname` after checking that the chain and key parse and that
    /// the leaf is currently valid.
    public func setCertificate(hostname: String, chainPEM: String, keyPEM: String) async throws -> CertificateSummary {
        try check(RecordValidation.hostname(hostname))
        let leaf: NIOSSLCertificate
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
            guard let first = chain.first else { throw ControlError(.usage, "the certificate file holds no PEM certificate") }
            leaf = first
        } catch let error as ControlError { throw error } catch {
            throw ControlError(.usage, "the certificate file is not a PEM certificate chain: \(error)")
        }
        do { _ = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem) } catch {
            throw ControlError(.usage, "the key file is not a PEM private key: \(error)")
        }
        let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        guard notAfter > Date() else {
            throw ControlError(.usage, "the certificate for \(hostname) expired at \(notAfter.formatted(.iso8601))")
        }
        let record = CertificateRecord(hostname: hostname, certificatePEM: chainPEM, privateKeyPEM: keyPEM, notAfter: notAfter)
        try await store.putCertificate(record)
        return CertificateSummary(record)
    }

    public func removeCertificate(hostname: String) async throws {
        guard try await store.get(CertificateRecord.self, in: .certificates, key: StoreKeys.certificate(hostname: hostname)) != nil else {
            throw ControlError(.notFound, "no certificate for \(hostname.lowercased())")
        }
        try await store.deleteCertificate(hostname: hostname)
    }

    public func certificates() async throws -> [CertificateSummary] {
        try await store.certificates().map(CertificateSummary.init)
    }

    // MARK: Helpers

    /// The cluster's routing state as the sidecars see it.
    public func snapshot() async throws -> ClusterSnapshot {
        async let machines = store.all(MachineRecord.self, in: .machines)
        async let services = store.all(ServiceRecord.self, in: .services)
        async let instances = store.all(InstanceRecord.self, in: .instances)
        return ClusterSnapshot(machines: try await machines, services: try await services, instances: try await instances)
    }

    private func existingService(namespace: String, name: String) async throws -> ServiceRecord? {
        try check(RecordValidation.label(namespace, field: "namespace") ?? RecordValidation.label(name, field: "service name"))
        return try await store.get(ServiceRecord.self, in: .services, key: StoreKeys.service(namespace: namespace, name: name))?.record
    }

    private func editService(namespace: String, name: String, createIfMissing: Bool,
                             _ edit: (ServiceRecord) throws -> ServiceRecord) async throws -> ServiceRecord {
        try check(RecordValidation.label(namespace, field: "namespace") ?? RecordValidation.label(name, field: "service name"))
        let key = StoreKeys.service(namespace: namespace, name: name)
        for _ in 0..<10 {
            let current = try await store.get(ServiceRecord.self, in: .services, key: key)
            guard current != nil || createIfMissing else { throw ControlError(.notFound, "service \(namespace)/\(name) does not exist") }
            let edited = try edit(current?.record ?? ServiceRecord(namespace: namespace, name: name))
            try check(RecordValidation.problem(with: edited))
            do {
                if let current {
                    try await store.update(edited, in: .services, key: key, revision: current.revision)
                } else {
                    try await store.create(edited, in: .services, key: key)
                }
                return edited
            } catch NATSError.wrongLastRevision, NATSError.keyExists {
                continue
            }
        }
        throw ControlError(.failed, "service \(namespace)/\(name) changed 10 times while editing it; try again")
    }

    private func check(_ problem: String?) throws {
        if let problem { throw ControlError(.usage, problem) }
    }
}

/// A certificate as listings show it: never the key.
public struct CertificateSummary: Codable, Sendable, Equatable {
    public var hostname: String
    public var notAfter: Date?

    public init(hostname: String, notAfter: Date?) {
        self.hostname = hostname
        self.notAfter = notAfter
    }

    init(_ record: CertificateRecord) {
        self.init(hostname: record.hostname, notAfter: record.notAfter)
    }
}
