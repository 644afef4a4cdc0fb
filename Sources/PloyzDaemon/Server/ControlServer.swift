import Foundation
import Logging
import NIOCore
import NIOPosix
import PloyzModel
#if canImport(Glibc)
import Glibc
#endif

/// The control API's listener: a unix socket (mode 0600) speaking newline-delimited JSON, any
/// number of requests per connection, answered in order.
public final class ControlServer: Sendable {
    public let socketPath: String
    private let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let logger: Logger

    private init(socketPath: String, channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, logger: Logger) {
        self.socketPath = socketPath
        self.channel = channel
        self.logger = logger
    }

    /// Binds the socket, replacing a stale socket file. Created under umask 0177 so that it is
    /// never, even for an instant, reachable by anyone but root.
    public static func bind(socketPath: String, group: EventLoopGroup, logger: Logger) async throws -> ControlServer {
        let directory = (socketPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let previousMask = umask(0o177)
        defer { umask(previousMask) }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        chmod(socketPath, 0o600)
        return ControlServer(socketPath: socketPath, channel: channel, logger: logger)
    }

    /// Accepts connections until `close()`; each is served concurrently, its requests in order.
    public func serve(_ respond: @escaping @Sendable (ByteBuffer) async -> ByteBuffer) async {
        do {
            try await channel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await Self.serveConnection(connection, respond: respond) }
                    }
                }
            }
        } catch {
            logger.debug("control server stopped", metadata: ["error": "\(error)"])
        }
    }

    /// Stops accepting and removes the socket file; connections in flight finish.
    public func close() async {
        try? await channel.channel.close()
        unlink(socketPath)
    }

    private static func serveConnection(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>,
                                        respond: @escaping @Sendable (ByteBuffer) async -> ByteBuffer) async {
        try? await connection.executeThenClose { inbound, outbound in
            for try await line in inbound {
                try await outbound.write(await respond(line))
            }
        }
    }
}
