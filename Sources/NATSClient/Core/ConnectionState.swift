import NIOCore

/// A subscription's delivery state; only touched under the connection's lock.
final class SubscriptionRecord {
    let sid: UInt64
    let subject: String
    let queue: String?
    let continuation: AsyncStream<NATSMessage>.Continuation
    var delivered = 0
    var max: Int?

    init(sid: UInt64, subject: String, queue: String?, continuation: AsyncStream<NATSMessage>.Continuation) {
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self.continuation = continuation
    }
}

/// An outstanding request waiting for its reply on the shared inbox.
struct PendingRequest {
    let continuation: CheckedContinuation<NATSMessage, Error>
    let deadline: NIODeadline
}

/// An outstanding flush waiting for its PONG.
struct PendingFlush {
    let continuation: CheckedContinuation<Void, Error>
    var timeout: Scheduled<Void>?
}

/// Who is waiting for a PONG (they arrive in PING order).
struct PongWaiter {
    enum Kind { case keepAlive, flush(UInt64) }
    var kind: Kind
    /// The `writeEpoch` whose batch holds this waiter's PING; nil when no PING was queued
    /// (requested while disconnected).
    var pingEpoch: UInt64?
}

/// Everything mutable about a connection, guarded by one lock.
struct ConnectionState: @unchecked Sendable {
    enum Status: Equatable { case connecting, connected, reconnecting, closed }

    var status: Status = .connecting
    var channel: Channel?
    var generation = 0
    var everConnected = false
    var serverInfo = ServerInfo()
    var currentServer = 0
    /// Cluster members announced in INFO `connect_urls`, tried after the configured servers.
    var discoveredServers: [ServerAddress] = []

    /// Protocol bytes not yet handed to the channel (publishes buffered while reconnecting too).
    var pending: ByteBuffer
    var flushScheduled = false
    /// Counts the batches handed to a channel: a PING queued in epoch `writeEpoch` is still in
    /// `pending`, one from an earlier epoch went to the channel.
    var writeEpoch: UInt64 = 0

    var nextSid: UInt64 = 1
    var subscriptions: [UInt64: SubscriptionRecord] = [:]

    var responseSid: UInt64?
    /// The response subscription replaced by the last refresh; replies to it are still taken.
    var previousResponseSid: UInt64?
    /// When the response subscription was last renewed after a request timed out.
    var responseRefreshedAt: NIODeadline?
    var nextRequestID: UInt64 = 0
    var requests: [String: PendingRequest] = [:]
    /// Whether the request-timeout sweep is scheduled (one timer for all requests, not one each).
    var sweepScheduled = false

    var nextFlushID: UInt64 = 0
    var flushes: [UInt64: PendingFlush] = [:]
    var pongWaiters: [PongWaiter] = []
    var pingsOutstanding = 0
    var pingTask: RepeatedTask?

    var nextEventID: UInt64 = 0
    var eventContinuations: [UInt64: AsyncStream<NATSConnectionEvent>.Continuation] = [:]
    var reconnectTask: Task<Void, Never>?
    var lastError: NATSError?

    init(allocator: ByteBufferAllocator) {
        pending = allocator.buffer(capacity: 16 * 1024)
    }

    /// Marks that the pending bytes need writing; returns the channel to schedule a write on,
    /// or nil when a write is already scheduled or there is no connection.
    mutating func claimFlush() -> Channel? {
        guard status == .connected, !flushScheduled, let ch = channel else { return nil }
        flushScheduled = true
        return ch
    }
}

extension ByteBuffer {
    /// Writes a non-negative integer in decimal without allocating.
    @inline(__always)
    mutating func writeDecimal(_ value: Int) {
        if value < 10 {
            writeInteger(UInt8(48 + value))
            return
        }
        var digits: (UInt64, UInt64) = (0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while n > 0 {
                raw[15 - count] = UInt8(48 + n % 10)
                n /= 10
                count += 1
            }
            writeBytes(UnsafeRawBufferPointer(rebasing: raw[(16 - count)...]))
        }
    }
}
