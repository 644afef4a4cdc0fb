import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import PloyzModel
import Testing
@testable import PloyzDNS

/// The server over real sockets on 127.0.0.1, checked with dig and with our own raw-socket client.
@Suite(.serialized) struct ServerTests {
    static func withServer<T>(_ snapshot: ClusterSnapshot = Support.sampleSnapshot(), upstreams: [ListenAddress] = [],
                              idleTimeout: TimeAmount = .seconds(10), maxTCPConnections: Int = 1024, metrics: Bool = false,
                              _ body: (DNSServer, Int) async throws -> T) async throws -> T {
        let server = DNSServer(configuration: DNSServer.Configuration(
            listen: [ListenAddress(host: "127.0.0.1", port: 0)], upstreams: upstreams, forwardTimeout: .milliseconds(500),
            tcpIdleTimeout: idleTimeout, maxTCPConnections: maxTCPConnections, metricsListen: metrics ? ListenAddress(host: "127.0.0.1", port: 0) : nil),
            snapshot: snapshot)
        try await server.start()
        do {
            let result = try await body(server, server.boundAddresses.udp.first!.port!)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    @Test func answersDigOverUDPAndTCP() async throws {
        try await Self.withServer { server, port async throws in
            #expect(server.boundAddresses.tcp.first?.port == port)
            for tcp in [false, true] {
                #expect(try Support.dig("web.default.ployz.internal", port: port, tcp: tcp) == ["10.101.0.3", "10.101.0.4"])
                #expect(try Support.dig("_http._tcp.web.ployz.internal", "SRV", port: port, tcp: tcp) == ["0 0 8080 web.ployz.internal."])
                #expect(try Support.dig("ALPHA.machine.ployz.internal", "AAAA", port: port, tcp: tcp)
                    == [Support.sampleSnapshot().machines["m1"]!.overlayIPv6.description])
                let full = try Support.run("/usr/bin/dig", ["@127.0.0.1", "-p", String(port), "nope.ployz.internal", "+tries=1", "+time=2"] + (tcp ? ["+tcp"] : []))
                #expect(full.contains("status: NXDOMAIN") && full.contains("flags: qr aa rd;"))
                #expect(full.contains("ployz.internal.\t\t5\tIN\tSOA\tns.ployz.internal. hostmaster.ployz.internal."))
                let outside = try Support.run("/usr/bin/dig", ["@127.0.0.1", "-p", String(port), "example.com", "+tries=1", "+time=2"] + (tcp ? ["+tcp"] : []))
                #expect(outside.contains("status: REFUSED"))
            }
        }
    }

    @Test func truncatesBigUDPAnswersAndServesThemInFullOverTCP() async throws {
        try await Self.withServer(Support.sampleSnapshot(webInstances: 100)) { _, port async throws in
            let udp = try #require(try Support.udpExchange(Support.query("web.ployz.internal"), port: port))
            let cut = try DNSMessage(decoding: udp)
            #expect(cut.header.truncated && cut.answers.isEmpty && udp.count <= 512)
            // With EDNS 4096 the 100 records (about 1.7 kB) fit in UDP.
            let big = try DNSMessage(decoding: try #require(try Support.udpExchange(Support.query("web.ployz.internal", edns: 4096), port: port)))
            #expect(!big.header.truncated && big.answers.count == 100)
            let tcp = try Support.tcpExchange([Support.query("web.ployz.internal")], port: port)
            #expect(try DNSMessage(decoding: try #require(tcp.first)).answers.count == 100)
            // dig without EDNS gets TC over UDP and retries over TCP by itself.
            #expect(try Support.dig("web.ployz.internal", port: port, extra: ["+noedns"]).count == 100)
        }
    }

    @Test func answersPipelinedQueriesOnOneConnection() async throws {
        try await Self.withServer { _, port async throws in
            let names = ["web.ployz.internal", "api.prod.ployz.internal", "nope.ployz.internal", "ployz.internal", "example.com"]
            let queries = (0..<20).map { Support.query(names[$0 % names.count], id: UInt16(100 + $0)) }
            let answers = try Support.tcpExchange(queries, port: port).map { try DNSMessage(decoding: $0) }
            #expect(answers.map(\.header.id) == (0..<20).map { UInt16(100 + $0) })
            #expect(answers.map(\.rcode).prefix(5) == [.noError, .noError, .nameError, .noError, .refused])
        }
    }

    @Test func halfSentTCPMessageDoesNotStallOthersAndIsCutAtTheIdleTimeout() async throws {
        try await Self.withServer(idleTimeout: .seconds(1)) { _, port async throws in
            try Support.withSocket(Int32(SOCK_STREAM.rawValue), port: port, timeout: 5) { slow in
                // Length says 40 bytes; send 10 and wait.
                try Support.sendAll(slow, [0, 40] + Array(Support.query("web.ployz.internal").prefix(10)))
                #expect(try Support.dig("web.ployz.internal", port: port, tcp: true) == ["10.101.0.3", "10.101.0.4"])
                #expect(try Support.udpExchange(Support.query("web.ployz.internal"), port: port) != nil)
                // The server closes the stalled connection: recv sees EOF (0) before our 5 s timeout.
                var byte: UInt8 = 0
                #expect(recv(slow, &byte, 1, 0) == 0)
            }
        }
    }

    @Test func closesTCPConnectionsOverTheLimitAndServesAgainWhenOneFrees() async throws {
        try await Self.withServer(maxTCPConnections: 2) { _, port async throws in
            try Support.withSocket(Int32(SOCK_STREAM.rawValue), port: port) { first in
                try Support.withSocket(Int32(SOCK_STREAM.rawValue), port: port) { second in
                    try Support.sendAll(first, Support.framed(Support.query("web.ployz.internal")))
                    try Support.sendAll(second, Support.framed(Support.query("web.ployz.internal")))
                    #expect(Support.receiveFramed(first) != nil && Support.receiveFramed(second) != nil)
                    // A third connection is accepted by the kernel and closed by us at once.
                    #expect(try Support.tcpExchange([Support.query("web.ployz.internal")], port: port).isEmpty)
                    #expect(try Support.udpExchange(Support.query("web.ployz.internal"), port: port) != nil)
                }
            }
            #expect(Support.eventually(5) { (try? Support.tcpExchange([Support.query("web.ployz.internal")], port: port).count) == 1 })
        }
    }

    @Test func emptyAndOversizedPacketsGetTheRFCAnswerAndHarmNothing() async throws {
        try await Self.withServer { _, port async throws in
            // Empty datagram: no header, dropped.
            #expect(try Support.udpExchange([], port: port, timeout: 0.5) == nil)
            // A 60 kB datagram is cut to the 4 kB read slot; what arrives has trailing junk: FORMERR.
            let oversized = Support.query("web.ployz.internal", id: 0x0bad) + [UInt8](repeating: 0xee, count: 60_000)
            let udp = try DNSMessage(decoding: try #require(try Support.udpExchange(oversized, port: port)))
            #expect(udp.header.id == 0x0bad && udp.rcode == .formatError)
            // Over TCP the largest frame (65,535 bytes) is read whole: FORMERR too, then the connection goes on.
            let big = Support.query("web.ployz.internal", id: 0x0b16) + [UInt8](repeating: 0xee, count: 65_535 - 36)
            let answers = try Support.tcpExchange([big, Support.query("web.ployz.internal", id: 7)], port: port)
            #expect(try answers.map { try DNSMessage(decoding: $0).rcode } == [.formatError, .noError])
            // An empty TCP frame is dropped and the connection still answers.
            #expect(try Support.tcpExchange([[], Support.query("web.ployz.internal", id: 8)], port: port, timeout: 1).count == 1)
            #expect(try Support.dig("web.ployz.internal", port: port) == ["10.101.0.3", "10.101.0.4"])
        }
    }

    @Test func updatesAreAnsweredLive() async throws {
        try await Self.withServer { server, port async throws in
            #expect(try Support.dig("new.ployz.internal", port: port).isEmpty)
            var snapshot = Support.sampleSnapshot()
            snapshot.services["default.new"] = ServiceRecord(name: "new")
            snapshot.instances["new-0"] = InstanceRecord(id: "new-0", service: "new", machine: "m1", address: "10.101.0.50")
            server.update(snapshot: snapshot)
            #expect(try Support.dig("new.ployz.internal", port: port) == ["10.101.0.50"])
        }
    }

    @Test func forwardsOutsideTheZoneAndFailsWithSERVFAILWhenUpstreamsAreDead() async throws {
        // The upstream: a second server of ours, authoritative for example.test.
        let upstream = DNSServer(configuration: DNSServer.Configuration(listen: [ListenAddress(host: "127.0.0.1", port: 0)]))
        try await upstream.start()
        do {
            try await Self.forwardThrough(upstream)
            await upstream.stop()
        } catch {
            await upstream.stop()
            throw error
        }
    }

    static func forwardThrough(_ upstream: DNSServer) async throws {
        let origin = name("example.test")
        let host = name("www.example.test")
        let big = name("big.example.test")
        let soa = SOAData(primaryNameServer: origin, responsibleMailbox: origin, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1)
        upstream.update(zone: Zone(origin: origin, ttl: 30, soa: soa,
                                   records: [.a(host, IPv4Address(192, 0, 2, 1), ttl: 30)]
                                       + (0..<100).map { .a(big, IPv4Address(UInt32(0xc000_0200) + UInt32($0)), ttl: 30) }))
        let upstreamPort = upstream.boundAddresses.udp.first!.port!
        let live = ListenAddress(host: "127.0.0.1", port: upstreamPort)
        let dead = ListenAddress(host: "127.0.0.1", port: try Support.freePort())

        try await Self.withServer(upstreams: [dead, live]) { _, port async throws in
            #expect(try Support.dig("www.example.test", port: port) == ["192.0.2.1"])
            #expect(try Support.dig("www.example.test", port: port, tcp: true) == ["192.0.2.1"])
            #expect(try Support.dig("web.ployz.internal", port: port) == ["10.101.0.3", "10.101.0.4"])
            let ra = try Support.run("/usr/bin/dig", ["@127.0.0.1", "-p", String(port), "www.example.test", "+tries=1", "+time=3"])
            #expect(ra.contains("flags: qr aa rd ra;"))
            // A truncated upstream answer is fetched again over TCP for a TCP client.
            let answers = try Support.tcpExchange([Support.query("big.example.test")], port: port)
            #expect(try DNSMessage(decoding: try #require(answers.first)).answers.count == 100)
        }
        try await Self.withServer(upstreams: [dead]) { _, port async throws in
            let answer = try DNSMessage(decoding: try #require(try Support.udpExchange(Support.query("www.example.test"), port: port)))
            #expect(answer.rcode == .serverFailure && answer.header.recursionAvailable)
            #expect(try Support.dig("web.ployz.internal", port: port) == ["10.101.0.3", "10.101.0.4"])
        }
    }

    @Test func metricsEndpointCountsWhatWasAsked() async throws {
        try await Self.withServer(metrics: true) { server, port async throws in
            for _ in 0..<3 { _ = try Support.udpExchange(Support.query("web.ployz.internal"), port: port) }
            _ = try Support.udpExchange(Support.query("nope.ployz.internal", .aaaa), port: port)
            _ = try Support.tcpExchange([Support.query("_http._tcp.web.ployz.internal", .srv)], port: port)
            _ = try Support.udpExchange(Support.query("example.com"), port: port)
            let text = try Support.httpGet("/metrics", port: server.boundAddresses.metrics!.port!)
            #expect(text.contains("dns_queries_total{type=\"A\",rcode=\"NOERROR\"} 3"))
            #expect(text.contains("dns_queries_total{type=\"AAAA\",rcode=\"NXDOMAIN\"} 1"))
            #expect(text.contains("dns_queries_total{type=\"SRV\",rcode=\"NOERROR\"} 1"))
            #expect(text.contains("dns_queries_total{type=\"A\",rcode=\"REFUSED\"} 1"))
            #expect(text.contains("dns_answer_duration_seconds_count 6"))
            #expect(try Support.httpGet("/other", port: server.boundAddresses.metrics!.port!).hasPrefix("HTTP/1.1 404"))
        }
    }

    @Test func servesEveryListenAddressIncludingIPv6() async throws {
        let server = DNSServer(configuration: DNSServer.Configuration(
            listen: [ListenAddress(host: "127.0.0.1", port: 0), ListenAddress(host: "::1", port: 0)]), snapshot: Support.sampleSnapshot())
        try await server.start()
        do {
            let bound = server.boundAddresses
            #expect(bound.udp.count == 2 && bound.tcp.count == 2)
            for address in bound.udp {
                let host = address.protocol == .inet6 ? "::1" : "127.0.0.1"
                for transport in ["+notcp", "+tcp"] {
                    let answer = try Support.run("/usr/bin/dig", ["@" + host, "-p", String(address.port!), "web.ployz.internal", "+short",
                                                                  "+tries=1", "+time=2", transport])
                    #expect(answer == "10.101.0.3\n10.101.0.4\n", "\(host) \(transport)")
                }
            }
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }

    @Test func bindsAnAddressNoInterfaceCarriesYet() async throws {
        // 192.0.2.53 (TEST-NET-1) is on no interface here; the daemon may start DNS before the
        // overlay or bridge address exists.
        let server = DNSServer(configuration: DNSServer.Configuration(listen: [ListenAddress(host: "192.0.2.53", port: 0)]))
        try await server.start()
        #expect(server.boundAddresses.udp.first?.ipAddress == "192.0.2.53")
        await server.stop()
    }

    @Test func listsWhatItServes() {
        let records = Zone.build(from: Support.sampleSnapshot()).allRecords
        #expect(records.first?.type == .ns && records.first?.name == name("ployz.internal"))
        #expect(records.filter { $0.type == .a }.count == 5)
        #expect(records.filter { $0.type == .srv }.count == 6)
    }

    @Test func noMetricsListenerWhenUnset() async throws {
        try await Self.withServer { server, _ async throws in
            #expect(server.boundAddresses.metrics == nil && server.metrics == nil)
        }
    }
}
