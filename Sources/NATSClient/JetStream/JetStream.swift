import Foundation
import NIOCore

/// JetStream: streams, publish with acknowledgement, consumers, key-value buckets and work
/// queues, all through the JSON API over request/reply (`$JS.API.*`).
public struct JetStream: Sendable {
    /// The connection the API calls go through.
    public let connection: NATSConnection
    /// API subject prefix (`$JS.API`, or a domain's prefix).
    public let prefix: String
    /// Timeout of each API call.
    public var timeout: Duration

    /// Memberwise initializer; omitted arguments take the defaults shown.
    public init(connection: NATSConnection, prefix: String = "$JS.API", timeout: Duration = .seconds(5)) {
        self.connection = connection
        self.prefix = prefix
        self.timeout = timeout
    }

    // MARK: - API plumbing

    private struct ErrorEnvelope: Decodable { var error: JetStreamAPIError? }

    /// Calls `$JS.API.<subject>` and decodes the answer, mapping an `error` object to `NATSError.jetStream`.
    nonisolated(nonsending) func call<T: Decodable>(_ subject: String, body: ByteBuffer = ByteBuffer(), as type: T.Type) async throws -> T {
        let reply: NATSMessage
        do {
            reply = try await connection.request(prefix + "." + subject, payload: body, timeout: timeout)
        } catch NATSError.noResponders {
            throw NATSError.jetStream(JetStreamAPIError(code: 503, errCode: 0, description: "JetStream not enabled on the server (no responders)"))
        }
        return try Self.decode(T.self, from: reply.payload)
    }

    nonisolated(nonsending) func call<T: Decodable, B: Encodable>(_ subject: String, json body: B, as type: T.Type) async throws -> T {
        try await call(subject, body: ByteBuffer(bytes: try JSONEncoder().encode(body)), as: type)
    }

    static func decode<T: Decodable>(_ type: T.Type, from payload: ByteBuffer) throws -> T {
        let data = Data(payload.readableBytesView)
        let decoder = JSONDecoder()
        if payload.readableBytesView.containsSequence(Keys.error),
           let envelope = try? decoder.decode(ErrorEnvelope.self, from: data), let error = envelope.error {
            throw NATSError.jetStream(error)
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw NATSError.invalidResponse("\(T.self): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
    }

    // MARK: - Streams

    /// Creates a stream (succeeds when an identical one exists).
    @discardableResult
    public nonisolated(nonsending) func createStream(_ config: StreamConfig) async throws -> StreamInfo {
        try Self.validateName(config.name)
        return try await call("STREAM.CREATE.\(config.name)", json: config, as: StreamInfo.self)
    }

    /// Updates a stream's configuration.
    @discardableResult
    public nonisolated(nonsending) func updateStream(_ config: StreamConfig) async throws -> StreamInfo {
        try Self.validateName(config.name)
        return try await call("STREAM.UPDATE.\(config.name)", json: config, as: StreamInfo.self)
    }

    /// The stream's configuration and state; throws `streamNotFound`.
    public nonisolated(nonsending) func streamInfo(_ name: String) async throws -> StreamInfo {
        try Self.validateName(name)
        do {
            return try await call("STREAM.INFO.\(name)", as: StreamInfo.self)
        } catch NATSError.jetStream(let e) where e.errCode == 10059 {
            throw NATSError.streamNotFound(name)
        }
    }

    /// The subjects stored in a stream that match `filter`, with their message counts, read from
    /// the stream's leader (`STREAM.INFO` with `subjects_filter`, every page); throws `streamNotFound`.
    public nonisolated(nonsending) func streamSubjects(_ name: String, filter: String) async throws -> [String: UInt64] {
        struct Request: Encodable {
            var subjectsFilter: String
            var offset: Int
            enum CodingKeys: String, CodingKey { case subjectsFilter = "subjects_filter"; case offset }
        }
        struct Response: Decodable {
            struct State: Decodable { var subjects: [String: UInt64]? }
            var state: State
            var total: Int?
        }
        try Self.validateName(name)
        var subjects: [String: UInt64] = [:]
        while true {
            let page: Response
            do {
                page = try await call("STREAM.INFO.\(name)", json: Request(subjectsFilter: filter, offset: subjects.count), as: Response.self)
            } catch NATSError.jetStream(let e) where e.errCode == 10059 {
                throw NATSError.streamNotFound(name)
            }
            let found = page.state.subjects ?? [:]
            subjects.merge(found) { $1 }
            guard let total = page.total, !found.isEmpty, subjects.count < total else { return subjects }
        }
    }

    /// Deletes a stream and its messages; throws `streamNotFound`.
    public nonisolated(nonsending) func deleteStream(_ name: String) async throws {
        try Self.validateName(name)
        struct Success: Decodable { var success: Bool }
        do {
            _ = try await call("STREAM.DELETE.\(name)", as: Success.self)
        } catch NATSError.jetStream(let e) where e.errCode == 10059 {
            throw NATSError.streamNotFound(name)
        }
    }

    /// Removes a stream's messages, or only those of `subject`.
    public nonisolated(nonsending) func purgeStream(_ name: String, subject: String? = nil) async throws {
        try Self.validateName(name)
        struct Request: Encodable { var filter: String? }
        struct Success: Decodable { var success: Bool }
        _ = try await call("STREAM.PURGE.\(name)", json: Request(filter: subject), as: Success.self)
    }

    static func validateName(_ name: String) throws {
        guard !name.isEmpty, !name.utf8.contains(where: { $0 == 0x2E || $0 == 0x2A || $0 == 0x3E || $0 <= 0x20 }) else {
            throw NATSError.invalidSubject(name)
        }
    }

    // MARK: - Publish

    /// Publishes to a stream's subject and waits for the server's acknowledgement.
    public nonisolated(nonsending) func publish(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, options: PublishOptions = PublishOptions()) async throws -> PubAck {
        var headers = headers
        if options.msgId != nil || options.expectedStream != nil || options.expectedLastSequence != nil
            || options.expectedLastSubjectSequence != nil || options.expectedLastMsgId != nil {
            var h = headers ?? NATSHeaders()
            if let v = options.msgId { h.set("Nats-Msg-Id", v) }
            if let v = options.expectedStream { h.set("Nats-Expected-Stream", v) }
            if let v = options.expectedLastSequence { h.set("Nats-Expected-Last-Sequence", String(v)) }
            if let v = options.expectedLastSubjectSequence { h.set("Nats-Expected-Last-Subject-Sequence", String(v)) }
            if let v = options.expectedLastMsgId { h.set("Nats-Expected-Last-Msg-Id", v) }
            headers = h
        }
        let reply: NATSMessage
        do {
            reply = try await connection.request(subject, payload: payload, headers: headers, timeout: options.timeout)
        } catch NATSError.noResponders {
            throw NATSError.jetStream(JetStreamAPIError(code: 503, errCode: 0, description: "no stream stores subject \(subject) (no responders)"))
        }
        if let ack = Self.parsePubAck(reply.payload) { return ack }
        return try Self.decode(PubAck.self, from: reply.payload)
    }

    /// Publishes bytes; see `publish(_:payload:headers:options:)`.
    public nonisolated(nonsending) func publish(_ subject: String, payload: [UInt8], headers: NATSHeaders? = nil, options: PublishOptions = PublishOptions()) async throws -> PubAck {
        try await publish(subject, payload: ByteBuffer(bytes: payload), headers: headers, options: options)
    }

    /// Publishes UTF-8 text; see `publish(_:payload:headers:options:)`.
    public nonisolated(nonsending) func publish(_ subject: String, payload: String, headers: NATSHeaders? = nil, options: PublishOptions = PublishOptions()) async throws -> PubAck {
        try await publish(subject, payload: ByteBuffer(string: payload), headers: headers, options: options)
    }

    /// JSON keys looked for in API replies, built once.
    private enum Keys {
        static let error = Array("\"error\"".utf8)
        static let stream = Array("\"stream\":\"".utf8)
        static let seq = Array("\"seq\":".utf8)
        static let duplicate = Array("\"duplicate\":".utf8)
    }

    /// Fast path for the common `{"stream":"X","seq":N[,"duplicate":true][,"domain":"D"]}`;
    /// anything else (errors included) goes through JSONDecoder.
    static func parsePubAck(_ payload: ByteBuffer) -> PubAck? {
        let bytes = payload.readableBytesView
        guard bytes.first == UInt8(ascii: "{"), !bytes.containsSequence(Keys.error) else { return nil }
        guard let streamKey = bytes.firstRange(of: Keys.stream),
              let seqKey = bytes.firstRange(of: Keys.seq) else { return nil }
        var i = streamKey.upperBound
        var stream: [UInt8] = []
        while i < bytes.endIndex, bytes[i] != UInt8(ascii: "\"") {
            if bytes[i] == UInt8(ascii: "\\") { return nil }
            stream.append(bytes[i])
            i += 1
        }
        var j = seqKey.upperBound
        var seq: UInt64 = 0
        var digits = 0
        while j < bytes.endIndex, bytes[j] >= 48, bytes[j] <= 57 {
            seq = seq &* 10 &+ UInt64(bytes[j] - 48)
            j += 1
            digits += 1
        }
        guard digits > 0, digits < 20 else { return nil }
        var duplicate = false
        if let dupKey = bytes.firstRange(of: Keys.duplicate) {
            var k = dupKey.upperBound
            while k < bytes.endIndex, bytes[k] == 0x20 { k += 1 }
            duplicate = k < bytes.endIndex && bytes[k] == UInt8(ascii: "t")
        }
        return PubAck(stream: String(decoding: stream, as: UTF8.self), seq: seq, duplicate: duplicate)
    }

    // MARK: - Stored messages

    /// A message read back from a stream.
    public struct StoredMessage: Sendable {
        /// The subject.
        public var subject: String
        /// The stream sequence.
        public var sequence: UInt64
        /// The headers, if any.
        public var headers: NATSHeaders?
        /// The payload.
        public var payload: ByteBuffer
        /// Nanoseconds since 1970 when stored, when known.
        public var timestampNanos: Int64?
    }

    private struct MsgGetResponse: Decodable {
        struct Message: Decodable {
            var subject: String
            var seq: UInt64
            var hdrs: String?
            var data: String?
            var time: String?
        }
        var message: Message
    }

    /// Reads a message by sequence, or the last one of `lastBySubject`; nil when there is none.
    public nonisolated(nonsending) func getMessage(stream: String, sequence: UInt64? = nil, lastBySubject: String? = nil) async throws -> StoredMessage? {
        struct Request: Encodable {
            var seq: UInt64?
            var lastBySubj: String?
            enum CodingKeys: String, CodingKey { case seq; case lastBySubj = "last_by_subj" }
        }
        do {
            let r = try await call("STREAM.MSG.GET.\(stream)", json: Request(seq: sequence, lastBySubj: lastBySubject), as: MsgGetResponse.self)
            var headers: NATSHeaders?
            if let h = r.message.hdrs, let raw = Data(base64Encoded: h) { headers = NATSHeaders.parse(ByteBuffer(bytes: raw)) }
            let data = r.message.data.flatMap { Data(base64Encoded: $0) } ?? Data()
            return StoredMessage(subject: r.message.subject, sequence: r.message.seq, headers: headers,
                                 payload: ByteBuffer(bytes: data), timestampNanos: r.message.time.flatMap(Timestamp.parseRFC3339Nanos))
        } catch NATSError.jetStream(let e) where e.code == 404 && e.errCode != 10059 {
            return nil
        }
    }

    /// Reads a message through the direct-get API (`allow_direct` streams); nil when there is none.
    public nonisolated(nonsending) func directGet(stream: String, lastBySubject subject: String) async throws -> StoredMessage? {
        let reply = try await connection.request("\(prefix).DIRECT.GET.\(stream).\(subject)", payload: ByteBuffer(), timeout: timeout)
        return try Self.storedMessage(fromDirect: reply)
    }

    /// Reads a message by sequence through the direct-get API; nil when there is none.
    public nonisolated(nonsending) func directGet(stream: String, sequence: UInt64) async throws -> StoredMessage? {
        let reply = try await connection.request("\(prefix).DIRECT.GET.\(stream)", payload: ByteBuffer(string: "{\"seq\":\(sequence)}"), timeout: timeout)
        return try Self.storedMessage(fromDirect: reply)
    }

    static func storedMessage(fromDirect reply: NATSMessage) throws -> StoredMessage? {
        if let status = reply.statusCode {
            if status == 404 { return nil }
            throw NATSError.jetStream(JetStreamAPIError(code: status, errCode: 0, description: reply.statusDescription ?? "direct get failed"))
        }
        guard let h = reply.headers, let subject = h["Nats-Subject"], let seq = h["Nats-Sequence"].flatMap(UInt64.init) else {
            throw NATSError.invalidResponse("direct get reply without Nats-Subject/Nats-Sequence headers")
        }
        return StoredMessage(subject: subject, sequence: seq, headers: h, payload: reply.payload,
                             timestampNanos: h["Nats-Time-Stamp"].flatMap(Timestamp.parseRFC3339Nanos))
    }

    // MARK: - Consumers

    /// Creates a consumer (durable when `config.durableName` is set; idempotent for the same config).
    @discardableResult
    public nonisolated(nonsending) func createConsumer(stream: String, config: ConsumerConfig) async throws -> ConsumerInfo {
        try Self.validateName(stream)
        struct Request: Encodable {
            var stream_name: String
            var config: ConsumerConfig
        }
        let subject: String
        if let durable = config.durableName {
            try Self.validateName(durable)
            subject = "CONSUMER.DURABLE.CREATE.\(stream).\(durable)"
        } else {
            subject = "CONSUMER.CREATE.\(stream)"
        }
        do {
            return try await call(subject, json: Request(stream_name: stream, config: config), as: ConsumerInfo.self)
        } catch NATSError.jetStream(let e) where e.errCode == 10059 {
            throw NATSError.streamNotFound(stream)
        }
    }

    /// A consumer's configuration and counters.
    public nonisolated(nonsending) func consumerInfo(stream: String, name: String) async throws -> ConsumerInfo {
        try Self.validateName(stream)
        try Self.validateName(name)
        return try await call("CONSUMER.INFO.\(stream).\(name)", as: ConsumerInfo.self)
    }

    /// Names of the stream's consumers (first page, up to the server's page size of 1024).
    nonisolated(nonsending) public func consumerNames(stream: String) async throws -> [String] {
        try Self.validateName(stream)
        struct Names: Decodable { var consumers: [String]? }
        return try await call("CONSUMER.NAMES.\(stream)", as: Names.self).consumers ?? []
    }

    /// Deletes a consumer.
    public nonisolated(nonsending) func deleteConsumer(stream: String, name: String) async throws {
        try Self.validateName(stream)
        try Self.validateName(name)
        struct Success: Decodable { var success: Bool }
        _ = try await call("CONSUMER.DELETE.\(stream).\(name)", as: Success.self)
    }
}

/// RFC 3339 timestamps as the server writes them (`2024-01-02T03:04:05.123456789Z`).
enum Timestamp {
    static func parseRFC3339Nanos(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var n = 0
            for k in from..<(from + len) {
                guard b[k] >= 48 && b[k] <= 57 else { return nil }
                n = n * 10 + Int(b[k] - 48)
            }
            return n
        }
        guard b.count >= 20, let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2) else { return nil }
        var i = 19
        var nanos = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int(b[i] - 48); digits += 1 }
                i += 1
            }
            while digits < 9 { nanos *= 10; digits += 1 }
        }
        var offset = 0
        if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) {
            guard let oh = num(i + 1, 2), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = days * 86_400 + h * 3600 + mi * 60 + s - offset
        return Int64(seconds) * 1_000_000_000 + Int64(nanos)
    }
}

extension NATSConnection {
    /// A JetStream context on this connection.
    public func jetStream(prefix: String = "$JS.API", timeout: Duration = .seconds(5)) -> JetStream {
        JetStream(connection: self, prefix: prefix, timeout: timeout)
    }
}

extension Collection where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool { firstRange(of: needle) != nil }

    func firstRange(of needle: [UInt8]) -> Range<Index>? {
        guard !needle.isEmpty, count >= needle.count else { return nil }
        var i = startIndex
        while i != endIndex {
            if self[i] == needle[0] {
                var j = i
                var k = 0
                while k < needle.count, j != endIndex, self[j] == needle[k] {
                    formIndex(after: &j)
                    k += 1
                }
                if k == needle.count { return i..<j }
            }
            formIndex(after: &i)
        }
        return nil
    }
}
