import NIOCore

/// Answers datagrams. Writes are flushed once per read burst so NIO can batch them (sendmmsg).
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let engine: DNSEngine
    private var needsFlush = false

    init(engine: DNSEngine) { self.engine = engine }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        switch engine.process(envelope.data, overUDP: true) {
        case .none:
            break
        case .bytes(let answer):
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress,
                                                            data: context.channel.allocator.buffer(bytes: answer))), promise: nil)
            needsFlush = true
        case .forward(let query, let bytes, let started):
            let remote = envelope.remoteAddress
            let channel = context.channel
            engine.forward(query, original: bytes, started: started, overUDP: true, on: context.eventLoop).whenSuccess { answer in
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: channel.allocator.buffer(bytes: answer)), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }

    /// A send error to one client (e.g. ICMP unreachable surfaced by the kernel) must not stop the socket.
    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}
