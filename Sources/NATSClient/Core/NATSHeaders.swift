import NIOCore

/// NATS message headers: ordered, multi-valued, case-preserving names, with the optional
/// status code and description of the `NATS/1.0` line.
public struct NATSHeaders: Sendable, Equatable, Sequence {
    /// Name/value pairs in the order they were added or received.
    public private(set) var fields: [(name: String, value: String)] = []
    /// Status code from the `NATS/1.0 <code> <description>` line (e.g. 503 no responders).
    public var statusCode: Int?
    /// Status description from the `NATS/1.0` line.
    public var statusDescription: String?

    /// Empty headers.
    public init() {}

    /// Headers with these name/value pairs, in order.
    public init(_ pairs: [(String, String)]) {
        for (n, v) in pairs { append(n, v) }
    }

    public static func == (lhs: NATSHeaders, rhs: NATSHeaders) -> Bool {
        lhs.statusCode == rhs.statusCode && lhs.statusDescription == rhs.statusDescription
            && lhs.fields.elementsEqual(rhs.fields, by: { $0.name == $1.name && $0.value == $1.value })
    }

    /// Iterates the fields in order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// True when there are no fields and no status.
    public var isEmpty: Bool { fields.isEmpty && statusCode == nil }

    /// Adds a value, keeping any existing values of the same name.
    public mutating func append(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// Replaces every value of `name` (matched case-insensitively) with one value.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name, value))
    }

    /// Removes every value of `name` (case-insensitive).
    public mutating func remove(_ name: String) {
        fields.removeAll { Self.equalsIgnoringCase($0.name, name) }
    }

    /// The first value of `name` (case-insensitive; exact match preferred).
    public subscript(name: String) -> String? {
        if let f = fields.first(where: { $0.name == name }) { return f.value }
        return fields.first(where: { Self.equalsIgnoringCase($0.name, name) })?.value
    }

    /// Every value of `name` (case-insensitive), in order.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let a = a.utf8, b = b.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 65 && x <= 90) ? x + 32 : x
            let ly = (y >= 65 && y <= 90) ? y + 32 : y
            if lx != ly { return false }
        }
        return true
    }

    /// Writes the wire form (`NATS/1.0\r\n` ... `\r\n\r\n`).
    func write(to buffer: inout ByteBuffer) {
        buffer.writeStaticString("NATS/1.0")
        if let code = statusCode {
            buffer.writeStaticString(" ")
            buffer.writeString(String(code))
            if let d = statusDescription, !d.isEmpty {
                buffer.writeStaticString(" ")
                buffer.writeString(d)
            }
        }
        buffer.writeStaticString("\r\n")
        for f in fields {
            buffer.writeString(f.name)
            buffer.writeStaticString(": ")
            buffer.writeString(f.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// Size of the wire form in bytes.
    var wireSize: Int {
        var n = 8 + 2 + 2  // "NATS/1.0" CRLF ... CRLF
        if let code = statusCode {
            n += 1 + String(code).utf8.count
            if let d = statusDescription, !d.isEmpty { n += 1 + d.utf8.count }
        }
        for f in fields { n += f.name.utf8.count + 2 + f.value.utf8.count + 2 }
        return n
    }

    /// Parses the header block of an HMSG. Returns nil when it does not start with `NATS/`.
    static func parse(_ buffer: ByteBuffer) -> NATSHeaders? {
        let bytes = buffer.readableBytesView
        var headers = NATSHeaders()
        var lineStart = bytes.startIndex
        var first = true
        while lineStart < bytes.endIndex {
            guard let nl = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            var lineEnd = nl
            if lineEnd > lineStart && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let line = String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self)
            lineStart = nl + 1
            if first {
                first = false
                guard line.hasPrefix("NATS/") else { return nil }
                let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
                if parts.count >= 2, let code = Int(parts[1]) {
                    headers.statusCode = code
                    if parts.count == 3 { headers.statusDescription = String(parts[2]) }
                }
                continue
            }
            if line.isEmpty { continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            var value = line[line.index(after: colon)...]
            while value.first == " " || value.first == "\t" { value = value.dropFirst() }
            while value.last == " " || value.last == "\t" { value = value.dropLast() }
            headers.append(name, String(value))
        }
        return first ? nil : headers
    }
}
