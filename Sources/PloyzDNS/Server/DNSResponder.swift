/// Turns query bytes into what the server should do: the protocol rules of RFC 1035, 6891 and
/// 7766 around the zone lookup. Pure, so every bad-input case is tested without sockets.
public struct DNSResponder: Sendable {
    /// The UDP payload size we advertise in OPT (the DNS Flag Day 2020 value).
    public static let advertisedUDPPayloadSize: UInt16 = 1232
    /// Classic DNS limit for UDP answers to clients without EDNS (RFC 1035 section 4.2.1).
    public static let classicUDPLimit = 512

    public var zone: Zone
    /// True when upstreams are configured: names outside the zone are forwarded, RA is set.
    public var forwarding: Bool

    public init(zone: Zone, forwarding: Bool = false) {
        self.zone = zone
        self.forwarding = forwarding
    }

    /// The server's next step for one received message.
    public enum Decision: Equatable, Sendable {
        /// Not answerable: no header, or the message is itself a response (never answer those,
        /// so two servers cannot ping-pong).
        case drop
        /// `udpLimit`: the largest answer the client accepts over UDP.
        case reply(DNSMessage, udpLimit: Int)
        /// Out of zone with forwarding on: relay the query (already validated) upstream.
        case forward(DNSMessage)
    }

    /// Decides how to answer `bytes`.
    ///
    /// Unknown classes get REFUSED (we hold no data in them); zone transfers and the obsolete
    /// MAILA/MAILB get NOTIMP; unknown opcodes NOTIMP; QDCOUNT other than 1, a malformed body or a
    /// question of type OPT get FORMERR; EDNS version above 0 gets BADVERS.
    public func respond(to bytes: [UInt8]) -> Decision {
        guard let header = try? DNSHeader(decoding: bytes), !header.isResponse else { return .drop }
        let query: DNSMessage
        do {
            query = try DNSMessage(decoding: bytes)
        } catch {
            return .reply(errorResponse(header: header, rcode: .formatError), udpLimit: Self.classicUDPLimit)
        }
        let limit = Self.udpLimit(for: query)
        guard query.header.opcode == .query else {
            var response = DNSMessage.response(to: query)
            response.rcode = .notImplemented
            return .reply(finish(response), udpLimit: limit)
        }
        guard query.questions.count == 1, let question = query.questions.first else {
            return .reply(errorResponse(header: header, rcode: .formatError, edns: query.edns), udpLimit: limit)
        }
        var response = DNSMessage.response(to: query)
        if let edns = query.edns, edns.version > 0 {
            response.rcode = .badVersion
            return .reply(finish(response), udpLimit: limit)
        }
        switch question.type {
        case .opt:
            response.rcode = .formatError
            return .reply(finish(response), udpLimit: limit)
        case .axfr, .ixfr, .maila, .mailb:
            response.rcode = .notImplemented
            return .reply(finish(response), udpLimit: limit)
        default:
            break
        }
        guard question.recordClass == .internet else {
            response.rcode = .refused
            return .reply(finish(response), udpLimit: limit)
        }
        if let answer = zone.answer(query) { return .reply(finish(answer), udpLimit: limit) }
        if forwarding { return .forward(query) }
        response.rcode = .refused
        return .reply(finish(response), udpLimit: limit)
    }

    /// The largest UDP answer `query`'s sender accepts: 512 without EDNS, else its payload size.
    public static func udpLimit(for query: DNSMessage?) -> Int {
        guard let size = query?.edns?.udpPayloadSize else { return classicUDPLimit }
        return max(classicUDPLimit, Int(size))
    }

    /// FORMERR-style answer built from the header alone, when the body could not be trusted.
    private func errorResponse(header: DNSHeader, rcode: DNSRcode, edns: EDNS? = nil) -> DNSMessage {
        var reply = DNSHeader(id: header.id)
        reply.isResponse = true
        reply.opcode = header.opcode
        reply.recursionDesired = header.recursionDesired
        var response = DNSMessage(header: reply, edns: edns.map { EDNS(udpPayloadSize: Self.advertisedUDPPayloadSize, dnssecOK: $0.dnssecOK) })
        response.rcode = rcode
        return finish(response)
    }

    private func finish(_ response: DNSMessage) -> DNSMessage {
        var response = response
        response.header.recursionAvailable = forwarding
        return response
    }
}
