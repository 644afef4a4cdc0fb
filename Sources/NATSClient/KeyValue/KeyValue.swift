import Foundation
import NIOCore

/// Settings of a key-value bucket.
public struct KeyValueConfig: Sendable {
    /// Bucket name: `[-_a-zA-Z0-9]+`.
    public var bucket: String
    /// Free-text description.
    public var description: String?
    /// Values kept per key (1-64).
    public var history: Int
    /// How long values live; nil keeps them forever.
    public var ttl: Duration?
    /// Largest value in bytes; -1 for the server's limit.
    public var maxValueSize: Int32
    /// Largest bucket size in bytes; -1 for unlimited.
    public var maxBytes: Int64
    /// File or memory storage.
    public var storage: StorageType
    /// Copies kept in a cluster (1, 3 or 5).
    public var replicas: Int
    /// Whether any replica may answer reads (direct get: faster, but a replica that is still
    /// catching up answers with what it has). False sends every read to the stream leader.
    public var allowDirect: Bool

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(bucket: String, description: String? = nil, history: Int = 1, ttl: Duration? = nil,
                maxValueSize: Int32 = -1, maxBytes: Int64 = -1, storage: StorageType = .file, replicas: Int = 1,
                allowDirect: Bool = true) {
        self.allowDirect = allowDirect
        self.bucket = bucket
        self.description = description
        self.history = history
        self.ttl = ttl
        self.maxValueSize = maxValueSize
        self.maxBytes = maxBytes
        self.storage = storage
        self.replicas = replicas
    }
}

/// What a key-value entry records.
public enum KVOperation: String, Sendable {
    case put = "PUT"
    case delete = "DEL"
    case purge = "PURGE"
}

/// One value of a key at one revision.
public struct KVEntry: Sendable {
    /// The bucket name.
    public var bucket: String
    /// The key.
    public var key: String
    /// The value bytes.
    public var value: ByteBuffer
    /// The stream sequence of this value: what `update(_:_:revision:)` expects.
    public var revision: UInt64
    /// When the value was stored.
    public var created: Date?
    /// Values stored after this one, when known from a watch (0 = latest).
    public var delta: UInt64
    /// Whether this is a value, a delete or a purge marker.
    public var operation: KVOperation

    /// The value as bytes.
    public var bytes: [UInt8] { Array(value.readableBytesView) }
    /// The value as Data.
    public var data: Data { Data(value.readableBytesView) }
    /// The value decoded as UTF-8.
    public var string: String { String(buffer: value) }
}

/// What a watch yields.
public enum KVWatchEvent: Sendable {
    /// A value, or a delete/purge marker (`entry.operation`).
    case entry(KVEntry)
    /// Every value that existed when the watch started has been delivered; live updates follow.
    case initialValuesDone
}

/// A key-value bucket stored in the stream `KV_<bucket>` under subjects `$KV.<bucket>.<key>`,
/// compatible with the official clients.
public struct KeyValue: Sendable {
    /// The bucket name.
    public let bucket: String
    /// The JetStream context used for every operation.
    public let js: JetStream
    let streamName: String
    let subjectPrefix: String
    let allowDirect: Bool

    init(bucket: String, js: JetStream, allowDirect: Bool) {
        self.bucket = bucket
        self.js = js
        self.streamName = "KV_" + bucket
        self.subjectPrefix = "$KV." + bucket + "."
        self.allowDirect = allowDirect
    }

    // MARK: - Validation

    /// Throws unless `name` matches `[-_a-zA-Z0-9]+`.
    public static func validateBucket(_ name: String) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ isAlnum($0) || $0 == 0x2D || $0 == 0x5F }) else {
            throw NATSError.invalidBucketName(name)
        }
    }

    /// Throws unless `key` matches `[-/_=.a-zA-Z0-9]+` without a leading or trailing dot.
    public static func validateKey(_ key: String, allowWildcards: Bool = false) throws {
        let u = key.utf8
        guard !u.isEmpty, u.first != 0x2E, u.last != 0x2E else { throw NATSError.invalidKey(key) }
        for b in u where !(isAlnum(b) || b == 0x2D || b == 0x2F || b == 0x5F || b == 0x3D || b == 0x2E) {
            if allowWildcards && (b == 0x2A || b == 0x3E) { continue }
            throw NATSError.invalidKey(key)
        }
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    // MARK: - Read

    /// The current value of `key`, or nil when it has none or was deleted/purged.
    public nonisolated(nonsending) func get(_ key: String) async throws -> KVEntry? {
        guard let e = try await lastEntry(key), e.operation == .put else { return nil }
        return e
    }

    /// The value of `key` at exactly `revision`, or nil.
    public nonisolated(nonsending) func get(_ key: String, revision: UInt64) async throws -> KVEntry? {
        try Self.validateKey(key)
        let m: JetStream.StoredMessage?
        if allowDirect {
            m = try await js.directGet(stream: streamName, sequence: revision)
        } else {
            m = try await js.getMessage(stream: streamName, sequence: revision)
        }
        guard let m, m.subject == subjectPrefix + key else { return nil }
        let e = entry(from: m, key: key)
        return e.operation == .put ? e : nil
    }

    /// The latest entry of `key` including delete/purge markers.
    nonisolated(nonsending) func lastEntry(_ key: String) async throws -> KVEntry? {
        try Self.validateKey(key)
        let subject = subjectPrefix + key
        let m: JetStream.StoredMessage?
        if allowDirect {
            m = try await js.directGet(stream: streamName, lastBySubject: subject)
        } else {
            m = try await js.getMessage(stream: streamName, lastBySubject: subject)
        }
        return m.map { entry(from: $0, key: key) }
    }

    private func entry(from m: JetStream.StoredMessage, key: String) -> KVEntry {
        KVEntry(bucket: bucket, key: key, value: m.payload, revision: m.sequence,
                created: m.timestampNanos.map { Date(timeIntervalSince1970: Double($0) / 1e9) },
                delta: 0, operation: Self.operation(m.headers))
    }

    static func operation(_ headers: NATSHeaders?) -> KVOperation {
        switch headers?["KV-Operation"] {
        case "DEL": return .delete
        case "PURGE": return .purge
        default: return .put
        }
    }

    // MARK: - Write

    /// Stores a value; returns its revision.
    @discardableResult
    public nonisolated(nonsending) func put(_ key: String, _ value: ByteBuffer) async throws -> UInt64 {
        try Self.validateKey(key)
        return try await js.publish(subjectPrefix + key, payload: value).seq
    }

    /// Stores a value only when the key has none (or was deleted/purged); throws `keyExists`.
    @discardableResult
    public nonisolated(nonsending) func create(_ key: String, _ value: ByteBuffer) async throws -> UInt64 {
        do {
            return try await update(key, value, revision: 0)
        } catch NATSError.wrongLastRevision {
            // Like the Go client: a deleted or purged key may be created again.
            if let last = try await lastEntry(key), last.operation != .put {
                do {
                    return try await update(key, value, revision: last.revision)
                } catch NATSError.wrongLastRevision {
                    throw NATSError.keyExists(key: key)
                }
            }
            throw NATSError.keyExists(key: key)
        }
    }

    /// Stores a value only when the key is still at `revision` (compare-and-set);
    /// throws `wrongLastRevision` otherwise.
    @discardableResult
    public nonisolated(nonsending) func update(_ key: String, _ value: ByteBuffer, revision: UInt64) async throws -> UInt64 {
        try Self.validateKey(key)
        do {
            return try await js.publish(subjectPrefix + key, payload: value, options: PublishOptions(expectedLastSubjectSequence: revision)).seq
        } catch NATSError.jetStream(let e) where e.errCode == 10071 {
            let actual = e.description.split(separator: " ").last.flatMap { UInt64($0) }
            throw NATSError.wrongLastRevision(expected: revision, actual: actual)
        }
    }

    /// Marks the key deleted (history is kept); with `revision`, only if the key is at it.
    public nonisolated(nonsending) func delete(_ key: String, revision: UInt64? = nil) async throws {
        try Self.validateKey(key)
        var h = NATSHeaders()
        h.append("KV-Operation", "DEL")
        try await writeMarker(key, headers: h, revision: revision)
    }

    /// Deletes the key and all its history (a rollup leaving one purge marker).
    public nonisolated(nonsending) func purge(_ key: String, revision: UInt64? = nil) async throws {
        try Self.validateKey(key)
        var h = NATSHeaders()
        h.append("KV-Operation", "PURGE")
        h.append("Nats-Rollup", "sub")
        try await writeMarker(key, headers: h, revision: revision)
    }

    private nonisolated(nonsending) func writeMarker(_ key: String, headers: NATSHeaders, revision: UInt64?) async throws {
        do {
            _ = try await js.publish(subjectPrefix + key, payload: ByteBuffer(), headers: headers,
                                     options: PublishOptions(expectedLastSubjectSequence: revision))
        } catch NATSError.jetStream(let e) where e.errCode == 10071 {
            throw NATSError.wrongLastRevision(expected: revision ?? 0, actual: e.description.split(separator: " ").last.flatMap { UInt64($0) })
        }
    }

    // MARK: - Listing and watching

    /// Keys that currently hold a value.
    public nonisolated(nonsending) func keys() async throws -> [String] {
        var keys: [String] = []
        for try await event in watch(">", headersOnly: true) {
            switch event {
            case .entry(let e): if e.operation == .put { keys.append(e.key) }
            case .initialValuesDone: return keys
            }
        }
        return keys
    }

    /// Every stored entry of `key`, oldest first (including delete/purge markers).
    public nonisolated(nonsending) func history(_ key: String) async throws -> [KVEntry] {
        try Self.validateKey(key)
        var entries: [KVEntry] = []
        for try await event in watch(key, includeHistory: true) {
            switch event {
            case .entry(let e): entries.append(e)
            case .initialValuesDone: return entries
            }
        }
        return entries
    }

    /// Every key's current entry, read from the stream's leader: the subjects first, then each
    /// key's last value (from the leader too unless the bucket allows direct reads). Unlike a
    /// watch, whose consumer may sit on a replica that is still catching up, this sees every
    /// write that was acknowledged before it started. One request per key: for small buckets.
    public nonisolated(nonsending) func currentEntries() async throws -> [KVEntry] {
        let subjects: [String: UInt64]
        do {
            subjects = try await js.streamSubjects(streamName, filter: subjectPrefix + ">")
        } catch NATSError.streamNotFound {
            throw NATSError.bucketNotFound(bucket)
        }
        var entries: [KVEntry] = []
        for subject in subjects.keys.sorted() {
            if let entry = try await get(String(subject.dropFirst(subjectPrefix.count))) { entries.append(entry) }
        }
        return entries
    }

    /// Watches keys matching `keys` (wildcards `*`, `>`): current values first (all history with
    /// `includeHistory`), then `.initialValuesDone`, then live updates including deletes.
    /// Survives reconnects without gaps or duplicates.
    public func watch(_ keys: String = ">", includeHistory: Bool = false, headersOnly: Bool = false) -> KVWatcher {
        KVWatcher(kv: self, pattern: keys, includeHistory: includeHistory, headersOnly: headersOnly)
    }

    func makeEntry(_ m: JetStreamMessage) -> KVEntry? {
        guard m.subject.hasPrefix(subjectPrefix), let md = m.metadata else { return nil }
        return KVEntry(bucket: bucket, key: String(m.subject.dropFirst(subjectPrefix.count)), value: m.payload,
                       revision: md.streamSequence, created: Date(timeIntervalSince1970: Double(md.timestampNanos) / 1e9),
                       delta: md.pending, operation: Self.operation(m.headers))
    }
}

/// An `AsyncSequence` of `KVWatchEvent`s; see `KeyValue.watch(_:includeHistory:headersOnly:)`.
public final class KVWatcher: AsyncSequence, Sendable {
    public typealias Element = KVWatchEvent

    let kv: KeyValue
    let consumer: OrderedConsumer?
    let error: NATSError?

    init(kv: KeyValue, pattern: String, includeHistory: Bool, headersOnly: Bool) {
        self.kv = kv
        do {
            try KeyValue.validateKey(pattern, allowWildcards: true)
            // A 2 s heartbeat: a watch whose consumer was lost (a stream's replicas moved, a route
            // dropped its interest) is recreated after three missed beats, 6 s, not 15.
            consumer = try kv.js.orderedConsumer(stream: kv.streamName, options: OrderedConsumerOptions(
                filterSubject: kv.subjectPrefix + pattern,
                deliverPolicy: includeHistory ? .all : .lastPerSubject,
                headersOnly: headersOnly, idleHeartbeat: .seconds(2)))
            error = nil
        } catch {
            consumer = nil
            self.error = (error as? NATSError) ?? .consumerFailed("\(error)")
        }
    }

    /// Stops watching; the sequence ends.
    public func stop() { consumer?.stop() }

    /// Iterates the sequence; keeps it running while in use.
    public struct AsyncIterator: AsyncIteratorProtocol {
        /// Keeps the watch running while iterated, even when the watcher itself is released.
        let owner: KVWatcher
        let kv: KeyValue
        var base: AsyncThrowingStream<OrderedEvent, Error>.Iterator?
        var error: NATSError?
        var initialDone = false
        var queued: KVWatchEvent?

        public mutating func next() async throws -> KVWatchEvent? {
            if let error {
                self.error = nil
                throw error
            }
            if let q = queued {
                queued = nil
                return q
            }
            guard base != nil else { return nil }
            while let event = try await base!.next() {
                switch event {
                case .created(let pending):
                    if !initialDone && pending == 0 {
                        initialDone = true
                        return .initialValuesDone
                    }
                case .message(let m):
                    guard let entry = kv.makeEntry(m) else { continue }
                    if !initialDone && m.metadata?.pending == 0 {
                        initialDone = true
                        queued = .initialValuesDone
                    }
                    return .entry(entry)
                }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(owner: self, kv: kv, base: consumer?.events.makeAsyncIterator(), error: error)
    }
}

extension KeyValue {
    /// Stores bytes; see `put(_:_:)`.
    @discardableResult public nonisolated(nonsending) func put(_ key: String, _ value: [UInt8]) async throws -> UInt64 { try await put(key, ByteBuffer(bytes: value)) }
    /// Stores UTF-8 text; see `put(_:_:)`.
    @discardableResult public nonisolated(nonsending) func put(_ key: String, _ value: String) async throws -> UInt64 { try await put(key, ByteBuffer(string: value)) }
    /// Stores Data; see `put(_:_:)`.
    @discardableResult public nonisolated(nonsending) func put(_ key: String, _ value: Data) async throws -> UInt64 { try await put(key, ByteBuffer(bytes: value)) }
    /// Creates from bytes; see `create(_:_:)`.
    @discardableResult public nonisolated(nonsending) func create(_ key: String, _ value: [UInt8]) async throws -> UInt64 { try await create(key, ByteBuffer(bytes: value)) }
    /// Creates from UTF-8 text; see `create(_:_:)`.
    @discardableResult public nonisolated(nonsending) func create(_ key: String, _ value: String) async throws -> UInt64 { try await create(key, ByteBuffer(string: value)) }
    /// Creates from Data; see `create(_:_:)`.
    @discardableResult public nonisolated(nonsending) func create(_ key: String, _ value: Data) async throws -> UInt64 { try await create(key, ByteBuffer(bytes: value)) }
    /// Compare-and-set with bytes; see `update(_:_:revision:)`.
    @discardableResult public nonisolated(nonsending) func update(_ key: String, _ value: [UInt8], revision: UInt64) async throws -> UInt64 { try await update(key, ByteBuffer(bytes: value), revision: revision) }
    /// Compare-and-set with UTF-8 text; see `update(_:_:revision:)`.
    @discardableResult public nonisolated(nonsending) func update(_ key: String, _ value: String, revision: UInt64) async throws -> UInt64 { try await update(key, ByteBuffer(string: value), revision: revision) }
    /// Compare-and-set with Data; see `update(_:_:revision:)`.
    @discardableResult public nonisolated(nonsending) func update(_ key: String, _ value: Data, revision: UInt64) async throws -> UInt64 { try await update(key, ByteBuffer(bytes: value), revision: revision) }
}

extension JetStream {
    /// Creates a key-value bucket (or returns the existing one when its settings match).
    public nonisolated(nonsending) func createKeyValue(_ config: KeyValueConfig) async throws -> KeyValue {
        try KeyValue.validateBucket(config.bucket)
        guard (1...64).contains(config.history) else {
            throw NATSError.jetStream(JetStreamAPIError(code: 400, errCode: 0, description: "kv history must be 1-64, got \(config.history)"))
        }
        var duplicateWindow = Duration.seconds(120)
        if let ttl = config.ttl, ttl > .zero, ttl < duplicateWindow { duplicateWindow = ttl }
        let stream = StreamConfig(
            name: "KV_" + config.bucket, description: config.description, subjects: ["$KV.\(config.bucket).>"],
            retention: .limits, maxBytes: config.maxBytes, maxAge: config.ttl ?? .zero,
            maxMsgsPerSubject: Int64(config.history), maxMsgSize: config.maxValueSize, storage: config.storage,
            discard: .new, replicas: config.replicas, duplicateWindow: duplicateWindow, allowRollupHeaders: true,
            denyDelete: true, allowDirect: config.allowDirect)
        let info = try await createStream(stream)
        return KeyValue(bucket: config.bucket, js: self, allowDirect: info.config.allowDirect)
    }

    /// Creates a key-value bucket with the common settings.
    public nonisolated(nonsending) func createKeyValue(bucket: String, history: Int = 1, ttl: Duration? = nil, replicas: Int = 1,
                               storage: StorageType = .file, maxValueSize: Int32 = -1) async throws -> KeyValue {
        try await createKeyValue(KeyValueConfig(bucket: bucket, history: history, ttl: ttl, maxValueSize: maxValueSize,
                                                storage: storage, replicas: replicas))
    }

    /// Binds to an existing bucket; throws `bucketNotFound`.
    public nonisolated(nonsending) func keyValue(_ bucket: String) async throws -> KeyValue {
        try KeyValue.validateBucket(bucket)
        do {
            let info = try await streamInfo("KV_" + bucket)
            return KeyValue(bucket: bucket, js: self, allowDirect: info.config.allowDirect)
        } catch NATSError.streamNotFound {
            throw NATSError.bucketNotFound(bucket)
        }
    }

    /// Deletes a bucket and all its values; throws `bucketNotFound`.
    public nonisolated(nonsending) func deleteKeyValue(_ bucket: String) async throws {
        try KeyValue.validateBucket(bucket)
        do {
            try await deleteStream("KV_" + bucket)
        } catch NATSError.streamNotFound {
            throw NATSError.bucketNotFound(bucket)
        }
    }
}
