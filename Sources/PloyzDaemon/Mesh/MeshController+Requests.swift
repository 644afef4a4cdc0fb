import Foundation
import PloyzModel

extension MeshController {
    /// Answers one control request. Never throws: every failure becomes an error response.
    public func handle(_ request: ControlRequest) async -> ControlResponse {
        do {
            return ControlResponse(result: try await result(for: request))
        } catch let error as ControlError {
            return ControlResponse(error: error)
        } catch {
            return ControlResponse(error: ControlError(.failed, PhaseRunner.oneLine(error)))
        }
    }

    private func result(for request: ControlRequest) async throws -> ControlResult {
        let params = request.params
        switch request.method {
        case .meshCreate: return ControlResult(network: try await create(try required(params.name, request.method)))
        case .meshInit: return ControlResult(network: try await initialize(try required(params.name, request.method)))
        case .meshStart: return ControlResult(network: try await start(try required(params.name, request.method)))
        case .meshStop: return ControlResult(message: try await stop(force: params.force ?? false))
        case .meshList: return ControlResult(networks: list())
        case .meshStatus: return ControlResult(network: try await status(params.name))
        case .meshReady: return ControlResult(ready: await ready(params.name))
        case .daemonInfo:
            return ControlResult(daemon: DaemonInfo(version: Daemon.version, pid: getpid(), activeNetwork: networks.activeName()))
        case .meshInvite: return ControlResult(token: try await invite(ttl: params.ttlSeconds))
        case .meshJoin:
            guard let token = params.token, !token.isEmpty else { throw ControlError(.usage, "mesh.join needs params.token, the invite token") }
            return ControlResult(message: try await join(token: token).joined(separator: "\n"))
        case .serviceSet, .serviceList, .serviceRemove, .instanceSet, .instanceList, .instanceRemove,
             .routeSet, .routeList, .routeRemove, .certSet, .certList, .certRemove, .dnsList:
            return try await registryResult(for: request)
        }
    }

    private func required(_ name: String?, _ method: ControlMethod) throws -> String {
        guard let name else { throw ControlError(.usage, "\(method.rawValue) needs params.name, the network name") }
        return name
    }
}
