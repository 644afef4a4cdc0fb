import Foundation
import NIOCore
import Testing
@testable import NATSClient

/// Collects connection events in the background.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [NATSConnectionEvent] = []
    private var task: Task<Void, Never>?

    init(_ nc: NATSConnection) {
        let stream = nc.events()
        task = Task { for await e in stream { self.lock.withLock { self.events.append(e) } } }
    }

    var all: [NATSConnectionEvent] { lock.withLock { events } }
    func count(_ e: NATSConnectionEvent) -> Int { all.filter { $0 == e }.count }
}

@Suite(.serialized) struct ReconnectTests {
    @Test func subscriptionsRestoredAndBufferedPublishesFlushed() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let log = EventLog(nc)
        let sub = try await nc.subscribe("r.>")
        let service = try await nc.subscribe("svc", queue: "q")
        let responder = Task {
            for await m in service { if let r = m.reply { try? nc.publish(r, payload: "pong") } }
        }
        defer { responder.cancel() }
        try await nc.flush()
        try nc.publish("r.before", payload: "1")
        try await nc.flush()

        server.stop()
        #expect(await eventually(5) { !nc.isConnected })
        #expect(await eventually(5) { log.count(.disconnected) == 1 })
        // Buffered while disconnected, sent after reconnecting.
        for i in 0..<10 { try nc.publish("r.during", payload: String(i)) }
        let flushed = Task { try await nc.flush(timeout: .seconds(20)) }
        try await server.start()
        #expect(await eventually(10) { nc.isConnected })
        try await flushed.value
        #expect(await eventually(5) { log.count(.reconnected) == 1 })
        try nc.publish("r.after", payload: "x")
        let got = try await withDeadline(10) { () -> [String] in
            var all: [String] = []
            for await m in sub {
                all.append("\(m.subject)=\(m.string)")
                if all.count == 12 { break }
            }
            return all
        }
        #expect(got == ["r.before=1"] + (0..<10).map { "r.during=\($0)" } + ["r.after=x"])
        // The shared request inbox and queue subscriptions work again.
        let reply = try await nc.request("svc", payload: "ping", timeout: .seconds(5))
        #expect(reply.string == "pong")
    }

    @Test func unansweredPingsMarkTheConnectionStale() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect {
            $0.pingInterval = .milliseconds(200)
            $0.maxPingsOutstanding = 2
        }
        defer { Task { await nc.close() } }
        let log = EventLog(nc)
        let sub = try await nc.subscribe("alive")
        try await nc.flush()
        server.pause()
        #expect(await eventually(10) { log.count(.disconnected) == 1 })
        #expect(nc.lastError == .timeout)
        server.resume()
        #expect(await eventually(15) { log.count(.reconnected) >= 1 && nc.isConnected })
        try nc.publish("alive", payload: "again")
        let got = try await withDeadline(5) { () -> String in
            for await m in sub { return m.string }
            return ""
        }
        #expect(got == "again")
    }

    @Test func reconnectBufferLimitAndGivingUp() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect {
            $0.reconnectBufferSize = 1024
            $0.maxReconnectAttempts = 3
        }
        let log = EventLog(nc)
        server.stop()
        #expect(await eventually(5) { !nc.isConnected })
        try nc.publish("small", payload: "fits")
        #expect(throws: NATSError.self) {
            try nc.publish("big", payload: ByteBuffer(repeating: 1, count: 2048))
        }
        do {
            try nc.publish("big", payload: ByteBuffer(repeating: 1, count: 2048))
        } catch let e as NATSError {
            guard case .reconnectBufferExceeded(_, let max) = e else { Issue.record("wrong error \(e)"); return }
            #expect(max == 1024)
        }
        // No server comes back: after 3 attempts the connection closes for good.
        #expect(await eventually(10) { nc.isClosed })
        #expect(await eventually(2) { log.count(.closed) == 1 })
    }

    @Test func jetStreamAndKVWatchSurviveServerRestart() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        let kv = try await js.createKeyValue(bucket: "nodes", history: 10)
        for i in 0..<5 { try await kv.put("n\(i)", "v0") }

        let watcher = kv.watch()
        let collected = WatchLog()
        let watchTask = Task {
            do {
                for try await event in watcher { collected.add(event) }
            } catch { collected.fail(error) }
        }
        defer { watchTask.cancel(); watcher.stop() }
        #expect(await eventually(10) { collected.done })

        // Writes acked before, during (retried with the same msg id) and after the restart.
        var acked: [UInt64] = []
        for i in 0..<5 { acked.append(try await kv.put("n\(i)", "v1")) }
        server.stop()
        #expect(await eventually(5) { !nc.isConnected })
        let during = Task { () -> [UInt64] in
            var seqs: [UInt64] = []
            for i in 0..<5 {
                let id = "restart-\(i)"
                while true {
                    do {
                        let ack = try await js.publish("$KV.nodes.n\(i)", payload: "v2",
                                                       options: PublishOptions(msgId: id, timeout: .seconds(2)))
                        seqs.append(ack.seq)
                        break
                    } catch {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            return seqs
        }
        try await Task.sleep(for: .milliseconds(300))
        try await server.start()
        acked += try await withDeadline(30) { try await during.value }
        for i in 0..<5 { acked.append(try await kv.put("n\(i)", "v3")) }

        // The watch sees every acked revision exactly once, in order.
        #expect(await eventually(20) { Set(collected.revisions).isSuperset(of: acked) })
        let revisions = collected.revisions
        #expect(revisions == revisions.sorted(), "revisions out of order")
        #expect(Set(revisions).count == revisions.count, "duplicate revisions: \(revisions)")
        #expect(collected.error == nil)
        // The stream holds each acked write once (5 initial + 15).
        let info = try await js.streamInfo("KV_nodes")
        #expect(info.state.messages == 20)
        #expect(Set(acked).count == acked.count)
        for i in 0..<5 { #expect(try await kv.get("n\(i)")?.string == "v3") }
    }
}

/// What a background KV watch has seen.
final class WatchLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [KVEntry] = []
    private var initialDone = false
    private var failure: Error?

    func add(_ event: KVWatchEvent) {
        lock.withLock {
            switch event {
            case .entry(let e): entries.append(e)
            case .initialValuesDone: initialDone = true
            }
        }
    }

    func fail(_ error: Error) { lock.withLock { failure = error } }
    var done: Bool { lock.withLock { initialDone } }
    var revisions: [UInt64] { lock.withLock { entries.map(\.revision) } }
    var error: Error? { lock.withLock { failure } }
}
