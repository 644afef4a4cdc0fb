import PloyzModel
import Testing
@testable import PloyzDNS

/// The fast path must be invisible: whenever it answers, its bytes equal the full path's.
@Suite struct FastPathTests {
    static let responder = DNSResponder(zone: Zone.build(from: Support.sampleSnapshot(webInstances: 40),
                                                         nameServer: Zone.NameServer(ipv4: [IPv4Address(10, 101, 0, 2)])))

    /// The full path's bytes for `query`, as the server would send them.
    static func fullReply(_ query: [UInt8], responder: DNSResponder = responder, overUDP: Bool) -> [UInt8]? {
        guard case .reply(let message, let limit) = responder.respond(to: query) else { return nil }
        return message.encode(limit: overUDP ? limit : 65_535)
    }

    static func fastReply(_ query: [UInt8], responder: DNSResponder = responder, overUDP: Bool) -> DNSResponder.FastReply? {
        query.withUnsafeBytes { responder.fastReply(to: $0, overUDP: overUDP) }
    }

    @Test func matchesTheFullPathByteForByte() {
        let names = ["web.ployz.internal", "WEB.Default.Ployz.Internal", "api.prod.ployz.internal", "nope.ployz.internal",
                     "a.b.c.nope.ployz.internal", "ployz.internal", "default.ployz.internal", "alpha.machine.ployz.internal",
                     "_http._tcp.web.ployz.internal", "_8080._TCP.web.default.ployz.internal", "ns.ployz.internal", "idle.ployz.internal",
                     "x.ns.ployz.internal", "y.Hostmaster.ployz.internal"]
        let types: [DNSType] = [.a, .aaaa, .srv, .soa, .ns, .txt, .any, DNSType(rawValue: 99)]
        var answered = 0
        for name in names {
            for type in types {
                for edns: UInt16? in [nil, 512, 1232, 4096] {
                    for flags: (UInt8, UInt8) in [(0x01, 0x00), (0x00, 0x00), (0x01, 0x10), (0x01, 0x20)] {
                        var query = Support.query(name, type, id: 0x4242, edns: edns)
                        query[2] = flags.0
                        query[3] = flags.1
                        // DO set on some EDNS queries: it must come back (RFC 3225).
                        if edns == 4096 { query[query.count - 4] = 0x80 }
                        for overUDP in [true, false] {
                            guard let fast = Self.fastReply(query, overUDP: overUDP) else { continue }
                            answered += 1
                            #expect(fast.bytes == Self.fullReply(query, overUDP: overUDP), "\(name) \(type) edns=\(String(describing: edns))")
                            #expect(fast.type == type)
                        }
                    }
                }
            }
        }
        #expect(answered > names.count * types.count * 20)
    }

    @Test func leavesEverythingUnusualToTheFullPath() {
        let forwarding = DNSResponder(zone: Self.responder.zone, forwarding: true)
        #expect(Self.fastReply(Support.query("example.com"), responder: forwarding, overUDP: true) == nil)
        #expect(Self.fastReply(Support.query("web.ployz.internal", .axfr), overUDP: true) == nil)
        #expect(Self.fastReply(Support.query("web.ployz.internal", .opt), overUDP: true) == nil)
        var chaos = Support.query("web.ployz.internal")
        chaos[chaos.count - 1] = 3
        #expect(Self.fastReply(chaos, overUDP: true) == nil)
        var badVersion = Support.query("web.ployz.internal", edns: 1232)
        badVersion[badVersion.count - 5] = 1
        #expect(Self.fastReply(badVersion, overUDP: true) == nil)
        // 40 A records do not fit in 512 bytes: the full path sets TC.
        #expect(Self.fastReply(Support.query("web.ployz.internal"), overUDP: true) == nil)
        #expect(Self.fastReply(Support.query("web.ployz.internal"), overUDP: false) != nil)
        #expect(Self.fastReply(Support.query("web.ployz.internal") + [0], overUDP: false) == nil)
    }

    @Test func answersTooBigForTCPAreTruncatedNotCrashed() throws {
        let responder = DNSResponder(zone: Zone.build(from: Support.sampleSnapshot(webInstances: 5000)))
        let query = Support.query("web.ployz.internal")
        #expect(Self.fastReply(query, responder: responder, overUDP: false) == nil)
        let reply = try DNSMessage(decoding: try #require(Self.fullReply(query, responder: responder, overUDP: false)))
        #expect(reply.header.truncated && reply.answers.isEmpty)
    }

    @Test func setsRAWhenForwarding() throws {
        let forwarding = DNSResponder(zone: Self.responder.zone, forwarding: true)
        let query = Support.query("api.prod.ployz.internal")
        let fast = try #require(Self.fastReply(query, responder: forwarding, overUDP: true))
        #expect(fast.bytes == Self.fullReply(query, responder: forwarding, overUDP: true))
        #expect(try DNSMessage(decoding: fast.bytes).header.recursionAvailable)
    }
}
