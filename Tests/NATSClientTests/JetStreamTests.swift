import Foundation
import NIOCore
import Testing
@testable import NATSClient

@Suite(.serialized) struct JetStreamTests {
    @Test func streamLifecycle() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        var config = StreamConfig(name: "ORDERS", subjects: ["orders.>"], storage: .memory, duplicateWindow: .seconds(30))
        config.maxMsgsPerSubject = 5
        config.allowDirect = true
        let created = try await js.createStream(config)
        #expect(created.config.name == "ORDERS")
        #expect(created.config.maxMsgsPerSubject == 5)
        #expect(created.config.duplicateWindow == .seconds(30))
        #expect(created.config.allowDirect)
        // Creating the same stream again is fine; a different config is an API error.
        _ = try await js.createStream(config)
        config.maxAge = .seconds(3600)
        let updated = try await js.updateStream(config)
        #expect(updated.config.maxAge == .seconds(3600))
        let info = try await js.streamInfo("ORDERS")
        #expect(info.state.messages == 0)
        await #expect(throws: NATSError.streamNotFound("NOPE")) { _ = try await js.streamInfo("NOPE") }
        try await js.deleteStream("ORDERS")
        await #expect(throws: NATSError.streamNotFound("ORDERS")) { try await js.deleteStream("ORDERS") }
        await #expect(throws: NATSError.self) { _ = try await js.createStream(StreamConfig(name: "bad.name")) }
    }

    @Test func publishWithAckDeduplicationAndExpectations() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        try await js.createStream(StreamConfig(name: "EV", subjects: ["ev.>"]))
        let a1 = try await js.publish("ev.a", payload: "one", options: PublishOptions(msgId: "m1"))
        #expect(a1 == PubAck(stream: "EV", seq: 1, duplicate: false))
        let dup = try await js.publish("ev.a", payload: "one again", options: PublishOptions(msgId: "m1"))
        #expect(dup.duplicate && dup.seq == 1)
        let a2 = try await js.publish("ev.b", payload: "two", options: PublishOptions(expectedLastSequence: 1))
        #expect(a2.seq == 2)
        do {
            _ = try await js.publish("ev.b", payload: "x", options: PublishOptions(expectedLastSequence: 1))
            Issue.record("expected a wrong-last-sequence error")
        } catch NATSError.jetStream(let e) {
            #expect(e.errCode == 10071)
            #expect(NATSError.jetStream(e).description.contains("err_code 10071"))
        }
        let a3 = try await js.publish("ev.a", payload: "three", options: PublishOptions(expectedLastSubjectSequence: 1))
        #expect(a3.seq == 3)
        await #expect(throws: NATSError.self) {
            _ = try await js.publish("ev.a", payload: "x", options: PublishOptions(expectedStream: "OTHER"))
        }
        let a4 = try await js.publish("ev.c", payload: "four", options: PublishOptions(expectedStream: "EV"))
        #expect(a4.seq == 4)
        // Nothing stores this subject.
        await #expect(throws: NATSError.self) { _ = try await js.publish("nowhere", payload: "x") }
        let stored = try await js.getMessage(stream: "EV", sequence: 2)
        #expect(stored.map { String(buffer: $0.payload) } == "two")
        let last = try await js.getMessage(stream: "EV", lastBySubject: "ev.a")
        #expect(last?.sequence == 3)
        #expect(try await js.getMessage(stream: "EV", sequence: 99) == nil)
        #expect(try await js.streamInfo("EV").state.messages == 4)
    }

    @Test func pubAckFastPathMatchesDecoder() throws {
        for text in ["{\"stream\":\"S\",\"seq\":42}", "{\"stream\":\"KV_x\",\"seq\":7,\"duplicate\":true}",
                     "{\"stream\":\"KV_x\",\"seq\":7, \"duplicate\": true}",
                     "{\"stream\":\"S\",\"domain\":\"hub\",\"seq\":1}"] {
            let fast = JetStream.parsePubAck(ByteBuffer(string: text))
            let slow = try JetStream.decode(PubAck.self, from: ByteBuffer(string: text))
            #expect(fast == slow, "\(text)")
        }
        #expect(JetStream.parsePubAck(ByteBuffer(string: "{\"error\":{\"code\":400}}")) == nil)
        #expect(Timestamp.parseRFC3339Nanos("1970-01-01T00:00:01.5Z") == 1_500_000_000)
        let leapNoon: Int64 = 1_709_208_000 * 1_000_000_000
        #expect(Timestamp.parseRFC3339Nanos("2024-02-29T12:00:00Z") == leapNoon)
        #expect(Timestamp.parseRFC3339Nanos("2024-02-29T13:00:00+01:00") == leapNoon)
        #expect(JetStreamMetadata(replySubject: "$JS.ACK.S.C.2.10.4.1700000000000000000.3")?.streamSequence == 10)
        #expect(JetStreamMetadata(replySubject: "$JS.ACK.dom.acc.S.C.2.10.4.1700000000000000000.3.rand")?.pending == 3)
        #expect(JetStreamMetadata(replySubject: "_INBOX.x") == nil)
    }

    @Test func orderedConsumerDeliversEverythingInOrder() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        try await js.createStream(StreamConfig(name: "LOG", subjects: ["log.*"]))
        for i in 1...50 { _ = try await js.publish(i % 2 == 0 ? "log.even" : "log.odd", payload: String(i)) }
        let consumer = try js.orderedConsumer(stream: "LOG", options: OrderedConsumerOptions(filterSubject: "log.even"))
        let got = try await withDeadline(10) {
            var seqs: [UInt64] = []
            for try await m in consumer {
                seqs.append(m.metadata!.streamSequence)
                #expect(m.subject == "log.even")
                if seqs.count == 30 { break }
                if seqs.count == 25 {
                    for i in 51...55 { _ = try await js.publish("log.even", payload: String(i)) }
                }
            }
            return seqs
        }
        #expect(got.count == 30)
        // Stream sequences: the even ones of the first 50, then 51...55 published live.
        #expect(got == Array(stride(from: 2, through: 50, by: 2)) + Array(51...55))
        consumer.stop()
    }

    @Test func orderedConsumerStreamsALargeBacklogWithFlowControl() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        try await js.createStream(StreamConfig(name: "BULK", subjects: ["bulk"], storage: .memory))
        let n = 20_000
        let payload = Data(repeating: 0x61, count: 1024)
        for i in 0..<n {
            try nc.publish("bulk", payload: payload, headers: NATSHeaders([("Seq", String(i))]))
            if i % 2000 == 0 { try await nc.flush() }
        }
        try await nc.flush()
        #expect(try await eventually(10) { try await js.streamInfo("BULK").state.messages == UInt64(n) })
        let consumer = try js.orderedConsumer(stream: "BULK")
        let count = try await withDeadline(60) { () -> Int in
            var expected: UInt64 = 1
            for try await m in consumer {
                guard m.metadata?.streamSequence == expected, m.message.data == payload else { return -Int(expected) }
                if expected == UInt64(n) { return n }
                expected += 1
            }
            return -1
        }
        #expect(count == n)
        consumer.stop()
    }

    @Test func orderedConsumerRecoversWhenItsConsumerDisappears() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        try await js.createStream(StreamConfig(name: "FEED", subjects: ["feed"], storage: .memory))
        for i in 1...3 { _ = try await js.publish("feed", payload: String(i)) }
        let consumer = try js.orderedConsumer(stream: "FEED", options: OrderedConsumerOptions(idleHeartbeat: .milliseconds(200)))
        let got = try await withDeadline(20) { () -> [String] in
            var seen: [String] = []
            for try await m in consumer {
                seen.append(m.message.string)
                if seen.count == 3 {
                    // Delete the server-side consumer: heartbeats stop, the client must recreate it
                    // and resume after sequence 3.
                    for name in try await js.consumerNames(stream: "FEED") {
                        try await js.deleteConsumer(stream: "FEED", name: name)
                    }
                    for i in 4...6 { _ = try await js.publish("feed", payload: String(i)) }
                }
                if seen.count == 6 { break }
            }
            return seen
        }
        #expect(got == ["1", "2", "3", "4", "5", "6"])
        consumer.stop()
    }

    @Test func workQueueFetchAckNakTermInProgress() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        try await js.createWorkQueue(name: "JOBS", subjects: ["jobs.>"])
        try await js.createPullConsumer(stream: "JOBS", durable: "workers", ackWait: .seconds(2))
        // Idempotent for the same settings.
        try await js.createPullConsumer(stream: "JOBS", durable: "workers", ackWait: .seconds(2))
        // Nothing yet: fetch waits, then returns empty.
        let none = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 5, expires: .milliseconds(300))
        #expect(none.isEmpty)
        for i in 1...5 { _ = try await js.publish("jobs.build", payload: "job\(i)") }
        let batch = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 3)
        #expect(batch.map { String(buffer: $0.payload) } == ["job1", "job2", "job3"])
        try await batch[0].ackSync()
        try batch[1].nak()
        try batch[2].term()
        // The nak is fire-and-forget, so job2 may come back in a later fetch: collect until all three.
        var next: [JetStreamMessage] = []
        for _ in 0..<10 where next.count < 3 {
            next += try await js.fetch(stream: "JOBS", consumer: "workers", batch: 10, expires: .milliseconds(500))
        }
        #expect(Set(next.map { String(buffer: $0.payload) }) == ["job2", "job4", "job5"])
        let redelivered = next.first { String(buffer: $0.payload) == "job2" }
        #expect(redelivered?.metadata?.delivered == 2)
        for m in next {
            try m.inProgress()
            try await m.ackSync()
        }
        // A job published while a fetch waits is returned by that fetch.
        async let waiting = js.fetch(stream: "JOBS", consumer: "workers", batch: 1, expires: .seconds(5))
        try await Task.sleep(for: .milliseconds(200))
        _ = try await js.publish("jobs.build", payload: "late")
        let late = try await waiting
        #expect(late.map { String(buffer: $0.payload) } == ["late"])
        try await late[0].ackSync()
        // Nak with delay: not redelivered at once.
        _ = try await js.publish("jobs.build", payload: "delayed")
        let d = try await js.fetch(stream: "JOBS", consumer: "workers")
        try d[0].nak(delay: .seconds(1))
        let immediate = try await js.fetch(stream: "JOBS", consumer: "workers", expires: .milliseconds(200))
        #expect(immediate.isEmpty)
        let again = try await js.fetch(stream: "JOBS", consumer: "workers", expires: .seconds(3))
        #expect(again.map { String(buffer: $0.payload) } == ["delayed"])
        try await again[0].ackSync()
        // Acked work-queue messages are gone (job3 was terminated, so it is gone too).
        #expect(try await eventually { try await js.streamInfo("JOBS").state.messages == 0 })
        let info = try await js.consumerInfo(stream: "JOBS", name: "workers")
        #expect(info.numAckPending == 0)
        try await js.deleteConsumer(stream: "JOBS", name: "workers")
    }
}
