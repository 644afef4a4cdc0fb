import Foundation
import PloyzModel

// Workloads: deploys of Compose services, and the services' instances and logs.
extension ControlCalls {
    /// `deploy -f FILE`: checks, places and writes the services; the deploy then runs in the daemon,
    /// and `DeployStatus` follows it.
    public enum Deploy: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var services: [WorkloadSpec]
            public init(services: [WorkloadSpec]) { self.services = services }
        }
        public struct Response: Codable, Sendable, Equatable {
            /// Ask `DeployStatus` with it.
            public var deployment: String
            /// What was written: one line per service.
            public var lines: [String]
            public init(deployment: String, lines: [String]) {
                self.deployment = deployment
                self.lines = lines
            }
        }
        public static let method = ControlMethod.deploy
    }

    /// The progress of a deploy: its lines from `offset` on, and its end.
    public enum DeployStatus: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var deployment: String
            public var offset: Int
            public init(deployment: String, offset: Int) {
                self.deployment = deployment
                self.offset = offset
            }
        }
        public struct Response: Codable, Sendable, Equatable {
            public var lines: [String]
            public var done: Bool
            /// Why it failed (it was rolled back), when it is done and failed.
            public var error: ControlError?
            public init(lines: [String], done: Bool, error: ControlError?) {
                self.lines = lines
                self.done = done
                self.error = error
            }
        }
        public static let method = ControlMethod.deployStatus
    }

    /// `service status NAME`.
    public enum ServiceStatusCall: ControlCall {
        public typealias Request = ServiceName
        public typealias Response = ServiceStatus
        public static let method = ControlMethod.serviceStatus
    }

    /// `service logs NAME`: `tail` lines per instance, or those since a time (for `--follow`).
    public enum ServiceLogs: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var namespace: String
            public var name: String
            public var tail: Int?
            public var since: Date?
            public init(namespace: String = "default", name: String, tail: Int?, since: Date?) {
                self.namespace = namespace
                self.name = name
                self.tail = tail
                self.since = since
            }
        }
        public struct Response: Codable, Sendable, Equatable {
            public var lines: [ServiceLogLine]
            public init(lines: [ServiceLogLine]) { self.lines = lines }
        }
        public static let method = ControlMethod.serviceLogs
    }
}

/// A service as `service ls` shows it.
public struct ServiceSummary: Codable, Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// The image, for deployed services; nil for services published by hand.
    public var image: String?
    /// "3 replicas", "global", or "manual".
    public var mode: String
    public var ports: [ServicePort]
    public var desired: Int
    public var ready: Int
    public var routes: [String]
    public var revision: String?
}

/// One instance as `service status` shows it.
public struct InstanceStatus: Codable, Sendable, Equatable {
    public var id: String
    public var slot: Int?
    public var machine: String
    public var address: String
    public var container: String?
    public var revision: String?
    public var state: String
    public var health: String
    public var ready: Bool
    public var since: Date?
    public var restarts: Int?
}

/// `service status NAME`.
public struct ServiceStatus: Codable, Sendable, Equatable {
    public var summary: ServiceSummary
    public var instances: [InstanceStatus]
}

/// A log line of `service logs`.
public struct ServiceLogLine: Codable, Sendable, Equatable {
    public var instance: String
    public var machine: String
    public var time: Date?
    public var stream: String
    public var text: String
}

