import Foundation

/// One line a container wrote, without its newline.
public struct LogLine: Sendable, Hashable {
    public enum Stream: String, Sendable, Hashable {
        case stdout, stderr
    }

    public var stream: Stream
    public var text: String
    /// When the engine received it (nil when it did not say).
    public var time: Date?

    public init(stream: Stream, text: String, time: Date? = nil) {
        self.stream = stream
        self.text = text
        self.time = time
    }

    /// Splits Docker's timestamp prefix (`2026-12-07T23:59:59.123456789Z text`) off a line.
    public static func timestamped(stream: Stream, _ raw: String) -> LogLine {
        guard let space = raw.firstIndex(of: " "), let time = parseTime(raw[..<space]) else { return LogLine(stream: stream, text: raw) }
        return LogLine(stream: stream, text: String(raw[raw.index(after: space)...]), time: time)
    }

    /// RFC 3339 UTC with up to nanoseconds, as Docker writes it.
    static func parseTime(_ text: Substring) -> Date? {
        guard text.hasSuffix("Z") else { return nil }
        let body = text.dropLast()
        let (whole, fraction) = body.firstIndex(of: ".").map { (body[..<$0], body[body.index(after: $0)...]) } ?? (body, "")
        guard let seconds = ISO8601DateFormatter().date(from: whole + "Z") else { return nil }
        guard !fraction.isEmpty else { return seconds }
        guard fraction.allSatisfy(\.isNumber), let value = Double("0." + fraction) else { return nil }
        return seconds.addingTimeInterval(value)
    }
}
