/// How a stream decides which messages to keep.
public enum RetentionPolicy: String, Codable, Sendable {
    /// Keep messages until a limit (count, bytes, age) removes them.
    case limits
    /// Keep messages while some consumer has not acknowledged them.
    case interest
    /// Each message is removed once one consumer acknowledges it.
    case workQueue = "workqueue"
}

/// Where a stream stores its messages.
public enum StorageType: String, Codable, Sendable {
    case file
    case memory
}

/// What a full stream does with a new message.
public enum DiscardPolicy: String, Codable, Sendable {
    /// Remove the oldest messages.
    case old
    /// Refuse the new message.
    case new
}

/// A JetStream stream's configuration (the server's `StreamConfig` JSON).
public struct StreamConfig: Codable, Sendable, Equatable {
    /// The name.
    public var name: String
    /// Free-text description.
    public var description: String?
    /// Subjects the stream stores (wildcards allowed).
    public var subjects: [String]
    /// When messages are removed.
    public var retention: RetentionPolicy
    /// Most consumers (-1 = unlimited).
    public var maxConsumers: Int
    /// Most messages (-1 = unlimited).
    public var maxMsgs: Int64
    /// Most bytes (-1 = unlimited).
    public var maxBytes: Int64
    /// Oldest message age kept; zero keeps messages forever.
    public var maxAge: Duration
    /// Most messages per subject (-1 = unlimited).
    public var maxMsgsPerSubject: Int64
    /// Largest message (-1 = server limit).
    public var maxMsgSize: Int32
    /// File or memory storage.
    public var storage: StorageType
    /// What to do with a new message when full.
    public var discard: DiscardPolicy
    /// Copies kept in a cluster (1, 3 or 5).
    public var replicas: Int
    /// Do not acknowledge publishes.
    public var noAck: Bool
    /// Window in which a repeated `Nats-Msg-Id` is treated as a duplicate.
    public var duplicateWindow: Duration
    /// Allow `Nats-Rollup` headers to purge a subject or the stream.
    public var allowRollupHeaders: Bool
    /// Refuse deleting single messages.
    public var denyDelete: Bool
    /// Refuse purges via the API.
    public var denyPurge: Bool
    /// Allow the direct-get API (reads served by any replica).
    public var allowDirect: Bool

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(
        name: String, description: String? = nil, subjects: [String] = [], retention: RetentionPolicy = .limits,
        maxConsumers: Int = -1, maxMsgs: Int64 = -1, maxBytes: Int64 = -1, maxAge: Duration = .zero,
        maxMsgsPerSubject: Int64 = -1, maxMsgSize: Int32 = -1, storage: StorageType = .file,
        discard: DiscardPolicy = .old, replicas: Int = 1, noAck: Bool = false,
        duplicateWindow: Duration = .seconds(120), allowRollupHeaders: Bool = false, denyDelete: Bool = false,
        denyPurge: Bool = false, allowDirect: Bool = false
    ) {
        self.name = name
        self.description = description
        self.subjects = subjects
        self.retention = retention
        self.maxConsumers = maxConsumers
        self.maxMsgs = maxMsgs
        self.maxBytes = maxBytes
        self.maxAge = maxAge
        self.maxMsgsPerSubject = maxMsgsPerSubject
        self.maxMsgSize = maxMsgSize
        self.storage = storage
        self.discard = discard
        self.replicas = replicas
        self.noAck = noAck
        self.duplicateWindow = duplicateWindow
        self.allowRollupHeaders = allowRollupHeaders
        self.denyDelete = denyDelete
        self.denyPurge = denyPurge
        self.allowDirect = allowDirect
    }

    enum CodingKeys: String, CodingKey {
        case name, description, subjects, retention, storage, discard
        case maxConsumers = "max_consumers"
        case maxMsgs = "max_msgs"
        case maxBytes = "max_bytes"
        case maxAge = "max_age"
        case maxMsgsPerSubject = "max_msgs_per_subject"
        case maxMsgSize = "max_msg_size"
        case replicas = "num_replicas"
        case noAck = "no_ack"
        case duplicateWindow = "duplicate_window"
        case allowRollupHeaders = "allow_rollup_hdrs"
        case denyDelete = "deny_delete"
        case denyPurge = "deny_purge"
        case allowDirect = "allow_direct"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        subjects = try c.decodeIfPresent([String].self, forKey: .subjects) ?? []
        retention = try c.decodeIfPresent(RetentionPolicy.self, forKey: .retention) ?? .limits
        maxConsumers = try c.decodeIfPresent(Int.self, forKey: .maxConsumers) ?? -1
        maxMsgs = try c.decodeIfPresent(Int64.self, forKey: .maxMsgs) ?? -1
        maxBytes = try c.decodeIfPresent(Int64.self, forKey: .maxBytes) ?? -1
        maxAge = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .maxAge) ?? 0)
        maxMsgsPerSubject = try c.decodeIfPresent(Int64.self, forKey: .maxMsgsPerSubject) ?? -1
        maxMsgSize = try c.decodeIfPresent(Int32.self, forKey: .maxMsgSize) ?? -1
        storage = try c.decodeIfPresent(StorageType.self, forKey: .storage) ?? .file
        discard = try c.decodeIfPresent(DiscardPolicy.self, forKey: .discard) ?? .old
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas) ?? 1
        noAck = try c.decodeIfPresent(Bool.self, forKey: .noAck) ?? false
        duplicateWindow = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .duplicateWindow) ?? 0)
        allowRollupHeaders = try c.decodeIfPresent(Bool.self, forKey: .allowRollupHeaders) ?? false
        denyDelete = try c.decodeIfPresent(Bool.self, forKey: .denyDelete) ?? false
        denyPurge = try c.decodeIfPresent(Bool.self, forKey: .denyPurge) ?? false
        allowDirect = try c.decodeIfPresent(Bool.self, forKey: .allowDirect) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(description, forKey: .description)
        if !subjects.isEmpty { try c.encode(subjects, forKey: .subjects) }
        try c.encode(retention, forKey: .retention)
        try c.encode(maxConsumers, forKey: .maxConsumers)
        try c.encode(maxMsgs, forKey: .maxMsgs)
        try c.encode(maxBytes, forKey: .maxBytes)
        try c.encode(maxAge.nanoseconds, forKey: .maxAge)
        try c.encode(maxMsgsPerSubject, forKey: .maxMsgsPerSubject)
        try c.encode(maxMsgSize, forKey: .maxMsgSize)
        try c.encode(storage, forKey: .storage)
        try c.encode(discard, forKey: .discard)
        try c.encode(replicas, forKey: .replicas)
        try c.encode(noAck, forKey: .noAck)
        if duplicateWindow > .zero { try c.encode(duplicateWindow.nanoseconds, forKey: .duplicateWindow) }
        try c.encode(allowRollupHeaders, forKey: .allowRollupHeaders)
        try c.encode(denyDelete, forKey: .denyDelete)
        try c.encode(denyPurge, forKey: .denyPurge)
        try c.encode(allowDirect, forKey: .allowDirect)
    }
}

/// A stream's configuration and current state.
public struct StreamInfo: Codable, Sendable {
    /// The configuration.
    public var config: StreamConfig
    /// The counters.
    public var state: StreamState
    /// Leader and replicas in a cluster; nil from a standalone server.
    public var cluster: StreamClusterInfo?
}

/// Where a clustered stream lives: its leader and the other replicas' progress.
public struct StreamClusterInfo: Codable, Sendable, Equatable {
    /// The NATS cluster's name.
    public var name: String?
    /// The server that leads the stream; nil during an election.
    public var leader: String?
    /// The other replicas.
    public var replicas: [PeerInfo]?

    /// One replica other than the leader.
    public struct PeerInfo: Codable, Sendable, Equatable {
        public var name: String
        /// Caught up with the leader.
        public var current: Bool
        public var offline: Bool?
        public var lag: UInt64?
    }

    /// A leader, and every other replica current and online.
    public var isHealthy: Bool {
        leader != nil && (replicas ?? []).allSatisfy { $0.current && $0.offline != true }
    }
}

/// Counters of a stream.
public struct StreamState: Codable, Sendable, Equatable {
    /// Messages stored.
    public var messages: UInt64
    /// Bytes stored.
    public var bytes: UInt64
    /// Sequence of the oldest message.
    public var firstSequence: UInt64
    /// Sequence of the newest message.
    public var lastSequence: UInt64
    /// Consumers attached.
    public var consumerCount: Int

    enum CodingKeys: String, CodingKey {
        case messages, bytes
        case firstSequence = "first_seq"
        case lastSequence = "last_seq"
        case consumerCount = "consumer_count"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decodeIfPresent(UInt64.self, forKey: .messages) ?? 0
        bytes = try c.decodeIfPresent(UInt64.self, forKey: .bytes) ?? 0
        firstSequence = try c.decodeIfPresent(UInt64.self, forKey: .firstSequence) ?? 0
        lastSequence = try c.decodeIfPresent(UInt64.self, forKey: .lastSequence) ?? 0
        consumerCount = try c.decodeIfPresent(Int.self, forKey: .consumerCount) ?? 0
    }
}

/// The server's acknowledgement of a JetStream publish.
public struct PubAck: Codable, Sendable, Equatable {
    /// Stream that stored the message.
    public var stream: String
    /// Sequence number the message got in the stream.
    public var seq: UInt64
    /// True when the `Nats-Msg-Id` was seen within the duplicate window (nothing new stored).
    public var duplicate: Bool

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(stream: String, seq: UInt64, duplicate: Bool = false) {
        self.stream = stream
        self.seq = seq
        self.duplicate = duplicate
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stream = try c.decode(String.self, forKey: .stream)
        seq = try c.decode(UInt64.self, forKey: .seq)
        duplicate = try c.decodeIfPresent(Bool.self, forKey: .duplicate) ?? false
    }
}

/// Expectations and de-duplication for a JetStream publish.
public struct PublishOptions: Sendable {
    /// `Nats-Msg-Id`: a repeat within the duplicate window is not stored again.
    public var msgId: String?
    /// `Nats-Expected-Stream`: fail unless this stream stores the subject.
    public var expectedStream: String?
    /// `Nats-Expected-Last-Sequence`: fail unless the stream's last sequence is this.
    public var expectedLastSequence: UInt64?
    /// `Nats-Expected-Last-Subject-Sequence`: fail unless the subject's last sequence is this (0 = no message).
    public var expectedLastSubjectSequence: UInt64?
    /// `Nats-Expected-Last-Msg-Id`: fail unless the stream's last message id is this.
    public var expectedLastMsgId: String?
    /// How long to wait for the PubAck.
    public var timeout: Duration

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(
        msgId: String? = nil, expectedStream: String? = nil, expectedLastSequence: UInt64? = nil,
        expectedLastSubjectSequence: UInt64? = nil, expectedLastMsgId: String? = nil, timeout: Duration = .seconds(5)
    ) {
        self.msgId = msgId
        self.expectedStream = expectedStream
        self.expectedLastSequence = expectedLastSequence
        self.expectedLastSubjectSequence = expectedLastSubjectSequence
        self.expectedLastMsgId = expectedLastMsgId
        self.timeout = timeout
    }
}
