import PloyzModel
import Testing
@testable import PloyzDNS

@Suite struct ZoneTests {
    static let zone = Zone.build(from: Support.sampleSnapshot(), ttl: 5,
                                 nameServer: Zone.NameServer(ipv4: [IPv4Address(10, 101, 0, 2)]))

    static func answer(_ name: String, _ type: DNSType = .a, zone: Zone = zone) throws -> DNSMessage {
        let query = try DNSMessage(decoding: Support.query(name, type))
        return try #require(zone.answer(query))
    }

    static func addresses(_ message: DNSMessage) -> [String] {
        message.answers.compactMap { if case .a(let address) = $0.data { "\(address)" } else { nil } }
    }

    @Test func answersReadyInstancesOfAServiceSorted() throws {
        let message = try Self.answer("web.default.ployz.internal")
        #expect(message.rcode == .noError && message.header.authoritative && message.header.recursionDesired)
        #expect(Self.addresses(message) == ["10.101.0.3", "10.101.0.4"])
        #expect(message.answers.allSatisfy { $0.ttl == 5 && $0.name == name("web.default.ployz.internal") })
        #expect(message.authority.isEmpty)
    }

    @Test func shortNameIsTheDefaultNamespace() throws {
        #expect(Self.addresses(try Self.answer("web.ployz.internal")) == ["10.101.0.3", "10.101.0.4"])
        #expect(Self.addresses(try Self.answer("api.prod.ployz.internal")) == ["10.101.1.3"])
        #expect(try Self.answer("api.ployz.internal").rcode == .nameError)
    }

    @Test func matchesCaseInsensitivelyAndKeepsTheQueryCase() throws {
        let message = try Self.answer("WeB.DeFault.PLOYZ.internal")
        #expect(Self.addresses(message) == ["10.101.0.3", "10.101.0.4"])
        #expect(message.questions.first?.name.wire == name("WeB.DeFault.PLOYZ.internal").wire)
        let encoded = message.encode()
        #expect(encoded[12..<(12 + 28)].elementsEqual(name("WeB.DeFault.PLOYZ.internal").wire))
    }

    @Test func answersMachineOverlayAddresses() throws {
        let message = try Self.answer("alpha.machine.ployz.internal", .aaaa)
        let overlay = Support.sampleSnapshot().machines["m1"]!.overlayIPv6
        #expect(message.answers.map(\.data) == [.aaaa(overlay)])
        #expect(try Self.answer("alpha.machine.ployz.internal", .a).answers.isEmpty)
    }

    @Test func answersSRVByPortNameAndNumberWithTheTargetAddresses() throws {
        for owner in ["_http._tcp.web.default.ployz.internal", "_8080._tcp.web.default.ployz.internal"] {
            let message = try Self.answer(owner, .srv)
            #expect(message.answers.map(\.data) == [.srv(SRVData(priority: 0, weight: 0, port: 8080, target: name("web.default.ployz.internal")))])
            #expect(message.additional.map(\.data) == [.a(IPv4Address(10, 101, 0, 3)), .a(IPv4Address(10, 101, 0, 4))])
        }
        let short = try Self.answer("_http._tcp.web.ployz.internal", .srv)
        #expect(short.answers.map(\.data) == [.srv(SRVData(priority: 0, weight: 0, port: 8080, target: name("web.ployz.internal")))])
        #expect(try Self.answer("_http._udp.web.ployz.internal", .srv).rcode == .nameError)
    }

    @Test func answersSOAAndNSAtTheApex() throws {
        let soa = try Self.answer("ployz.internal", .soa)
        guard case .soa(let data) = soa.answers.first?.data else { Issue.record("no SOA"); return }
        #expect(data.primaryNameServer == name("ns.ployz.internal") && data.minimum == 5)
        let ns = try Self.answer("ployz.internal", .ns)
        #expect(ns.answers.map(\.data) == [.ns(name("ns.ployz.internal"))])
        #expect(ns.additional.map(\.data) == [.a(IPv4Address(10, 101, 0, 2))])
    }

    @Test func answersNXDOMAINWithTheSOAForUnknownNames() throws {
        for unknown in ["nope.ployz.internal", "x.web.default.ployz.internal", "beta.machine.ployz.internal"] {
            let message = try Self.answer(unknown)
            #expect(message.rcode == .nameError && message.header.authoritative)
            #expect(message.answers.isEmpty && message.authority == [Self.zone.soa])
            #expect(message.authority.first?.ttl == 5)
        }
    }

    @Test func answersNODATAForOtherTypesAndEmptyNonTerminals() throws {
        for (owner, type) in [("web.ployz.internal", DNSType.aaaa), ("default.ployz.internal", .a), ("machine.ployz.internal", .a),
                              ("idle.ployz.internal", .a), ("_tcp.web.ployz.internal", .srv), ("ployz.internal", .a)] {
            let message = try Self.answer(owner, type)
            #expect(message.rcode == .noError, "\(owner)")
            #expect(message.answers.isEmpty && message.authority == [Self.zone.soa], "\(owner)")
        }
    }

    @Test func copiesTheDOBitAndAdvertisesOurPayloadSize() throws {
        var query = Support.query("web.ployz.internal", edns: 4096)
        query[query.count - 4] = 0x80
        let response = try #require(Self.zone.answer(try DNSMessage(decoding: query)))
        #expect(response.edns == EDNS(udpPayloadSize: 1232, dnssecOK: true))
        #expect(try #require(Self.zone.answer(try DNSMessage(decoding: Support.query("web.ployz.internal", edns: 4096)))).edns
            == EDNS(udpPayloadSize: 1232))
        #expect(try Self.answer("web.ployz.internal").edns == nil)
    }

    @Test func answersANYWithEveryTypeAtTheName() throws {
        let message = try Self.answer("ployz.internal", .any)
        #expect(message.answers.map(\.type) == [.ns, .soa])
    }

    @Test func leavesNamesOutsideTheZoneToTheCaller() throws {
        let query = try DNSMessage(decoding: Support.query("example.com"))
        #expect(Self.zone.answer(query) == nil)
        #expect(Self.zone.lookup(name("internal"), type: .a) == .outOfZone)
        guard case .reply(let refused, _) = DNSResponder(zone: Self.zone).respond(to: Support.query("example.com")) else {
            Issue.record("no reply"); return
        }
        #expect(refused.rcode == .refused && !refused.header.authoritative && !refused.header.recursionAvailable)
        let forwarding = DNSResponder(zone: Self.zone, forwarding: true)
        #expect(forwarding.respond(to: Support.query("example.com")) == .forward(query))
        guard case .reply(let local, _) = forwarding.respond(to: Support.query("web.ployz.internal")) else { Issue.record("no reply"); return }
        #expect(local.header.recursionAvailable && local.header.authoritative)
    }

    @Test func followsTheConfiguredTTLAndIsDeterministic() throws {
        let a = Zone.build(from: Support.sampleSnapshot(), ttl: 60)
        let b = Zone.build(from: Support.sampleSnapshot(), ttl: 60)
        let first = try Self.answer("web.ployz.internal", zone: a)
        #expect(first.answers.allSatisfy { $0.ttl == 60 })
        #expect(first.encode() == (try Self.answer("web.ployz.internal", zone: b)).encode())
        #expect(a.soa == b.soa)
        let changed = Zone.build(from: Support.sampleSnapshot(webInstances: 3), ttl: 60)
        #expect(changed.soa != a.soa)
        #expect(Self.addresses(try Self.answer("web.ployz.internal", zone: changed)).count == 3)
    }

    @Test func skipsNamesThatAreNotLabelsAndBadAddresses() throws {
        var snapshot = Support.sampleSnapshot()
        snapshot.services["default.a.b"] = ServiceRecord(name: "a.b")
        snapshot.instances["bad"] = InstanceRecord(id: "bad", service: "web", machine: "m1", address: "not-an-ip")
        snapshot.instances["long"] = InstanceRecord(id: "long", service: String(repeating: "x", count: 64), machine: "m1", address: "10.0.0.1")
        let zone = Zone.build(from: snapshot)
        #expect(Self.addresses(try Self.answer("web.ployz.internal", zone: zone)) == ["10.101.0.3", "10.101.0.4"])
        #expect(try Self.answer("a.b.ployz.internal", zone: zone).rcode == .nameError)
    }
}
