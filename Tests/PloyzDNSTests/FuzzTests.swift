import Foundation
import PloyzModel
import Testing
@testable import PloyzDNS

/// SplitMix64: a seeded generator so a failing iteration can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Mutates valid packets at random and pushes them through the decoder and the whole answer
/// path. Properties: nothing traps; whatever decodes re-encodes to an equal message; every reply
/// we produce decodes and fits the size asked for.
@Suite struct FuzzTests {
    static let seeds: [[UInt8]] = {
        let zone = Zone.build(from: Support.sampleSnapshot(webInstances: 30))
        var seeds = [Support.query("web.ployz.internal"), Support.query("_http._tcp.web.default.ployz.internal", .srv, edns: 1232),
                     Support.query("ployz.internal", .soa, edns: 4096), Support.query("nope.ployz.internal", .aaaa),
                     Support.query("example.com", .txt, edns: 512)]
        for query in Array(seeds) {
            if case .reply(let reply, _) = DNSResponder(zone: zone).respond(to: query) { seeds.append(reply.encode()) }
        }
        return seeds
    }()

    static func mutate(_ packet: [UInt8], using random: inout SeededRandom) -> [UInt8] {
        var bytes = packet
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
            case 1 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 2: bytes = Array(bytes.prefix(position))
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 4 where bytes.count > position + 1:
                // A compression pointer anywhere, to anywhere.
                bytes[position] = 0xc0 | UInt8.random(in: 0...0x3f, using: &random) & 0x01
                bytes[position + 1] = UInt8.random(in: 0...255, using: &random)
            case 5 where bytes.count >= 12:
                // Counts are where lies do the most damage.
                bytes[4 + Int.random(in: 0..<8, using: &random)] = UInt8.random(in: 0...3, using: &random)
            case 6 where !bytes.isEmpty: bytes[position] = [0x3f, 0x40, 0x00, 0xff, 0x80][Int.random(in: 0..<5, using: &random)]
            default:
                let start = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
                bytes.insert(contentsOf: bytes[start...].prefix(16), at: position)
            }
        }
        return bytes
    }

    @Test func mutatedPacketsNeverBreakTheCodecOrTheResponder() throws {
        var random = SeededRandom(state: 0x5eed_0f_d25)
        let responders = [DNSResponder(zone: Zone.build(from: Support.sampleSnapshot(webInstances: 30))),
                          DNSResponder(zone: Zone.build(from: Support.sampleSnapshot()), forwarding: true)]
        let deadline = Date().addingTimeInterval(15)
        var decoded = 0, replies = 0, iterations = 0
        while iterations < 20_000 && Date() < deadline {
            iterations += 1
            let seed = Self.seeds[Int.random(in: 0..<Self.seeds.count, using: &random)]
            let packet = Self.mutate(seed, using: &random)
            if let message = try? DNSMessage(decoding: packet) {
                decoded += 1
                let again = try DNSMessage(decoding: message.encode())
                #expect(again.questions == message.questions && again.answers == message.answers
                        && again.authority == message.authority && again.additional == message.additional && again.edns == message.edns,
                        "iteration \(iterations)")
            }
            for responder in responders {
                let fast = packet.withUnsafeBytes { responder.fastReply(to: $0, overUDP: true) }
                guard case .reply(let reply, let limit) = responder.respond(to: packet) else {
                    #expect(fast == nil, "iteration \(iterations)")
                    continue
                }
                replies += 1
                let wire = reply.encode(limit: limit)
                #expect(wire.count <= max(limit, 512), "iteration \(iterations)")
                #expect((try? DNSMessage(decoding: wire)) != nil, "iteration \(iterations)")
                if let fast { #expect(fast.bytes == wire, "iteration \(iterations)") }
            }
        }
        // The mutations must exercise both outcomes, or the test proves nothing.
        #expect(decoded > iterations / 20 && replies > iterations / 10)
    }
}
