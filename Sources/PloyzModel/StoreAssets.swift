import Foundation

/// The names of the cluster's JetStream assets, in one place.
public enum StoreBucket: String, CaseIterable, Sendable {
    case machines, invites, subnets, locks, services, instances, certificates, network, workloads, heartbeats

    /// KV bucket names are prefixed so that they cannot collide with a user's own buckets.
    public var bucketName: String { "ployz_" + rawValue }

    /// Buckets of short-lived entries: each entry expires this long after its last write.
    /// `locks` holds leases; `heartbeats` holds one entry per live machine, rewritten every few
    /// seconds, so a machine whose entry is gone is taken for dead and its instances placed elsewhere.
    public var entryTTL: Duration? {
        switch self {
        case .locks: .seconds(30)
        case .heartbeats: .seconds(15)
        default: nil
        }
    }
}

public enum StoreStream {
    /// Ordered membership and routing events, subjects `events.>`.
    public static let events = "ployz_events"
    public static let eventsSubjects = "events.>"
    /// Distributed operations, subjects `jobs.<kind>`; a work queue.
    public static let jobs = "ployz_jobs"
    public static let jobsSubjects = "jobs.>"
}

/// Keys and subjects. KV keys allow `[-/_=.a-zA-Z0-9]`, so anything else is encoded.
public enum StoreKeys {
    public static func service(namespace: String, name: String) -> String { "\(namespace).\(name)" }

    /// `*.example.com` is stored as `_wildcard.example.com`.
    public static func certificate(hostname: String) -> String {
        let lower = hostname.lowercased()
        return lower.hasPrefix("*.") ? "_wildcard" + lower.dropFirst(1) : lower
    }

    public static func subnetLock(_ subnet: IPv4CIDR) -> String {
        "subnet.\(subnet.network.description.replacingOccurrences(of: ".", with: "-"))_\(subnet.prefixLength)"
    }

    /// Foreground commands aimed at one node.
    public static func nodeCommand(machine: String, command: String) -> String { "node.\(machine).cmd.\(command)" }
}
