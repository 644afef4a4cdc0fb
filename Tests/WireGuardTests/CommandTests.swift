import Testing
@testable import WireGuard

@Suite struct CommandTests {
    @Test func returnsOutputAndStatus() throws {
        let output = try Command.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(output.status == 3)
        #expect(output.stdout == "out\n")
        #expect(output.stderr == "err")
    }

    @Test func feedsStandardInput() throws {
        #expect(try Command.run("/bin/cat", [], stdin: "secret\n").stdout == "secret\n")
    }

    @Test func killsACommandThatOverrunsItsTimeout() {
        #expect(throws: CommandError(command: "/bin/sleep 30", reason: .timedOut(.milliseconds(200)))) {
            try Command.run("/bin/sleep", ["30"], timeout: .milliseconds(200))
        }
    }

    @Test func reportsACommandThatCannotStart() {
        #expect(throws: CommandError.self) { try Command.run("/nonexistent/tool", []) }
    }

    @Test func checkTurnsAFailureIntoTheCallersError() {
        #expect(throws: LinkError(command: "/bin/sh -c exit 4", status: 4, stderr: "")) {
            try Command.check("/bin/sh", ["-c", "exit 4"]) { LinkError(command: $0, status: $1, stderr: $2) }
        }
    }
}
