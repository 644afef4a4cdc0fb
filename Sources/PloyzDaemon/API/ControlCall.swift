import Foundation

/// Every method of the control API, by its wire name.
public enum ControlMethod: String, Codable, Sendable, CaseIterable {
    case meshCreate = "mesh.create"
    case meshInit = "mesh.init"
    case meshStart = "mesh.start"
    case meshStop = "mesh.stop"
    case meshList = "mesh.list"
    case meshStatus = "mesh.status"
    case meshReady = "mesh.ready"
    case meshInvite = "mesh.invite"
    case meshJoin = "mesh.join"
    case daemonInfo = "daemon.info"
    case serviceSet = "service.set"
    case serviceList = "service.ls"
    case serviceRemove = "service.rm"
    case instanceSet = "instance.set"
    case instanceList = "instance.ls"
    case instanceRemove = "instance.rm"
    case routeSet = "route.set"
    case routeList = "route.ls"
    case routeRemove = "route.rm"
    case certSet = "cert.set"
    case certList = "cert.ls"
    case certRemove = "cert.rm"
    case dnsList = "dns.ls"
    case deploy = "deploy"
    case deployStatus = "deploy.status"
    case serviceStatus = "service.status"
    case serviceLogs = "service.logs"
}

/// One method of the control API: its wire name and what it takes and returns. Each method is a
/// caseless enum in `ControlCalls` with its `Request` and `Response` beside it; the client calls it
/// with `ControlClient.call(_:_:)`, the daemon answers it with `ControlRouter.on(_:_:)`.
public protocol ControlCall {
    /// The request's `params`; a missing or mistyped field is a decode error that names it.
    associatedtype Request: Codable & Sendable
    /// The response's `result`.
    associatedtype Response: Codable & Sendable
    static var method: ControlMethod { get }
}

/// The methods, one caseless enum each, by area: `ControlCalls+Mesh.swift`, `ControlCalls+Registry.swift`.
public enum ControlCalls {
    /// The payload of a request or response that has no fields.
    public struct Empty: Codable, Sendable, Equatable {
        public init() {}
    }

    /// A request that names one service.
    public struct ServiceName: Codable, Sendable, Equatable {
        public var namespace: String
        public var name: String
        public init(namespace: String = "default", name: String) {
            self.namespace = namespace
            self.name = name
        }
    }
}
