import Foundation
import NATSClient
import PloyzModel

/// The records each part of Ployz reads and writes, by name.
extension ClusterStore {
    public func putMachine(_ record: MachineRecord) async throws {
        try await put(record, in: .machines, key: record.id)
    }

    public func machine(id: String) async throws -> MachineRecord? {
        try await get(MachineRecord.self, in: .machines, key: id)?.record
    }

    public func machines() async throws -> [MachineRecord] {
        try await all(MachineRecord.self, in: .machines).values.sorted { $0.name < $1.name }
    }

    public func deleteMachine(id: String) async throws {
        try await delete(in: .machines, key: id)
    }

    public func putService(_ record: ServiceRecord) async throws {
        try await put(record, in: .services, key: record.key)
    }

    public func services() async throws -> [ServiceRecord] {
        try await all(ServiceRecord.self, in: .services).values.sorted { $0.key < $1.key }
    }

    public func deleteService(namespace: String, name: String) async throws {
        try await delete(in: .services, key: StoreKeys.service(namespace: namespace, name: name))
    }

    public func putInstance(_ record: InstanceRecord) async throws {
        try await put(record, in: .instances, key: record.id)
    }

    public func instances() async throws -> [InstanceRecord] {
        try await all(InstanceRecord.self, in: .instances).values.sorted { $0.id < $1.id }
    }

    /// The instances (workloads) placed on one machine.
    public func instances(onMachine machine: String) async throws -> [InstanceRecord] {
        try await instances().filter { $0.machine == machine }
    }

    public func deleteInstance(id: String) async throws {
        try await delete(in: .instances, key: id)
    }

    public func putCertificate(_ record: CertificateRecord) async throws {
        try await put(record, in: .certificates, key: StoreKeys.certificate(hostname: record.hostname))
    }

    public func certificates() async throws -> [CertificateRecord] {
        try await all(CertificateRecord.self, in: .certificates).values.sorted { $0.hostname < $1.hostname }
    }

    public func deleteCertificate(hostname: String) async throws {
        try await delete(in: .certificates, key: StoreKeys.certificate(hostname: hostname))
    }

    /// Claims a subnet for `machine` with create-if-absent, so two nodes can never own one subnet.
    /// Returns false when someone else holds it.
    public func claimSubnet(_ subnet: IPv4CIDR, for machine: String) async throws -> Bool {
        do {
            try await create(SubnetClaim(subnet: subnet, machine: machine), in: .subnets, key: StoreKeys.subnetLock(subnet))
            return true
        } catch NATSError.keyExists {
            return try await get(SubnetClaim.self, in: .subnets, key: StoreKeys.subnetLock(subnet))?.record.machine == machine
        }
    }

    /// Every claimed subnet.
    public func claimedSubnets() async throws -> [SubnetClaim] {
        Array(try await all(SubnetClaim.self, in: .subnets).values)
    }

    public func releaseSubnet(_ subnet: IPv4CIDR) async throws {
        try await delete(in: .subnets, key: StoreKeys.subnetLock(subnet))
    }
}

/// Who owns a subnet (bucket `subnets`).
public struct SubnetClaim: Codable, Sendable, Equatable {
    public var subnet: IPv4CIDR
    public var machine: String

    public init(subnet: IPv4CIDR, machine: String) {
        self.subnet = subnet
        self.machine = machine
    }
}

/// Workloads: desired state (`workloads`) and signs of life (`heartbeats`).
extension ClusterStore {
    public func workloads() async throws -> [WorkloadRecord] {
        try await all(WorkloadRecord.self, in: .workloads).values.sorted { $0.key < $1.key }
    }

    public func workload(namespace: String, name: String) async throws -> Versioned<WorkloadRecord>? {
        try await get(WorkloadRecord.self, in: .workloads, key: StoreKeys.service(namespace: namespace, name: name))
    }

    /// Writes a workload with compare-and-set: `revision` nil creates it (fails when it exists).
    @discardableResult
    public func saveWorkload(_ record: WorkloadRecord, revision: UInt64?) async throws -> UInt64 {
        if let revision { return try await update(record, in: .workloads, key: record.key, revision: revision) }
        return try await create(record, in: .workloads, key: record.key)
    }

    public func deleteWorkload(namespace: String, name: String) async throws {
        try await delete(in: .workloads, key: StoreKeys.service(namespace: namespace, name: name))
    }

    public func putHeartbeat(_ heartbeat: MachineHeartbeat) async throws {
        try await put(heartbeat, in: .heartbeats, key: heartbeat.machine)
    }

    /// The machines alive now (their heartbeat has not expired), by machine id.
    public func heartbeats() async throws -> [String: MachineHeartbeat] {
        try await all(MachineHeartbeat.self, in: .heartbeats)
    }
}
