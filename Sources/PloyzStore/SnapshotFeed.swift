import ArgumentParser
import Foundation
import Logging
import NATSClient
import PloyzModel

/// Keeps a sidecar's snapshot file in step with the store: connects to NATS, runs `SnapshotSync`
/// and saves every new snapshot atomically. It reconnects forever with backoff, so a sidecar that
/// starts while NATS is down serves its last file and catches up when NATS is back.
public struct SnapshotFeed: Sendable {
    /// Where the store is and how to log in. The password is read from a file (0600) so that it
    /// never shows in a process listing.
    public struct Source: Sendable {
        public var servers: [String]
        public var user: String
        public var passwordFile: String

        public init(servers: [String], user: String, passwordFile: String) {
            self.servers = servers
            self.user = user
            self.passwordFile = passwordFile
        }

        /// The password file's contents without the trailing newline.
        public func password() throws -> String {
            do {
                return try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
            } catch {
                throw FeedError("cannot read the NATS password file \(passwordFile): \(error.localizedDescription)")
            }
        }
    }

    public struct FeedError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public let source: Source
    public let snapshotPath: String
    public let logger: Logger

    public init(source: Source, snapshotPath: String, logger: Logger) {
        self.source = source
        self.snapshotPath = snapshotPath
        self.logger = logger
    }

    /// Runs until the task is cancelled.
    public func run() async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                let store = try await ClusterStore.connect(servers: source.servers, user: source.user,
                                                           password: try source.password(), name: "ployz-sidecar")
                logger.info("store connected", metadata: ["servers": "\(source.servers.joined(separator: ","))"])
                delay = .milliseconds(250)
                defer { Task { await store.close() } }
                try await SnapshotSync(store: store).run { snapshot in
                    do { try snapshot.save(to: snapshotPath) } catch {
                        logger.error("snapshot not saved", metadata: ["path": "\(snapshotPath)", "error": "\(error)"])
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("store feed interrupted; serving the last snapshot", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}

extension SnapshotFileWatcher {
    /// How a sidecar serves: `feed` (when there is one) keeps the snapshot file in step with the
    /// store, and this watcher is the one path from the file to `onChange`, so what is served is
    /// always what the file, the last-good cache, holds. Runs until cancelled.
    public func run(feedingFrom feed: SnapshotFeed?, onChange: @escaping @Sendable (ClusterSnapshot) -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            if let feed { group.addTask { await feed.run() } }
            group.addTask { await self.run(onChange: onChange) }
        }
    }
}

/// The options by which a sidecar follows the store: `--nats-url` (repeatable), `--nats-user`,
/// `--nats-password-file`. Shared by `ployz-dns` and `ployz-gateway` with `@OptionGroup`.
public struct SnapshotFeedOptions: ParsableArguments {
    @Option(name: .customLong("nats-url"), help: "NATS server to follow the store from (repeatable); without it only the snapshot file is served.")
    public var natsURLs: [String] = []

    @Option(name: .customLong("nats-user"), help: "NATS user for --nats-url.")
    public var natsUser = "ployz"

    @Option(name: .customLong("nats-password-file"), help: "File holding the NATS password (kept out of the process listing).")
    public var natsPasswordFile: String?

    public init() {}

    public func validate() throws {
        if !natsURLs.isEmpty, natsPasswordFile == nil { throw ValidationError("--nats-url needs --nats-password-file") }
    }

    /// The feed these options describe; nil without servers (the sidecar then serves its
    /// snapshot file alone).
    public func feed(snapshotPath: String, logger: Logger) -> SnapshotFeed? {
        guard !natsURLs.isEmpty, let natsPasswordFile else { return nil }
        return SnapshotFeed(source: .init(servers: natsURLs, user: natsUser, passwordFile: natsPasswordFile),
                            snapshotPath: snapshotPath, logger: logger)
    }
}
