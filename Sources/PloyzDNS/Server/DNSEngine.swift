import NIOConcurrencyHelpers
import NIOCore
import PloyzModel

/// The state every socket handler shares: the current responder (swapped atomically on update),
/// metrics and the forwarder.
final class DNSEngine: Sendable {
    /// A class box, so taking the current responder under the lock costs one retain per query
    /// instead of one per dictionary inside the zone.
    private final class Current: Sendable {
        let responder: DNSResponder
        init(_ responder: DNSResponder) { self.responder = responder }
    }

    private let current: NIOLockedValueBox<Current>
    let metrics: DNSMetrics?
    let forwarder: DNSForwarder?

    init(zone: Zone, metrics: DNSMetrics?, forwarder: DNSForwarder?) {
        current = NIOLockedValueBox(Current(DNSResponder(zone: zone, forwarding: forwarder != nil)))
        self.metrics = metrics
        self.forwarder = forwarder
    }

    var zone: Zone { current.withLockedValue { $0.responder.zone } }

    func update(zone: Zone) {
        let next = Current(DNSResponder(zone: zone, forwarding: forwarder != nil))
        current.withLockedValue { $0 = next }
    }

    /// What to send back for one message received over UDP or TCP.
    enum Outcome {
        case none
        case bytes([UInt8])
        case forward(DNSMessage, original: [UInt8], started: NIODeadline)
    }

    /// Answers from the zone synchronously; only forwarding needs the event loop.
    func process(_ buffer: ByteBuffer, overUDP: Bool) -> Outcome {
        // The clock is read only for the latency histogram.
        let start = metrics == nil ? .uptimeNanoseconds(0) : NIODeadline.now()
        let current = current.withLockedValue { $0 }
        if let fast = buffer.withUnsafeReadableBytes({ current.responder.fastReply(to: $0, overUDP: overUDP) }) {
            metrics?.record(type: fast.type, rcode: fast.rcode, nanoseconds: (NIODeadline.now() - start).nanoseconds)
            return .bytes(fast.bytes)
        }
        let bytes = Array(buffer.readableBytesView)
        switch current.responder.respond(to: bytes) {
        case .drop:
            metrics?.record(type: nil, rcode: nil, nanoseconds: (NIODeadline.now() - start).nanoseconds)
            return .none
        case .reply(let response, let udpLimit):
            let encoded = response.encode(limit: overUDP ? udpLimit : Int(UInt16.max))
            metrics?.record(type: response.questions.first?.type, rcode: response.rcode,
                            nanoseconds: (NIODeadline.now() - start).nanoseconds)
            return .bytes(encoded)
        case .forward(let query):
            return .forward(query, original: bytes, started: start)
        }
    }

    /// Relays an out-of-zone query upstream; SERVFAIL when no upstream answers in time.
    func forward(_ query: DNSMessage, original: [UInt8], started: NIODeadline, overUDP: Bool,
                 on eventLoop: EventLoop) -> EventLoopFuture<[UInt8]> {
        let limit = overUDP ? DNSResponder.udpLimit(for: query) : Int(UInt16.max)
        let answer = forwarder?.forward(original, query: query, overTCP: !overUDP, on: eventLoop)
            ?? eventLoop.makeFailedFuture(DNSForwarder.ForwardError.noUpstreams)
        return answer
            .map { bytes in
                self.metrics?.record(type: query.questions.first?.type,
                                     rcode: (try? DNSHeader(decoding: bytes)).map { DNSRcode(rawValue: UInt16($0.rcodeLow)) },
                                     nanoseconds: (NIODeadline.now() - started).nanoseconds)
                return bytes
            }
            .recover { _ in
                var failure = DNSMessage.response(to: query)
                failure.header.recursionAvailable = true
                failure.rcode = .serverFailure
                self.metrics?.record(type: query.questions.first?.type, rcode: .serverFailure,
                                     nanoseconds: (NIODeadline.now() - started).nanoseconds)
                return failure.encode(limit: limit)
            }
    }
}
