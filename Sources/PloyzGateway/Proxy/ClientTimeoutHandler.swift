import NIOCore

/// Sits before the HTTP decoder and closes client connections that are too slow: idle between
/// requests longer than the idle timeout, or sending a request head for longer than the header
/// timeout from its first byte (a slow-loris client cannot hold a connection open by trickling).
final class ClientTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        /// No request in progress: the idle deadline runs.
        case idle
        /// Bytes of a request head arrived: the header deadline runs.
        case readingHead
        /// A request is being proxied; its timeouts belong to the proxy.
        case busy
    }

    private let headerRead: TimeAmount
    private let idle: TimeAmount
    private var phase = Phase.idle
    private var timer = DeadlineTimer()
    private var context: ChannelHandlerContext?

    init(headerRead: TimeAmount, idle: TimeAmount) {
        self.headerRead = headerRead
        self.idle = idle
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(idle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .readingHead
            arm(headerRead)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a request head: the proxy takes over until the exchange ends.
    func requestHeadReceived() {
        phase = .busy
        timer.set(nil, on: context!.eventLoop, onExpiry: {})
    }

    /// The exchange ended and the connection stays open for the next request.
    func exchangeFinished() {
        phase = .idle
        arm(idle)
    }

    private func arm(_ amount: TimeAmount) {
        guard let context else { return }
        timer.set(.now() + amount, on: context.eventLoop, onExpiry: { self.expired() })
    }

    private func expired() {
        guard let context else { return }
        guard timer.fired(on: context.eventLoop, onExpiry: { self.expired() }) else { return }
        context.close(promise: nil)
    }
}
