/// A subscription: an `AsyncSequence` of the messages delivered to it. The sequence ends after
/// `unsubscribe()`, after the `unsubscribe(after:)` limit, on `drain()` or on `close()`.
/// When neither the subscription nor any iterator of it is referenced any more, it unsubscribes.
public final class NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage

    let connection: NATSConnection
    /// The subscription id on the wire.
    public let sid: UInt64
    /// The subject (possibly with wildcards) subscribed to.
    public let subject: String
    /// The queue group, if any.
    public let queue: String?
    private let stream: AsyncStream<NATSMessage>

    init(connection: NATSConnection, sid: UInt64, subject: String, queue: String?, stream: AsyncStream<NATSMessage>) {
        self.connection = connection
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self.stream = stream
    }

    deinit { try? connection.unsubscribe(sid: sid, after: nil) }

    /// Iterates the messages; keeps the subscription alive while in use.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let owner: NATSSubscription
        var base: AsyncStream<NATSMessage>.Iterator

        public mutating func next() async -> NATSMessage? { await base.next() }

        /// Keeps the caller's isolation (no executor hop for actor-isolated loops).
        @available(macOS 15.0, *)
        public mutating func next(isolation actor: isolated (any Actor)?) async -> NATSMessage? {
            await base.next(isolation: actor)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: self, base: stream.makeAsyncIterator()) }

    /// Stops delivery now; the sequence ends.
    public func unsubscribe() throws {
        try connection.unsubscribe(sid: sid, after: nil)
    }

    /// Stops delivery after `count` messages in total (counting those already delivered).
    public func unsubscribe(after count: Int) throws {
        try connection.unsubscribe(sid: sid, after: count)
    }
}
