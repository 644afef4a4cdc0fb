import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import PloyzModel
import PloyzStore
#if canImport(Glibc)
import Glibc
#endif

/// The `ployzd` process: configuration, single-instance lock, control socket, resume of the
/// active network, and a shutdown on SIGTERM/SIGINT that leaves the data plane running.
public enum Daemon {
    public static let version = "0.1.0"

    /// Runs the daemon; returns the process exit status (2 for usage and config errors).
    public static func run(arguments: [String], environment: [String: String]) async -> Int32 {
        let loaded: PloyzConfig.Loaded
        do {
            let parsed = try DaemonArguments.parse(arguments)
            if parsed.help {
                print(DaemonArguments.usage)
                return 0
            }
            if parsed.version {
                print("ployzd \(version)")
                return 0
            }
            loaded = try parsed.loadConfig(environment: environment)
        } catch {
            printError("ployzd: \(error)")
            return 2
        }
        let config = loaded.config
        let logger = makeLogger(level: config.logLevel)
        loaded.warnings.forEach { logger.warning("\($0)") }

        let lock: InstanceLock
        do {
            lock = try InstanceLock.acquire(lockPath: DaemonPaths(config: config).lockFile, socketPath: config.socketPath)
        } catch {
            printError("ployzd: \(error)")
            return 2
        }
        defer { _ = lock }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let controller = MeshController(config: config, logger: logger)
        let server: ControlServer
        do {
            server = try await ControlServer.bind(socketPath: config.socketPath, group: group, logger: logger)
        } catch {
            printError("ployzd: cannot listen on \(config.socketPath): \(error)")
            try? await group.shutdownGracefully()
            return 1
        }
        logger.info("ployzd listening", metadata: ["socket": "\(config.socketPath)", "pid": "\(getpid())", "version": "\(version)"])

        // SIGTERM and SIGINT stop the daemon (not its sidecars); SIGHUP and SIGPIPE are ignored.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        let signals = handleTerminationSignals { signal in
            logger.info("shutting down; sidecars and the interface keep running", metadata: ["signal": "\(signal)"])
            Task { await server.close() }
        }
        defer { signals.forEach { $0.cancel() } }

        // Not cancelled on shutdown: a cancelled resume would roll back (stop) what it started,
        // and shutdown must leave the data plane alone. Exiting simply abandons it.
        Task { await controller.resume() }
        let router = ControlRouter.daemon(controller)
        await server.serve { line in
            ByteBuffer(bytes: await router.respond(to: Data(line.readableBytesView)))
        }
        try? await group.shutdownGracefully()
        logger.info("ployzd stopped")
        return 0
    }

    private static func makeLogger(level: LogLevel) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level.rawValue) ?? .info
            return handler
        }
        return Logger(label: "ployzd")
    }

    private static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
