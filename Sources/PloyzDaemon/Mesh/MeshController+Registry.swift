import Foundation
import PloyzModel

extension MeshController {
    /// The registry of the running network's store; the commands need a running network.
    func registry() throws -> Registry {
        guard let store, let name = liveNetwork, phase(of: name) == .running else {
            throw ControlError(.usage, "no network is running; start one with `ployzctl mesh start NAME` or `ployzctl mesh init NAME`")
        }
        return Registry(store: store.store)
    }

    /// Answers the service, instance, route, certificate and DNS commands.
    func registryResult(for request: ControlRequest) async throws -> ControlResult {
        let registry = try registry()
        let params = request.params
        let namespace = params.namespace ?? "default"
        switch request.method {
        case .serviceSet:
            let service = try required(params.service, "params.service", request.method)
            return ControlResult(services: [try await registry.setService(namespace: service.namespace, name: service.name, ports: service.ports)])
        case .serviceList:
            return ControlResult(services: try await registry.services())
        case .serviceRemove:
            try await registry.removeService(namespace: namespace, name: try required(params.name, "params.name", request.method))
            return ControlResult(message: "removed")
        case .instanceSet:
            var instance = try required(params.instance, "params.instance", request.method)
            if instance.machine.isEmpty, let name = liveNetwork { instance.machine = (try? networks.record(name).machineID) ?? "" }
            return ControlResult(instances: [try await registry.setInstance(instance)])
        case .instanceList:
            return ControlResult(instances: try await registry.instances())
        case .instanceRemove:
            try await registry.removeInstance(id: try required(params.id, "params.id", request.method))
            return ControlResult(message: "removed")
        case .routeSet:
            let service = try required(params.name, "params.name", request.method)
            let route = try required(params.route, "params.route", request.method)
            return ControlResult(services: [try await registry.setRoute(namespace: namespace, service: service, route: route)])
        case .routeList:
            return ControlResult(routes: try await registry.routes())
        case .routeRemove:
            let service = try required(params.name, "params.name", request.method)
            let route = try required(params.route, "params.route", request.method)
            guard let host = route.hostnames.first else { throw ControlError(.usage, "route.rm needs a hostname") }
            let path = route.pathPrefix.isEmpty ? nil : route.pathPrefix
            return ControlResult(services: [try await registry.removeRoute(namespace: namespace, service: service, hostname: host, pathPrefix: path)])
        case .certSet:
            let certificate = try required(params.certificate, "params.certificate", request.method)
            return ControlResult(certificates: [try await registry.setCertificate(
                hostname: certificate.hostname, chainPEM: certificate.certificatePEM, keyPEM: certificate.privateKeyPEM)])
        case .certList:
            return ControlResult(certificates: try await registry.certificates())
        case .certRemove:
            try await registry.removeCertificate(hostname: try required(params.hostname, "params.hostname", request.method))
            return ControlResult(message: "removed")
        case .dnsList:
            return ControlResult(dnsRecords: try await dnsRecords(registry))
        default:
            throw ControlError(.usage, "\(request.method.rawValue) is not a registry command")
        }
    }

    private func required<T>(_ value: T?, _ field: String, _ method: ControlMethod) throws -> T {
        guard let value else { throw ControlError(.usage, "\(method.rawValue) needs \(field)") }
        return value
    }
}
