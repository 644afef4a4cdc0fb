import Foundation

extension DockerEngine {
    public func ensureNetwork(_ spec: NetworkSpec) async throws {
        if try await verifyExistingNetwork(spec) { return }
        let operation = "create network \(spec.name)"
        let response = try await call(.POST, "/networks/create", json: DockerWire.networkCreate(spec), operation: operation)
        // Another caller may have created it meanwhile: then it must match too.
        if response.status == 409, try await verifyExistingNetwork(spec) { return }
        try check(response, operation: operation)
    }

    public func removeNetwork(name: String) async throws {
        let operation = "remove network \(name)"
        let response = try await call(.DELETE, "/networks/\(name)", operation: operation)
        if response.status == 404 { return }
        // Docker says 403 when containers are still attached.
        if response.status == 403 { throw RuntimeError.conflict(Self.message(response.body)) }
        try check(response, operation: operation)
    }

    /// True when the network exists with the spec's subnet; false when it does not exist.
    private func verifyExistingNetwork(_ spec: NetworkSpec) async throws -> Bool {
        let operation = "inspect network \(spec.name)"
        let response = try await call(.GET, "/networks/\(spec.name)", operation: operation)
        if response.status == 404 { return false }
        try check(response, operation: operation)
        let network = try decode(DockerWire.NetworkInspect.self, response, operation: operation)
        // Docker also matches an id prefix: a network of another name is not this one.
        guard network.Name == spec.name else { return false }
        let subnets = (network.IPAM?.Config ?? []).compactMap(\.Subnet)
        guard subnets.contains(spec.subnet) else {
            throw RuntimeError.networkMismatch(name: spec.name, existing: subnets.isEmpty ? "none" : subnets.joined(separator: ","),
                                               wanted: spec.subnet)
        }
        return true
    }
}
