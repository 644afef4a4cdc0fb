import Foundation

/// Runs programs for test fixtures, each bounded in time.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `arguments` (the first is the program, looked up in PATH) and returns its stdout;
    /// throws with its stderr when it exits non-zero or outlives `timeout` seconds (then it is killed).
    @discardableResult
    public static func run(_ arguments: [String], timeout: Double = 30) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes while it runs, so a chatty program cannot block on a full pipe.
        let collected = CollectedOutput()
        let group = DispatchGroup()
        for (pipe, isError) in [(output, false), (errors, true)] {
            group.enter()
            DispatchQueue.global().async {
                collected.store(pipe.fileHandleForReading.readDataToEndOfFile(), isError: isError)
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = group.wait(timeout: .now() + 2)
            throw Failure(description: "\(arguments.joined(separator: " ")): still running after \(timeout) s, killed")
        }
        process.waitUntilExit()
        _ = group.wait(timeout: .now() + 5)
        guard process.terminationStatus == 0 else {
            let message = collected.errors.trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(description: "\(arguments.joined(separator: " ")): exit \(process.terminationStatus): \(message)")
        }
        return collected.output
    }
}

private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data(), err = Data()

    func store(_ data: Data, isError: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isError { err = data } else { out = data }
    }

    var output: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    var errors: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }
}
