import Foundation
import PloyzModel

// The store records published by hand: services, instances, routes, certificates, and what DNS serves.
extension ControlCalls {
    /// `service set`: creates or updates a service's ports (its routes are kept).
    public enum ServiceSet: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var service: ServiceRecord
            public init(service: ServiceRecord) { self.service = service }
        }
        public typealias Response = ServiceRecord
        public static let method = ControlMethod.serviceSet
    }

    /// `service ls`: deployed services and those published by hand.
    public enum ServiceList: ControlCall {
        public typealias Request = Empty
        public struct Response: Codable, Sendable, Equatable {
            public var services: [ServiceSummary]
            public init(services: [ServiceSummary]) { self.services = services }
        }
        public static let method = ControlMethod.serviceList
    }

    /// `service rm NAME`.
    public enum ServiceRemove: ControlCall {
        public typealias Request = ServiceName
        public struct Response: Codable, Sendable, Equatable {
            /// What was done, e.g. that its instances are stopped.
            public var message: String
            public init(message: String) { self.message = message }
        }
        public static let method = ControlMethod.serviceRemove
    }

    /// `instance set`: an empty `machine` means this node.
    public enum InstanceSet: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var instance: InstanceRecord
            public init(instance: InstanceRecord) { self.instance = instance }
        }
        public typealias Response = InstanceRecord
        public static let method = ControlMethod.instanceSet
    }

    /// `instance ls`.
    public enum InstanceList: ControlCall {
        public typealias Request = Empty
        public struct Response: Codable, Sendable, Equatable {
            public var instances: [InstanceRecord]
            public init(instances: [InstanceRecord]) { self.instances = instances }
        }
        public static let method = ControlMethod.instanceList
    }

    /// `instance rm ID`.
    public enum InstanceRemove: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var id: String
            public init(id: String) { self.id = id }
        }
        public typealias Response = Empty
        public static let method = ControlMethod.instanceRemove
    }

    /// `route set`: adds a route to a service (created when missing); returns the service.
    public enum RouteSet: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var namespace: String
            public var service: String
            public var route: HTTPRoute
            public init(namespace: String = "default", service: String, route: HTTPRoute) {
                self.namespace = namespace
                self.service = service
                self.route = route
            }
        }
        public typealias Response = ServiceRecord
        public static let method = ControlMethod.routeSet
    }

    /// `route ls`: every route with its ready backends.
    public enum RouteList: ControlCall {
        public typealias Request = Empty
        public struct Response: Codable, Sendable, Equatable {
            public var routes: [RouteSummary]
            public init(routes: [RouteSummary]) { self.routes = routes }
        }
        public static let method = ControlMethod.routeList
    }

    /// `route rm`: a hostname, under one path prefix or (absent) every path; returns the service.
    public enum RouteRemove: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var namespace: String
            public var service: String
            public var hostname: String
            public var pathPrefix: String?
            public init(namespace: String = "default", service: String, hostname: String, pathPrefix: String? = nil) {
                self.namespace = namespace
                self.service = service
                self.hostname = hostname
                self.pathPrefix = pathPrefix
            }
        }
        public typealias Response = ServiceRecord
        public static let method = ControlMethod.routeRemove
    }

    /// `cert set`: a chain and key for a hostname; returns it without the key.
    public enum CertSet: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var certificate: CertificateRecord
            public init(certificate: CertificateRecord) { self.certificate = certificate }
        }
        public typealias Response = CertificateSummary
        public static let method = ControlMethod.certSet
    }

    /// `cert ls`: never the keys.
    public enum CertList: ControlCall {
        public typealias Request = Empty
        public struct Response: Codable, Sendable, Equatable {
            public var certificates: [CertificateSummary]
            public init(certificates: [CertificateSummary]) { self.certificates = certificates }
        }
        public static let method = ControlMethod.certList
    }

    /// `cert rm HOST`.
    public enum CertRemove: ControlCall {
        public struct Request: Codable, Sendable, Equatable {
            public var hostname: String
            public init(hostname: String) { self.hostname = hostname }
        }
        public typealias Response = Empty
        public static let method = ControlMethod.certRemove
    }

    /// `dns ls`: every name and record the cluster DNS answers.
    public enum DNSList: ControlCall {
        public typealias Request = Empty
        public struct Response: Codable, Sendable, Equatable {
            public var dnsRecords: [DNSRecordSummary]
            public init(dnsRecords: [DNSRecordSummary]) { self.dnsRecords = dnsRecords }
        }
        public static let method = ControlMethod.dnsList
    }
}
