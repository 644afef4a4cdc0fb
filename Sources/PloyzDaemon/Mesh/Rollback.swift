/// The undo log of one mesh start attempt. Each phase records how to undo each change it made
/// right after making it, so a failure anywhere (even halfway through a phase) undoes exactly
/// what this attempt did, newest first. Things a phase found already in place (an adopted
/// sidecar, an address that was there) are not recorded, so they are left alone.
final class Rollback {
    struct Step {
        let label: String
        let action: () async -> Void
    }

    private(set) var steps: [Step] = []

    func record(_ label: String, _ action: @escaping () async -> Void) {
        steps.append(Step(label: label, action: action))
    }

    /// Runs the undo steps newest first and forgets them; returns their labels in the order run.
    @discardableResult
    func unwind() async -> [String] {
        let toRun = steps.reversed()
        steps.removeAll()
        for step in toRun { await step.action() }
        return toRun.map(\.label)
    }

    /// Keeps the changes: the attempt succeeded.
    func commit() { steps.removeAll() }
}

/// A phase of `mesh start` failed; says which and why.
struct PhaseFailure: Error, CustomStringConvertible {
    let phase: MeshPhase
    let reason: String
    var description: String { "\(phase.rawValue): \(reason)" }
}

/// Runs the start phases in order, telling `enter` each phase as it begins. On the first failure
/// it unwinds the rollback (newest change first) and throws which phase failed.
enum PhaseRunner {
    struct Phase {
        let phase: MeshPhase
        let run: (Rollback) async throws -> Void
    }

    static func run(_ phases: [Phase], rollback: Rollback, enter: (MeshPhase) async -> Void) async throws {
        for phase in phases {
            await enter(phase.phase)
            do {
                try await phase.run(rollback)
            } catch {
                await rollback.unwind()
                throw PhaseFailure(phase: phase.phase, reason: oneLine(error))
            }
        }
        rollback.commit()
    }

    /// Error text on one line, for API messages.
    static func oneLine(_ error: Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
