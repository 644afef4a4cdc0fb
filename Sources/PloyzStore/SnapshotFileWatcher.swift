#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import PloyzModel

/// Polls a sidecar's snapshot file and hands every new valid version to `onChange`.
///
/// Change detection compares inode, size and mtime (an atomic rename changes the inode even
/// within one mtime tick). A malformed or missing file is logged and skipped: the server keeps
/// answering from the last good snapshot, which is the point of the file being a cache.
public struct SnapshotFileWatcher: Sendable {
    public let path: String
    public let interval: Duration
    private let logger: Logger

    public init(path: String, interval: Duration = .milliseconds(250), logger: Logger = Logger(label: "ployz-snapshot")) {
        self.path = path
        self.interval = interval
        self.logger = logger
    }

    /// File identity; nil when the file does not exist.
    struct Stamp: Equatable {
        var inode: UInt64
        var size: Int64
        var seconds: Int
        var nanoseconds: Int
    }

    func stamp() -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Stamp(inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec))
    }

    /// Loads the file now; nil (after logging why) when it is missing or malformed.
    public func loadNow() -> ClusterSnapshot? {
        do {
            return try ClusterSnapshot.load(from: path)
        } catch {
            logger.warning("snapshot not loaded; serving the previous state", metadata: ["path": "\(path)", "error": "\(error)"])
            return nil
        }
    }

    /// Runs until the task is cancelled. The first version seen at start is not reported again.
    public func run(onChange: @Sendable (ClusterSnapshot) -> Void) async {
        var last = stamp()
        var reportedMissing = false
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let current = stamp()
            guard current != last else { continue }
            last = current
            guard current != nil else {
                if !reportedMissing {
                    logger.warning("snapshot file is gone; serving the last loaded state", metadata: ["path": "\(path)"])
                    reportedMissing = true
                }
                continue
            }
            reportedMissing = false
            if let snapshot = loadNow() {
                logger.info("snapshot reloaded", metadata: ["path": "\(path)", "services": "\(snapshot.services.count)",
                                                            "instances": "\(snapshot.instances.count)", "machines": "\(snapshot.machines.count)"])
                onChange(snapshot)
            }
        }
    }
}
