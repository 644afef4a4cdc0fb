import Foundation
import PloyzModel

extension ControlRouter {
    /// Every method of the control API, answered by `controller`.
    public static func daemon(_ controller: MeshController) -> ControlRouter {
        var router = ControlRouter()
        router.onMesh(controller)
        router.onRegistry(controller)
        router.onWorkloads(controller)
        return router
    }

    private mutating func onMesh(_ controller: MeshController) {
        on(ControlCalls.MeshCreate.self) { try await controller.create($0.name) }
        on(ControlCalls.MeshInit.self) { try await controller.initialize($0.name) }
        on(ControlCalls.MeshStart.self) { try await controller.start($0.name) }
        on(ControlCalls.MeshStop.self) { .init(message: try await controller.stop(force: $0.force)) }
        on(ControlCalls.MeshList.self) { _ in .init(networks: await controller.list()) }
        on(ControlCalls.MeshStatus.self) { try await controller.status($0.name) }
        on(ControlCalls.MeshReady.self) { await controller.ready($0.name) }
        on(ControlCalls.MeshInvite.self) { .init(token: try await controller.invite(ttl: $0.ttlSeconds)) }
        on(ControlCalls.MeshJoin.self) { request in
            guard !request.token.isEmpty else { throw ControlError(.usage, "mesh.join needs params.token, the invite token") }
            return .init(message: try await controller.join(token: request.token).joined(separator: "\n"))
        }
        on(ControlCalls.DaemonInfo.self) { _ in await controller.info() }
    }

    private mutating func onRegistry(_ controller: MeshController) {
        on(ControlCalls.ServiceSet.self) { request in
            let service = request.service
            return try await controller.registry().setService(namespace: service.namespace, name: service.name, ports: service.ports)
        }
        on(ControlCalls.ServiceList.self) { _ in .init(services: try await controller.serviceSummaries()) }
        on(ControlCalls.ServiceRemove.self) { request in
            .init(message: try await controller.removeWorkloadService(namespace: request.namespace, name: request.name))
        }
        on(ControlCalls.InstanceSet.self) { try await controller.setInstance($0.instance) }
        on(ControlCalls.InstanceList.self) { _ in .init(instances: try await controller.registry().instances()) }
        on(ControlCalls.InstanceRemove.self) { request in
            try await controller.registry().removeInstance(id: request.id)
            return .init()
        }
        on(ControlCalls.RouteSet.self) { request in
            try await controller.registry().setRoute(namespace: request.namespace, service: request.service, route: request.route)
        }
        on(ControlCalls.RouteList.self) { _ in .init(routes: try await controller.registry().routes()) }
        on(ControlCalls.RouteRemove.self) { request in
            try await controller.registry().removeRoute(namespace: request.namespace, service: request.service,
                                                        hostname: request.hostname, pathPrefix: request.pathPrefix)
        }
        on(ControlCalls.CertSet.self) { request in
            let certificate = request.certificate
            return try await controller.registry().setCertificate(
                hostname: certificate.hostname, chainPEM: certificate.certificatePEM, keyPEM: certificate.privateKeyPEM)
        }
        on(ControlCalls.CertList.self) { _ in .init(certificates: try await controller.registry().certificates()) }
        on(ControlCalls.CertRemove.self) { request in
            try await controller.registry().removeCertificate(hostname: request.hostname)
            return .init()
        }
        on(ControlCalls.DNSList.self) { _ in .init(dnsRecords: try await controller.dnsRecords()) }
    }

    private mutating func onWorkloads(_ controller: MeshController) {
        on(ControlCalls.Deploy.self) { request in
            let (id, lines) = try await controller.deploy(request.services)
            return .init(deployment: id, lines: lines)
        }
        on(ControlCalls.DeployStatus.self) { request in
            let (lines, done, error) = try await controller.deployProgress(id: request.deployment, offset: request.offset)
            return .init(lines: lines, done: done, error: error)
        }
        on(ControlCalls.ServiceStatusCall.self) { try await controller.serviceStatus(namespace: $0.namespace, name: $0.name) }
        on(ControlCalls.ServiceLogs.self) { request in
            .init(lines: try await controller.serviceLogs(namespace: request.namespace, name: request.name, tail: request.tail,
                                                          since: request.since))
        }
    }
}
