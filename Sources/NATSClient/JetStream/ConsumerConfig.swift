/// Where a consumer starts in its stream.
public enum DeliverPolicy: Sendable, Equatable {
    case all
    case last
    case new
    case lastPerSubject
    case byStartSequence(UInt64)

    var wireName: String {
        switch self {
        case .all: return "all"
        case .last: return "last"
        case .new: return "new"
        case .lastPerSubject: return "last_per_subject"
        case .byStartSequence: return "by_start_sequence"
        }
    }
}

/// How a consumer expects acknowledgements.
public enum AckPolicy: String, Codable, Sendable {
    case none
    case all
    case explicit
}

/// A consumer's configuration (the server's `ConsumerConfig` JSON, the commonly used fields).
public struct ConsumerConfig: Codable, Sendable, Equatable {
    /// Durable name; nil makes an ephemeral consumer.
    public var durableName: String?
    /// Free-text description.
    public var description: String?
    /// Where delivery starts.
    public var deliverPolicy: DeliverPolicy
    /// How messages are acknowledged.
    public var ackPolicy: AckPolicy
    /// How long the server waits for an ack before redelivering.
    public var ackWait: Duration?
    /// Deliveries before the server gives up on a message (-1 = unlimited).
    public var maxDeliver: Int?
    /// Only messages whose subject matches.
    public var filterSubject: String?
    /// Most unacknowledged messages outstanding.
    public var maxAckPending: Int?
    /// Push consumers only: where messages are delivered.
    public var deliverSubject: String?
    /// Push consumers only: server-side flow control.
    public var flowControl: Bool?
    /// Push consumers only: heartbeat interval while idle.
    public var idleHeartbeat: Duration?
    /// Deliver headers without payloads.
    public var headersOnly: Bool?
    /// Keep consumer state in memory.
    public var memoryStorage: Bool?
    /// Copies kept in a cluster (1, 3 or 5).
    public var replicas: Int?
    /// Remove the consumer after this long without interest.
    public var inactiveThreshold: Duration?
    /// Pull consumers only: most outstanding pull requests.
    public var maxWaiting: Int?

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(
        durableName: String? = nil, description: String? = nil, deliverPolicy: DeliverPolicy = .all,
        ackPolicy: AckPolicy = .explicit, ackWait: Duration? = nil, maxDeliver: Int? = nil,
        filterSubject: String? = nil, maxAckPending: Int? = nil, deliverSubject: String? = nil,
        flowControl: Bool? = nil, idleHeartbeat: Duration? = nil, headersOnly: Bool? = nil,
        memoryStorage: Bool? = nil, replicas: Int? = nil, inactiveThreshold: Duration? = nil, maxWaiting: Int? = nil
    ) {
        self.durableName = durableName
        self.description = description
        self.deliverPolicy = deliverPolicy
        self.ackPolicy = ackPolicy
        self.ackWait = ackWait
        self.maxDeliver = maxDeliver
        self.filterSubject = filterSubject
        self.maxAckPending = maxAckPending
        self.deliverSubject = deliverSubject
        self.flowControl = flowControl
        self.idleHeartbeat = idleHeartbeat
        self.headersOnly = headersOnly
        self.memoryStorage = memoryStorage
        self.replicas = replicas
        self.inactiveThreshold = inactiveThreshold
        self.maxWaiting = maxWaiting
    }

    enum CodingKeys: String, CodingKey {
        case description
        case durableName = "durable_name"
        case deliverPolicy = "deliver_policy"
        case optStartSeq = "opt_start_seq"
        case ackPolicy = "ack_policy"
        case ackWait = "ack_wait"
        case maxDeliver = "max_deliver"
        case filterSubject = "filter_subject"
        case maxAckPending = "max_ack_pending"
        case deliverSubject = "deliver_subject"
        case flowControl = "flow_control"
        case idleHeartbeat = "idle_heartbeat"
        case headersOnly = "headers_only"
        case memoryStorage = "mem_storage"
        case replicas = "num_replicas"
        case inactiveThreshold = "inactive_threshold"
        case maxWaiting = "max_waiting"
        case replayPolicy = "replay_policy"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        durableName = try c.decodeIfPresent(String.self, forKey: .durableName)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        switch try c.decodeIfPresent(String.self, forKey: .deliverPolicy) ?? "all" {
        case "last": deliverPolicy = .last
        case "new": deliverPolicy = .new
        case "last_per_subject": deliverPolicy = .lastPerSubject
        case "by_start_sequence": deliverPolicy = .byStartSequence(try c.decodeIfPresent(UInt64.self, forKey: .optStartSeq) ?? 0)
        default: deliverPolicy = .all
        }
        ackPolicy = try c.decodeIfPresent(AckPolicy.self, forKey: .ackPolicy) ?? .explicit
        ackWait = try c.decodeIfPresent(Int64.self, forKey: .ackWait).map { .nanoseconds($0) }
        maxDeliver = try c.decodeIfPresent(Int.self, forKey: .maxDeliver)
        filterSubject = try c.decodeIfPresent(String.self, forKey: .filterSubject)
        maxAckPending = try c.decodeIfPresent(Int.self, forKey: .maxAckPending)
        deliverSubject = try c.decodeIfPresent(String.self, forKey: .deliverSubject)
        flowControl = try c.decodeIfPresent(Bool.self, forKey: .flowControl)
        idleHeartbeat = try c.decodeIfPresent(Int64.self, forKey: .idleHeartbeat).map { .nanoseconds($0) }
        headersOnly = try c.decodeIfPresent(Bool.self, forKey: .headersOnly)
        memoryStorage = try c.decodeIfPresent(Bool.self, forKey: .memoryStorage)
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas)
        inactiveThreshold = try c.decodeIfPresent(Int64.self, forKey: .inactiveThreshold).map { .nanoseconds($0) }
        maxWaiting = try c.decodeIfPresent(Int.self, forKey: .maxWaiting)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(durableName, forKey: .durableName)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encode(deliverPolicy.wireName, forKey: .deliverPolicy)
        if case .byStartSequence(let seq) = deliverPolicy { try c.encode(seq, forKey: .optStartSeq) }
        try c.encode(ackPolicy, forKey: .ackPolicy)
        try c.encodeIfPresent(ackWait?.nanoseconds, forKey: .ackWait)
        try c.encodeIfPresent(maxDeliver, forKey: .maxDeliver)
        try c.encodeIfPresent(filterSubject, forKey: .filterSubject)
        try c.encodeIfPresent(maxAckPending, forKey: .maxAckPending)
        try c.encodeIfPresent(deliverSubject, forKey: .deliverSubject)
        try c.encodeIfPresent(flowControl, forKey: .flowControl)
        try c.encodeIfPresent(idleHeartbeat?.nanoseconds, forKey: .idleHeartbeat)
        try c.encodeIfPresent(headersOnly, forKey: .headersOnly)
        try c.encodeIfPresent(memoryStorage, forKey: .memoryStorage)
        try c.encodeIfPresent(replicas, forKey: .replicas)
        try c.encodeIfPresent(inactiveThreshold?.nanoseconds, forKey: .inactiveThreshold)
        try c.encodeIfPresent(maxWaiting, forKey: .maxWaiting)
        try c.encode("instant", forKey: .replayPolicy)
    }
}

/// A consumer's configuration and counters.
public struct ConsumerInfo: Codable, Sendable {
    /// The stream name.
    public var stream: String
    /// The name.
    public var name: String
    /// The configuration.
    public var config: ConsumerConfig
    /// Messages matching the filter not yet delivered.
    public var numPending: UInt64
    /// Messages delivered but not yet acknowledged.
    public var numAckPending: Int

    enum CodingKeys: String, CodingKey {
        case stream = "stream_name"
        case name, config
        case numPending = "num_pending"
        case numAckPending = "num_ack_pending"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stream = try c.decode(String.self, forKey: .stream)
        name = try c.decode(String.self, forKey: .name)
        config = try c.decode(ConsumerConfig.self, forKey: .config)
        numPending = try c.decodeIfPresent(UInt64.self, forKey: .numPending) ?? 0
        numAckPending = try c.decodeIfPresent(Int.self, forKey: .numAckPending) ?? 0
    }
}
