import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A command that could not run to its end: it could not start, or ran past its timeout and was killed.
/// (A command that ran and exited non-zero is reported by its caller's own error type.)
public struct CommandError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case timedOut(Duration)
        case launchFailed(String)
    }

    public let command: String
    public let reason: Reason

    public var description: String {
        switch reason {
        case .timedOut(let limit):
            return "`\(command)` did not finish within \(limit) and was killed"
        case .launchFailed(let why):
            return "`\(command)` could not be started (is it installed?): \(why)"
        }
    }
}

/// What a finished command printed.
struct CommandOutput: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs short-lived commands (`ip`, `wg`) with a hard timeout, so a stuck tool never hangs its caller.
enum Command {
    static let defaultTimeout: Duration = .seconds(10)

    /// Runs `executable` and returns its output whatever the exit status; throws only on launch
    /// failure or timeout (the child is then killed).
    static func run(
        _ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Duration = defaultTimeout
    ) throws -> CommandOutput {
        let display = ([executable] + arguments).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        if let stdin {
            process.standardInput = try inputPipe(holding: stdin, display: display)
        } else {
            process.standardInput = FileHandle.nullDevice
        }

        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch {
            throw CommandError(command: display, reason: .launchFailed("\(error)"))
        }
        // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
        let out = PipeReader(outPipe.fileHandleForReading)
        let err = PipeReader(errPipe.fileHandleForReading)

        if exited.wait(timeout: .now() + timeout.timeInterval) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 2)
            throw CommandError(command: display, reason: .timedOut(timeout))
        }
        return CommandOutput(
            status: process.terminationStatus,
            stdout: out.collect(within: 2),
            stderr: err.collect(within: 2).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A pipe already holding `text` and closed for writing. Filling it before the child starts
    /// means a child that exits without reading can never cause SIGPIPE in this process.
    private static func inputPipe(holding text: String, display: String) throws -> Pipe {
        let bytes = Data(text.utf8)
        // Stays well inside the kernel's 64 KiB pipe buffer, so the write cannot block.
        guard bytes.count <= 32 * 1024 else {
            throw CommandError(command: display, reason: .launchFailed("standard input of \(bytes.count) bytes exceeds 32 KiB"))
        }
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(bytes)
        try pipe.fileHandleForWriting.close()
        return pipe
    }

    /// Runs the command and returns stdout; a non-zero exit becomes the error `failure` makes
    /// from (command line, status, stderr).
    @discardableResult
    static func check(
        _ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Duration = defaultTimeout,
        failure: (String, Int32, String) -> any Error
    ) throws -> String {
        let output = try run(executable, arguments, stdin: stdin, timeout: timeout)
        guard output.status == 0 else {
            throw failure(([executable] + arguments).joined(separator: " "), output.status, output.stderr)
        }
        return output.stdout
    }
}

/// Reads a pipe to its end on a background thread; `collect` waits a bounded time for it, because
/// a grandchild that inherited the pipe could keep it open forever.
private final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    func collect(within seconds: Double) -> String {
        guard done.wait(timeout: .now() + seconds) == .success else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension Duration {
    /// Seconds as a floating-point number, for Dispatch and socket timeouts.
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
