import Foundation

/// The fields of `/proc/<pid>/stat` the supervisor needs. The start time (field 22, clock ticks
/// since boot) tells a process from a later one that got the same pid.
public struct ProcessStat: Equatable, Sendable {
    public var pid: Int32
    /// One letter: R, S, D, Z (zombie), T, ...
    public var state: Character
    public var startTime: UInt64

    /// Parses the file's text. The command name (field 2) is in parentheses and may itself hold
    /// spaces and parentheses, so the fields are counted from the last `)`.
    public static func parse(_ text: String) -> ProcessStat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
              let pid = Int32(text[..<open].trimmingCharacters(in: .whitespaces)) else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // rest[0] is field 3 (state), so field 22 is rest[19].
        guard rest.count > 19, let state = rest[0].first, rest[0].count == 1, let start = UInt64(rest[19]) else { return nil }
        return ProcessStat(pid: pid, state: state, startTime: start)
    }

    /// Reads the live process's stat; nil when there is no such process.
    public static func read(pid: Int32) -> ProcessStat? {
        guard pid > 0, let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let text = String(data: data, encoding: .utf8) else { return nil }
        return parse(text)
    }

    /// True when the process runs (or sleeps): a zombie has exited and only waits to be reaped.
    public var isAlive: Bool { state != "Z" && state != "X" }
}
