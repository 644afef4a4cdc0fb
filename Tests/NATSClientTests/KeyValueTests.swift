import Foundation
import NIOCore
import Testing
@testable import NATSClient

@Suite(.serialized) struct KeyValueTests {
    /// The leader-read listing: every key's latest live value, deleted and purged keys left out,
    /// across more subjects than one page holds, with and without direct reads.
    @Test func currentEntriesListsLiveKeysFromTheLeader() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        for direct in [true, false] {
            let kv = try await js.createKeyValue(KeyValueConfig(bucket: "list\(direct)", history: 3, allowDirect: direct))
            #expect(try await js.streamInfo("KV_list\(direct)").config.allowDirect == direct)
            #expect(try await kv.currentEntries().isEmpty)
            for i in 0..<300 { try await kv.put("k.\(i)", "v\(i)") }
            try await kv.put("k.7", "latest")
            try await kv.delete("k.8")
            try await kv.purge("k.9")
            let entries = try await kv.currentEntries()
            #expect(entries.count == 298)
            let values = Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.string) })
            #expect(values["k.7"] == "latest" && values["k.299"] == "v299")
            #expect(values["k.8"] == nil && values["k.9"] == nil)
        }
        await #expect(throws: NATSError.bucketNotFound("absent")) {
            _ = try await KeyValue(bucket: "absent", js: js, allowDirect: false).currentEntries()
        }
    }

    @Test func putGetCreateUpdateDeletePurge() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        let kv = try await js.createKeyValue(bucket: "config", history: 5)
        let info = try await js.streamInfo("KV_config")
        #expect(info.config.subjects == ["$KV.config.>"])
        #expect(info.config.maxMsgsPerSubject == 5)
        #expect(info.config.allowRollupHeaders && info.config.denyDelete && info.config.allowDirect)
        #expect(info.config.discard == .new)

        #expect(try await kv.get("missing") == nil)
        let r1 = try await kv.put("a.b", "one")
        let e1 = try #require(try await kv.get("a.b"))
        #expect(e1.string == "one" && e1.revision == r1 && e1.key == "a.b" && e1.operation == .put)
        #expect(abs(e1.created!.timeIntervalSinceNow) < 60)
        let r2 = try await kv.put("a.b", Data("two".utf8))
        #expect(r2 > r1)
        #expect(try await kv.get("a.b", revision: r1)?.string == "one")

        // create: only when absent.
        let c1 = try await kv.create("fresh", "new")
        await #expect(throws: NATSError.keyExists(key: "fresh")) { try await kv.create("fresh", "again") }
        // update: compare-and-set on the revision.
        let u1 = try await kv.update("fresh", "v2", revision: c1)
        await #expect(throws: NATSError.wrongLastRevision(expected: c1, actual: u1)) {
            try await kv.update("fresh", "stale", revision: c1)
        }
        #expect(try await kv.get("fresh")?.string == "v2")

        // delete keeps history and allows create again (like the Go client).
        try await kv.delete("fresh")
        #expect(try await kv.get("fresh") == nil)
        let recreated = try await kv.create("fresh", "reborn")
        #expect(try await kv.get("fresh")?.revision == recreated)

        // purge removes the history.
        try await kv.purge("a.b")
        #expect(try await kv.get("a.b") == nil)
        let hist = try await kv.history("a.b")
        #expect(hist.map(\.operation) == [.purge])
        _ = try await kv.create("a.b", "after purge")

        let bound = try await js.keyValue("config")
        #expect(try await bound.get("a.b")?.string == "after purge")
        await #expect(throws: NATSError.bucketNotFound("nope")) { _ = try await js.keyValue("nope") }
        try await js.deleteKeyValue("config")
        await #expect(throws: NATSError.bucketNotFound("config")) { _ = try await js.keyValue("config") }
    }

    @Test func keysAndHistory() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let kv = try await nc.jetStream().createKeyValue(bucket: "hist", history: 3)
        #expect(try await kv.keys().isEmpty)
        for i in 1...5 { try await kv.put("k1", "v\(i)") }
        try await kv.put("k2", "x")
        try await kv.put("k3", "y")
        try await kv.delete("k3")
        #expect(try await kv.keys().sorted() == ["k1", "k2"])
        let h = try await kv.history("k1")
        #expect(h.map(\.string) == ["v3", "v4", "v5"])
        #expect(h.map(\.revision) == h.map(\.revision).sorted())
        #expect(try await kv.history("never").isEmpty)
    }

    @Test func validation() async throws {
        #expect(throws: NATSError.invalidBucketName("bad.name")) { try KeyValue.validateBucket("bad.name") }
        #expect(throws: NATSError.invalidBucketName("")) { try KeyValue.validateBucket("") }
        try KeyValue.validateBucket("Good_name-1")
        for bad in [".lead", "trail.", "sp ace", "st*r", "gt>", "", "uni¢ode"] {
            #expect(throws: NATSError.invalidKey(bad)) { try KeyValue.validateKey(bad) }
        }
        for good in ["a", "a.b", "sub/net=10.0.0.0_24", "A-Z"] { try KeyValue.validateKey(good) }
        try KeyValue.validateKey("a.*", allowWildcards: true)
        #expect(NATSError.invalidKey("x y").description
            == "nats: kv: invalid key \"x y\": allowed characters are [-/_=.a-zA-Z0-9], no leading or trailing dot")
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let js = nc.jetStream()
        await #expect(throws: NATSError.invalidBucketName("a b")) { _ = try await js.createKeyValue(bucket: "a b") }
        let kv = try await js.createKeyValue(bucket: "v", maxValueSize: 16)
        await #expect(throws: NATSError.invalidKey("bad key")) { try await kv.put("bad key", "x") }
        // A value above max_value_size is refused by the server.
        await #expect(throws: NATSError.self) { try await kv.put("big", String(repeating: "x", count: 64)) }
    }

    @Test func watchDeliversCurrentValuesThenMarkerThenUpdates() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let kv = try await nc.jetStream().createKeyValue(bucket: "w", history: 5)
        try await kv.put("svc.a", "a1")
        try await kv.put("svc.a", "a2")
        try await kv.put("svc.b", "b1")
        try await kv.put("other", "o")
        let watcher = kv.watch("svc.>")
        let events = try await withDeadline(10) { () -> [String] in
            var seen: [String] = []
            for try await event in watcher {
                switch event {
                case .entry(let e): seen.append("\(e.key)=\(e.string)/\(e.operation.rawValue)")
                case .initialValuesDone:
                    seen.append("DONE")
                    try await kv.put("svc.c", "c1")
                    try await kv.delete("svc.a")
                    try await kv.put("other", "ignored")
                }
                if seen.count == 5 { break }
            }
            return seen
        }
        #expect(events == ["svc.a=a2/PUT", "svc.b=b1/PUT", "DONE", "svc.c=c1/PUT", "svc.a=/DEL"])
        watcher.stop()

        // An empty bucket: the marker comes first.
        let empty = try await nc.jetStream().createKeyValue(bucket: "empty")
        let first = try await withDeadline(10) { () -> String in
            for try await event in empty.watch() {
                if case .initialValuesDone = event { return "DONE" }
                return "entry"
            }
            return "ended"
        }
        #expect(first == "DONE")

        // includeHistory replays every value.
        let all = try await withDeadline(10) { () -> [String] in
            var seen: [String] = []
            for try await event in kv.watch("svc.a", includeHistory: true) {
                guard case .entry(let e) = event else { break }
                seen.append(e.string)
            }
            return seen
        }
        #expect(all == ["a1", "a2", ""])
    }

    @Test func concurrentCompareAndSetHasExactlyOneWinner() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc1 = try await server.connect()
        let nc2 = try await server.connect()
        defer { Task { await nc1.close(); await nc2.close() } }
        let kv1 = try await nc1.jetStream().createKeyValue(bucket: "cas")
        let kv2 = try await nc2.jetStream().keyValue("cas")
        for round in 0..<20 {
            let rev = try await kv1.put("lock", "base\(round)")
            let results = await withTaskGroup(of: Bool.self) { group in
                group.addTask { (try? await kv1.update("lock", "writer1", revision: rev)) != nil }
                group.addTask { (try? await kv2.update("lock", "writer2", revision: rev)) != nil }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1, "round \(round)")
            let winner = try await kv1.get("lock")
            #expect(winner?.string == "writer1" || winner?.string == "writer2")
            #expect(winner?.revision == rev + 1)
        }
        // Two creators of the same key: exactly one wins.
        let creates = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await kv1.create("subnet.10.0.1.0", "node1")) != nil }
            group.addTask { (try? await kv2.create("subnet.10.0.1.0", "node2")) != nil }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(creates.filter { $0 }.count == 1)
    }

    @Test func ttlExpiresValues() async throws {
        let server = try await TestServer()
        defer { server.shutdown() }
        let nc = try await server.connect()
        defer { Task { await nc.close() } }
        let kv = try await nc.jetStream().createKeyValue(bucket: "leases", ttl: .seconds(1), storage: .memory)
        try await kv.put("lease", "held")
        #expect(try await kv.get("lease")?.string == "held")
        #expect(try await eventually(5) { try await kv.get("lease") == nil })
    }
}
