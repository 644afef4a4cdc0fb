import Foundation
import Testing
@testable import PloyzDaemon

@Suite struct ProcessStatTests {
    @Test func parsesStateAndStartTime() {
        let line = "1234 (nats-server) S 1 1234 1234 0 -1 4194560 1000 0 0 0 5 3 0 0 20 0 12 0 987654 123456789 3000 18446744073709551615"
        let stat = ProcessStat.parse(line)
        #expect(stat == ProcessStat(pid: 1234, state: "S", startTime: 987654))
    }

    @Test func commandWithSpacesAndParentheses() {
        let line = "77 (a) b (c)) Z 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0"
        let stat = ProcessStat.parse(line)
        #expect(stat?.state == "Z")
        #expect(stat?.startTime == 4242)
        #expect(stat?.isAlive == false)
    }

    @Test func rejectsTruncatedText() {
        #expect(ProcessStat.parse("12 (x) S 1 2 3") == nil)
        #expect(ProcessStat.parse("garbage") == nil)
    }

    @Test func readsItself() {
        let stat = ProcessStat.read(pid: getpid())
        #expect(stat?.pid == getpid())
        #expect(stat?.isAlive == true)
        #expect((stat?.startTime ?? 0) > 0)
    }
}

@Suite struct SidecarSpecTests {
    let spec = SidecarSpec(name: "nats-server", executable: "/usr/sbin/nats-server", arguments: ["-c", "/run/x.conf"],
                           environment: ["B": "2", "A": "1"], configFiles: ["/run/x.conf"])

    @Test func equalSpecsHashEqual() {
        let contents = ["/run/x.conf": Data("listen: 1".utf8)]
        #expect(spec.hash(configContents: contents) == spec.hash(configContents: contents))
        #expect(spec.hash(configContents: contents).count == 64)
    }

    @Test func everyPartChangesTheHash() {
        let contents = ["/run/x.conf": Data("listen: 1".utf8)]
        let base = spec.hash(configContents: contents)
        var other = spec
        other.executable = "/usr/bin/nats-server"
        #expect(other.hash(configContents: contents) != base)
        other = spec
        other.arguments = ["-c", "/run/y.conf"]
        #expect(other.hash(configContents: contents) != base)
        other = spec
        other.environment["A"] = "3"
        #expect(other.hash(configContents: contents) != base)
        #expect(spec.hash(configContents: ["/run/x.conf": Data("listen: 2".utf8)]) != base)
    }

    @Test func argumentBoundariesMatter() {
        var a = spec
        a.arguments = ["ab", "c"]
        var b = spec
        b.arguments = ["a", "bc"]
        #expect(a.hash(configContents: [:]) != b.hash(configContents: [:]))
    }
}

@Suite struct RollbackTests {
    final class Log: @unchecked Sendable { var entries: [String] = [] }

    @Test func unwindsNewestFirst() async {
        let log = Log()
        let rollback = Rollback()
        rollback.record("device") { log.entries.append("device") }
        rollback.record("address") { log.entries.append("address") }
        rollback.record("nats") { log.entries.append("nats") }
        let labels = await rollback.unwind()
        #expect(labels == ["nats", "address", "device"])
        #expect(log.entries == ["nats", "address", "device"])
        #expect(rollback.steps.isEmpty)
    }

    struct Boom: Error, CustomStringConvertible { var description: String { "port in use" } }

    @Test func failingPhaseUndoesEarlierPhasesAndNamesItself() async {
        let log = Log()
        let rollback = Rollback()
        var entered: [MeshPhase] = []
        let phases: [PhaseRunner.Phase] = [
            .init(phase: .wireguard) { rb in rb.record("wireguard") { log.entries.append("undo wireguard") } },
            .init(phase: .store) { rb in
                rb.record("store half") { log.entries.append("undo store half") }
                throw Boom()
            },
            .init(phase: .publish) { _ in log.entries.append("publish ran") },
        ]
        do {
            try await PhaseRunner.run(phases, rollback: rollback) { entered.append($0) }
            Issue.record("expected a failure")
        } catch let failure as PhaseFailure {
            #expect(failure.phase == .store)
            #expect(failure.description == "store: port in use")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(entered == [.wireguard, .store])
        #expect(log.entries == ["undo store half", "undo wireguard"])
    }

    @Test func successKeepsEverything() async throws {
        let log = Log()
        let rollback = Rollback()
        try await PhaseRunner.run([.init(phase: .wireguard) { rb in rb.record("x") { log.entries.append("x") } }], rollback: rollback) { _ in }
        #expect(rollback.steps.isEmpty)
        #expect(log.entries.isEmpty)
    }
}
