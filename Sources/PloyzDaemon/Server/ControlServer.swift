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

/// Turns one request line into one response line: decode, dispatch, encode. A line that is not
/// a request (bad JSON, unknown method) gets a `.usage` error response, never a dropped connection.
public enum ControlCodec {
    /// Answers one request line with one response line (ending in a newline).
    public static func response(to line: ByteBuffer, dispatch: (ControlRequest) async -> ControlResponse) async -> ByteBuffer {
        let response: ControlResponse
        switch decode(Data(line.readableBytesView)) {
        case .success(let request): response = await dispatch(request)
        case .failure(let error): response = ControlResponse(error: error)
        }
        var data = (try? JSONEncoder.ployz.encode(response))
            ?? Data(#"{"error":{"kind":"failed","message":"cannot encode the response"}}"#.utf8)
        data.append(0x0a)
        return ByteBuffer(bytes: data)
    }

    /// Decodes a request; a missing `params` means none. Fails with a one-line `.usage` error.
    public static func decode(_ data: Data) -> Result<ControlRequest, ControlError> {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failure(ControlError(.usage, "malformed request: expected one JSON object per line like {\"method\":\"mesh.list\",\"params\":{}}"))
        }
        guard let methodName = object["method"] as? String else {
            return .failure(ControlError(.usage, "malformed request: \"method\" must be a string, e.g. \"mesh.list\""))
        }
        guard let method = ControlMethod(rawValue: methodName) else {
            let known = [ControlMethod.meshCreate, .meshInit, .meshStart, .meshStop, .meshList, .meshStatus, .meshReady, .daemonInfo]
            return .failure(ControlError(.usage, "unknown method \"\(methodName)\"; known: \(known.map(\.rawValue).joined(separator: ", "))"))
        }
        do {
            let paramsObject = object["params"] ?? [String: Any]()
            guard JSONSerialization.isValidJSONObject(paramsObject) else { throw ControlError(.usage, "params must be an object") }
            let params = try JSONDecoder.ployz.decode(ControlParams.self, from: JSONSerialization.data(withJSONObject: paramsObject))
            return .success(ControlRequest(method, params))
        } catch {
            return .failure(ControlError(.usage, "bad params for \(methodName): \(PhaseRunner.oneLine(error))"))
        }
    }
}
