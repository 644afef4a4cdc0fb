import NIOConcurrencyHelpers

/// Unique identifiers for inboxes (22 base-62 characters), like the official clients' NUID:
/// a random prefix plus a sequential, randomly incremented suffix.
struct NUID: Sendable {
    private static let digits: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private static let shared = NIOLockedValueBox(NUID())

    private var prefix: [UInt8] = []
    private var seq: UInt64 = 0
    private var inc: UInt64 = 0
    private static let maxSeq: UInt64 = 839_299_365_868_340_224  // 62^10

    init() { randomize() }

    private mutating func randomize() {
        var g = SystemRandomNumberGenerator()
        prefix = (0..<12).map { _ in Self.digits[Int.random(in: 0..<62, using: &g)] }
        seq = UInt64.random(in: 0..<Self.maxSeq, using: &g)
        inc = UInt64.random(in: 33..<333, using: &g)
    }

    mutating func next() -> String {
        seq += inc
        if seq >= Self.maxSeq { randomize() }
        var out = prefix
        out.reserveCapacity(22)
        var s = seq
        var tail = [UInt8](repeating: 0, count: 10)
        for i in stride(from: 9, through: 0, by: -1) {
            tail[i] = Self.digits[Int(s % 62)]
            s /= 62
        }
        out.append(contentsOf: tail)
        return String(decoding: out, as: UTF8.self)
    }

    /// A fresh unique id from the process-wide generator.
    static func next() -> String { shared.withLockedValue { $0.next() } }
}
