import NIOCore
import NIOHTTP1

/// Splices two channels byte for byte after an HTTP upgrade (WebSocket): what one reads, the other
/// writes, with reads paused while the partner is not writable, and a close on either side closing both.
final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    /// Replaces the HTTP handlers of both channels with a glued pair. Runs on their (shared) event loop
    /// after the 101 response was written to the client.
    static func splice(client: Channel, upstream: Channel) {
        let clientGlue = GlueHandler()
        let upstreamGlue = GlueHandler()
        clientGlue.partner = upstreamGlue
        upstreamGlue.partner = clientGlue
        do {
            let clientPipeline = client.pipeline.syncOperations
            let upstreamPipeline = upstream.pipeline.syncOperations
            try clientPipeline.addHandler(clientGlue)
            try upstreamPipeline.addHandler(upstreamGlue)
            // Decoders go last: removing one forwards the bytes it held back after the upgrade,
            // which must find the glue, not an HTTP handler.
            _ = clientPipeline.removeHandler(try clientPipeline.handler(type: ProxyHandler.self))
            _ = clientPipeline.removeHandler(try clientPipeline.handler(type: ClientTimeoutHandler.self))
            _ = upstreamPipeline.removeHandler(try upstreamPipeline.handler(type: UpstreamConnection.self))
            _ = clientPipeline.removeHandler(try clientPipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
        } catch {
            client.close(promise: nil)
            upstream.close(promise: nil)
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ data: NIOAny) {
        context?.write(data, promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerClose() {
        context?.close(promise: nil)
    }

    private var partnerIsWritable: Bool {
        context?.channel.isWritable ?? false
    }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
        partner = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
    }

    func read(context: ChannelHandlerContext) {
        if let partner, !partner.partnerIsWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }
}
