import Foundation
import NIOCore
import Testing
@testable import NATSClient

@Suite(.serialized) struct CoreTests {
    @Test func publishSubscribeWithHeaders() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        #expect(nc.serverInfo.version == "2.9.10")
        let sub = try await nc.subscribe("greet.*")
        try await nc.flush()
        var headers = NATSHeaders()
        headers.append("X-One", "1")
        headers.append("X-One", "2")
        try nc.publish("greet.a", payload: "hello")
        try nc.publish("greet.b", payload: [1, 2, 3], reply: "answer.here", headers: headers)
        try nc.publish("other", payload: "ignored")
        let got = try await withDeadline(5) {
            var it = sub.makeAsyncIterator()
            return [await it.next(), await it.next()]
        }
        #expect(got[0]?.subject == "greet.a")
        #expect(got[0]?.string == "hello")
        #expect(got[0]?.headers == nil)
        #expect(got[1]?.bytes == [1, 2, 3])
        #expect(got[1]?.reply == "answer.here")
        #expect(got[1]?.headers?.values("x-one") == ["1", "2"])
    }

    @Test func manyPublishesArriveInOrder() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let sub = try await nc.subscribe("count")
        try await nc.flush()
        let n = 20_000
        for i in 0..<n { try nc.publish("count", payload: String(i)) }
        try await nc.flush()
        let received = try await withDeadline(10) {
            var expected = 0
            for await m in sub {
                guard m.string == String(expected) else { return expected }
                expected += 1
                if expected == n { break }
            }
            return expected
        }
        #expect(received == n)
    }

    @Test func queueGroupDeliversEachMessageOnce() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let a = try await nc.subscribe("work", queue: "workers")
        let b = try await nc.subscribe("work", queue: "workers")
        try await nc.flush()
        for i in 0..<100 { try nc.publish("work", payload: String(i)) }
        try await nc.flush()
        try await nc.flush()
        let countA = CounterBox(), countB = CounterBox()
        let ta = Task { for await _ in a { countA.increment() } }
        let tb = Task { for await _ in b { countB.increment() } }
        defer { ta.cancel(); tb.cancel() }
        #expect(await eventually(10) { countA.value + countB.value == 100 })
        try await nc.flush()
        #expect(countA.value + countB.value == 100)
        #expect(countA.value > 0 && countB.value > 0)
    }

    @Test func autoUnsubscribeAfterN() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let sub = try await nc.subscribe("limited")
        try sub.unsubscribe(after: 3)
        try await nc.flush()
        for i in 0..<10 { try nc.publish("limited", payload: String(i)) }
        try await nc.flush()
        let got = try await withDeadline(5) {
            var all: [String] = []
            for await m in sub { all.append(m.string) }  // ends by itself after 3
            return all
        }
        #expect(got == ["0", "1", "2"])
    }

    @Test func droppedSubscriptionUnsubscribes() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        do {
            let sub = try await nc.subscribe("dropped")
            #expect(sub.subject == "dropped")
            #expect(nc.state.withLockedValue { $0.subscriptions.count } == 1)
        }
        #expect(nc.state.withLockedValue { $0.subscriptions.count } == 0)
        // While an iterator is alive the subscription stays, even without a reference to it.
        let iterating = Task { () -> String? in
            var it = try await nc.subscribe("kept").makeAsyncIterator()
            return await it.next()?.string
        }
        #expect(await eventually(5) { nc.state.withLockedValue { $0.subscriptions.count } == 1 })
        try await nc.flush()
        try nc.publish("kept", payload: "still here")
        let kept = try await withDeadline(5) { try await iterating.value }
        #expect(kept == "still here")
    }

    @Test func unsubscribeEndsTheSequence() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let sub = try await nc.subscribe("x")
        try sub.unsubscribe()
        let ended = try await withDeadline(5) {
            for await _ in sub { return false }
            return true
        }
        #expect(ended)
    }

    @Test func requestReplyNoRespondersAndTimeout() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let service = try await nc.subscribe("svc.echo")
        let silent = try await nc.subscribe("svc.silent")
        _ = silent
        let responder = Task {
            for await m in service {
                if let reply = m.reply { try? nc.publish(reply, payload: m.payload, headers: m.headers) }
            }
        }
        defer { responder.cancel() }
        try await nc.flush()
        for i in 0..<50 {
            let r = try await nc.request("svc.echo", payload: "ping \(i)", timeout: .seconds(2))
            #expect(r.string == "ping \(i)")
        }
        // Concurrent requests each get their own answer.
        let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                group.addTask {
                    let r = try await nc.request("svc.echo", payload: "c\(i)", timeout: .seconds(2))
                    return r.string == "c\(i)"
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(answers == 20)
        await #expect(throws: NATSError.noResponders) {
            _ = try await nc.request("nobody.home", payload: "x", timeout: .seconds(2))
        }
        await #expect(throws: NATSError.timeout) {
            _ = try await nc.request("svc.silent", payload: "x", timeout: .milliseconds(200))
        }
        #expect(NATSError.noResponders.description.contains("no responders"))

        // The timeout renewed the response subscription (a cluster can lose interest in it);
        // a late reply to the old subscription's request is dropped, and requests still work.
        let renewed = nc.state.withLockedValue { ($0.responseSid, $0.previousResponseSid) }
        #expect(renewed.0 != nil && renewed.1 != nil && renewed.0 != renewed.1)
        for i in 0..<5 {
            let r = try await nc.request("svc.echo", payload: "after \(i)", timeout: .seconds(2))
            #expect(r.string == "after \(i)")
        }
    }

    @Test func maxPayloadExceededThrowsBeforeSending() async throws {
        let server = try await TestServer(jetStream: false, extraArgs: [])
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let max = nc.serverInfo.maxPayload
        #expect(max == 1024 * 1024)
        let big = ByteBuffer(repeating: 0, count: max + 1)
        #expect(throws: NATSError.maxPayloadExceeded(size: max + 1, max: max)) {
            try nc.publish("big", payload: big)
        }
        // A payload of exactly max_payload still goes through and arrives intact.
        let sub = try await nc.subscribe("big")
        try await nc.flush()
        try nc.publish("big", payload: ByteBuffer(repeating: 7, count: max))
        let size = try await withDeadline(5) {
            for await m in sub { return m.payload.readableBytes }
            return -1
        }
        #expect(size == max)
        #expect(nc.isConnected)
    }

    @Test func wrongPasswordFailsFastWithAuthorizationViolation() async throws {
        let server = try await TestServer(jetStream: false, extraArgs: ["--user", "alice", "--pass", "s3cret"])
        defer { server.shutdown() }
        let error = await #expect(throws: NATSError.self) {
            _ = try await server.connect { $0.user = "alice"; $0.password = "wrong" }
        }
        #expect(error == .authorizationViolation)
        #expect(error?.description == "nats: authorization violation: the server rejected the user/password or token")
        let ok = try await server.connect { $0.user = "alice"; $0.password = "s3cret" }
        try await ok.flush()
        await ok.close()
        let viaURL = try await NATSConnection.connect(NATSOptions(servers: ["nats://alice:s3cret@127.0.0.1:\(server.port)"]))
        try await viaURL.flush()
        await viaURL.close()
    }

    @Test func tokenAuth() async throws {
        let server = try await TestServer(jetStream: false, extraArgs: ["--auth", "tok123"])
        defer { server.shutdown() }
        await #expect(throws: NATSError.authorizationViolation) {
            _ = try await server.connect { $0.token = "nope" }
        }
        let nc = try await server.connect { $0.token = "tok123" }
        try await nc.flush()
        await nc.close()
    }

    @Test func connectsOverIPv6() async throws {
        let server = try await TestServer(jetStream: false, host: "::1")
        defer { server.shutdown() }
        #expect(server.url == "nats://[::1]:\(server.port)")
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let sub = try await nc.subscribe("v6")
        try await nc.flush()
        try nc.publish("v6", payload: "over ipv6")
        let got = try await withDeadline(5) { () -> String in
            for await m in sub { return m.string }
            return ""
        }
        #expect(got == "over ipv6")
    }

    @Test func connectToNothingFails() async throws {
        let port = try TestServer.freePort()
        await #expect(throws: NATSError.self) {
            _ = try await NATSConnection.connect(NATSOptions(servers: ["nats://127.0.0.1:\(port)"]))
        }
        await #expect(throws: NATSError.invalidServerURL("bogus://x")) {
            _ = try await NATSConnection.connect(NATSOptions(servers: ["bogus://x"]))
        }
    }

    @Test func closeFailsPendingWorkAndEndsSubscriptions() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        let events = nc.events()
        let silent = try await nc.subscribe("silent")
        let pending = Task { try await nc.request("silent", payload: "x", timeout: .seconds(30)) }
        try await nc.flush()
        try await Task.sleep(for: .milliseconds(50))
        await nc.close()
        await #expect(throws: NATSError.connectionClosed) { _ = try await pending.value }
        // The request itself was delivered (echo); after it the sequence must end.
        let delivered = try await withDeadline(5) {
            var n = 0
            for await _ in silent { n += 1 }
            return n
        }
        #expect(delivered == 1)
        #expect(throws: NATSError.connectionClosed) { try nc.publish("x", payload: "y") }
        await #expect(throws: NATSError.connectionClosed) { try await nc.flush() }
        let seen = try await withDeadline(5) {
            var all: [NATSConnectionEvent] = []
            for await e in events { all.append(e) }
            return all
        }
        #expect(seen == [.closed])
    }

    @Test func drainDeliversInFlightMessagesThenCloses() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect()
        let pub = try await server.connect()
        defer { Task { await pub.close() } }
        let sub = try await nc.subscribe("d")
        try await nc.flush()
        for i in 0..<500 { try pub.publish("d", payload: String(i)) }
        try await pub.flush()
        let counter = Task {
            var n = 0
            for await _ in sub { n += 1 }
            return n
        }
        try await nc.drain()
        let n = try await withDeadline(5) { await counter.value }
        #expect(n == 500)
        #expect(nc.isClosed)
    }

    @Test func serverClosingMidFrameDoesNotHangRequests() async throws {
        let server = try await TestServer(jetStream: false)
        defer { server.shutdown() }
        let nc = try await server.connect { $0.maxReconnectAttempts = 1 }
        let sub = try await nc.subscribe("never")
        _ = sub
        try await nc.flush()
        let pending = Task { try await nc.request("never", payload: "x", timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(100))
        server.stop()
        let result = try await withDeadline(10) { () -> String in
            do { _ = try await pending.value; return "answered" } catch { return "\(error)" }
        }
        #expect(result == NATSError.connectionClosed.description)
        #expect(nc.isClosed)
    }
}

final class CounterBox: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
