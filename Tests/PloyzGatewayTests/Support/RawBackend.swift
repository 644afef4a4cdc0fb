import NIOCore
import NIOPosix

/// A backend that speaks bytes, not HTTP: each connection gets a handler of the test's own.
final class RawBackend: Sendable {
    let port: Int
    private let channel: Channel

    private init(port: Int, channel: Channel) {
        self.port = port
        self.channel = channel
    }

    static func start<Handler: ChannelHandler>(_ makeHandler: @escaping @Sendable () -> Handler) async throws -> RawBackend {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(makeHandler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawBackend(port: channel.localAddress!.port!, channel: channel)
    }

    /// Answers every request head with `answer`, written as it is: for responses no well-behaved
    /// HTTP server would send (hop-by-hop headers, trailers, garbage). Requests without bodies only.
    static func scripted(answer: String, after delay: TimeAmount? = nil) async throws -> RawBackend {
        try await start { ScriptedHandler(answer: answer, delay: delay) }
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answer: String
    private let delay: TimeAmount?
    private var received: [UInt8] = []

    init(answer: String, delay: TimeAmount?) {
        self.answer = answer
        self.delay = delay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytesView
        // One answer per request head (requests without bodies only).
        let terminator = Array("\r\n\r\n".utf8)
        while let end = received.firstRange(of: terminator) {
            received.removeSubrange(..<end.upperBound)
            let bytes = wrapOutboundOut(context.channel.allocator.buffer(string: answer))
            if let delay {
                context.eventLoop.scheduleTask(in: delay) { context.writeAndFlush(bytes, promise: nil) }
            } else {
                context.writeAndFlush(bytes, promise: nil)
            }
        }
    }
}
