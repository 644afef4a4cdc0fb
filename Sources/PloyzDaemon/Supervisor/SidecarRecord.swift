import Foundation
import PloyzModel

/// `<runtime_dir>/<network>/<sidecar>.json`: the process the daemon started, so that a later
/// daemon can adopt it. pid + start time identify the process; the spec hash says what it runs.
public struct SidecarRecord: Codable, Sendable, Equatable {
    public var pid: Int32
    public var startTime: UInt64
    public var specHash: String

    public init(pid: Int32, startTime: UInt64, specHash: String) {
        self.pid = pid
        self.startTime = startTime
        self.specHash = specHash
    }

    enum CodingKeys: String, CodingKey {
        case pid
        case startTime = "start_time"
        case specHash = "spec_hash"
    }

    static func load(from path: String) -> SidecarRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder.ployz.decode(SidecarRecord.self, from: data)
    }

    func save(to path: String) throws {
        try AtomicFile.write(JSONEncoder.ployz.encode(self), to: path, mode: 0o600)
    }

    /// True when the recorded process still runs: same pid, same start time, not a zombie.
    var isLive: Bool {
        guard let stat = ProcessStat.read(pid: pid) else { return false }
        return stat.isAlive && stat.startTime == startTime
    }
}
