import Foundation

/// Bytes of a streamed body in, whole elements out.
protocol StreamDecoder: Sendable {
    associatedtype Element: Sendable
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Element]
    /// What is left when the body ends.
    mutating func finish() -> [Element]
}

/// Docker's event stream: one JSON object per line; only the events the runtime reports come out.
struct EventDecoder: StreamDecoder {
    private var splitter = LineSplitter()

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [ContainerEvent] {
        splitter.feed(bytes).compactMap(Self.decode)
    }

    mutating func finish() -> [ContainerEvent] {
        splitter.finish().flatMap(Self.decode).map { [$0] } ?? []
    }

    private static func decode(_ line: [UInt8]) -> ContainerEvent? {
        (try? JSONDecoder().decode(DockerWire.Event.self, from: Data(line))).flatMap(DockerWire.containerEvent)
    }
}

/// Turns the body of a Docker logs response into lines. Without a TTY, Docker sends frames: an
/// 8-byte header (stream 1 = stdout, 2 = stderr; 3 zero bytes; big-endian UInt32 length), then
/// that many bytes. Frames split lines anywhere, and chunks split frames anywhere, so both are
/// buffered: bytes go in as they arrive, whole lines come out.
struct LogDemultiplexer: StreamDecoder {
    /// Lines start with Docker's timestamp (`timestamps=true`), taken into `LogLine.time`.
    let timestamps: Bool
    private var pending: [UInt8] = []
    private var partialLine: [LogLine.Stream: [UInt8]] = [:]

    init(timestamps: Bool = false) {
        self.timestamps = timestamps
    }

    /// The lines completed by `bytes`.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [LogLine] {
        pending.append(contentsOf: bytes)
        var lines: [LogLine] = []
        var offset = 0
        while pending.count - offset >= 8 {
            let length = pending[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
            guard pending.count - offset - 8 >= length else { break }
            let stream: LogLine.Stream = pending[offset] == 2 ? .stderr : .stdout
            let payload = pending[(offset + 8)..<(offset + 8 + length)]
            lines += split(payload, stream: stream)
            offset += 8 + length
        }
        pending.removeFirst(offset)
        return lines
    }

    /// Lines without a final newline, at the end of the stream.
    mutating func finish() -> [LogLine] {
        defer { partialLine = [:] }
        return [LogLine.Stream.stdout, .stderr].compactMap { stream in
            guard let rest = partialLine[stream], !rest.isEmpty else { return nil }
            return line(stream, rest)
        }
    }

    private func line(_ stream: LogLine.Stream, _ bytes: [UInt8]) -> LogLine {
        let text = String(decoding: bytes, as: UTF8.self)
        return timestamps ? LogLine.timestamped(stream: stream, text) : LogLine(stream: stream, text: text)
    }

    private mutating func split(_ payload: ArraySlice<UInt8>, stream: LogLine.Stream) -> [LogLine] {
        var buffer = partialLine[stream] ?? []
        var lines: [LogLine] = []
        for byte in payload {
            if byte == UInt8(ascii: "\n") {
                if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
                lines.append(line(stream, buffer))
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
            }
        }
        partialLine[stream] = buffer
        return lines
    }
}

/// Splits a byte stream into newline-terminated lines (Docker's events and pull progress send
/// one JSON object per line, split across chunks anywhere).
struct LineSplitter {
    private var buffer: [UInt8] = []

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if !buffer.isEmpty { lines.append(buffer) }
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
            }
        }
        return lines
    }

    mutating func finish() -> [UInt8]? {
        defer { buffer = [] }
        return buffer.isEmpty ? nil : buffer
    }
}
