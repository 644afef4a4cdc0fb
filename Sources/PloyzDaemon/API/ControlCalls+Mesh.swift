import Foundation

// Mesh lifecycle, joining and the daemon itself.
extension ControlCalls {
    /// A request naming one network.
    public struct Network: Codable, Sendable, Equatable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    /// A request for the named network, or the active one when `name` is absent.
    public struct NetworkOrActive: Codable, Sendable, Equatable {
        public var name: String?
        public init(name: String? = nil) { self.name = name }
    }

    /// A response that is one line (or lines) for people.
    public struct Message: Codable, Sendable, Equatable {
        public var message: String
        public init(message: String) { self.message = message }
    }

    /// `mesh create NAME`: the network record, not started.
    public enum MeshCreate: ControlCall {
        public typealias Request = Network
        public typealias Response = NetworkStatus
        public static let method = ControlMethod.meshCreate
    }

    /// `mesh init NAME`: create and start.
    public enum MeshInit: ControlCall {
        public typealias Request = Network
        public typealias Response = NetworkStatus
        public static let method = ControlMethod.meshInit
    }

    /// `mesh start NAME`.
    public enum MeshStart: ControlCall {
        public typealias Request = Network
        public typealias Response = NetworkStatus
        public static let method = ControlMethod.meshStart
    }

    /// `mesh stop [--force]`: the active network.
    public enum MeshStop: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            /// Stop even while workloads run.
            public var force: Bool
            public init(force: Bool = false) { self.force = force }
        }
        public typealias Response = Message
        public static let method = ControlMethod.meshStop
    }

    /// `mesh list`.
    public enum MeshList: ControlCall {
        public typealias Request = Empty
        public struct Response: Codable, Sendable, Equatable {
            public var networks: [NetworkSummary]
            public init(networks: [NetworkSummary]) { self.networks = networks }
        }
        public static let method = ControlMethod.meshList
    }

    /// `mesh status [NAME]`.
    public enum MeshStatus: ControlCall {
        public typealias Request = NetworkOrActive
        public typealias Response = NetworkStatus
        public static let method = ControlMethod.meshStatus
    }

    /// `mesh ready`: a report, healthy or not (not an error when unhealthy).
    public enum MeshReady: ControlCall {
        public typealias Request = NetworkOrActive
        public typealias Response = ReadyReport
        public static let method = ControlMethod.meshReady
    }

    /// `mesh invite [--ttl]`: a single-use token for a new node.
    public enum MeshInvite: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            /// How long the token is valid, in seconds; absent means 10 minutes.
            public var ttlSeconds: Double?
            public init(ttlSeconds: Double? = nil) { self.ttlSeconds = ttlSeconds }
        }
        public struct Response: Codable, Sendable, Equatable {
            public var token: String
            public init(token: String) { self.token = token }
        }
        public static let method = ControlMethod.meshInvite
    }

    /// `mesh join --token T`: answers once the node is ready, with the steps it went through.
    public enum MeshJoin: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var token: String
            public init(token: String) { self.token = token }
        }
        /// The steps, one per line.
        public typealias Response = Message
        public static let method = ControlMethod.meshJoin
    }

    /// The daemon's version, pid, API version and active network.
    public enum DaemonInfo: ControlCall {
        public typealias Request = Empty
        public typealias Response = PloyzDaemon.DaemonInfo
        public static let method = ControlMethod.daemonInfo
    }
}
