import NIOConcurrencyHelpers
import NIOCore

/// Splits a TCP stream into DNS messages by their 2-byte length prefix (RFC 1035 4.2.2, RFC 7766 8).
struct DNSLengthFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

/// Answers each framed query on a connection as it arrives (pipelining; forwarded answers may
/// come back out of order, which RFC 7766 section 7 allows), and closes the connection when no
/// complete message arrived for `idleTimeout`: a client that sends half a message and waits, or
/// trickles bytes, holds only its own connection and only until then.
final class TCPQueryHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let engine: DNSEngine
    private let idleTimeout: TimeAmount
    private let connections: TCPConnectionLimit
    private var counted = false
    private var lastActivity = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?
    private var inFlight = 0

    init(engine: DNSEngine, idleTimeout: TimeAmount, connections: TCPConnectionLimit) {
        self.engine = engine
        self.idleTimeout = idleTimeout
        self.connections = connections
    }

    func channelActive(context: ChannelHandlerContext) {
        // Over the limit the newest connection goes, so a flood cannot exhaust descriptors
        // while established clients keep being served.
        guard connections.open() else {
            context.close(promise: nil)
            return
        }
        counted = true
        lastActivity = .now()
        scheduleIdleCheck(context: context, at: lastActivity + idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted { connections.close() }
        counted = false
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        switch engine.process(unwrapInboundIn(data), overUDP: false) {
        case .none:
            break
        case .bytes(let answer):
            context.write(wrapOutboundOut(frame(answer, allocator: context.channel.allocator)), promise: nil)
        case .forward(let query, let bytes, let started):
            inFlight += 1
            let channel = context.channel
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            engine.forward(query, original: bytes, started: started, overUDP: false, on: context.eventLoop).whenSuccess { answer in
                loopBound.value.inFlight -= 1
                loopBound.value.lastActivity = .now()
                channel.writeAndFlush(loopBound.value.frame(answer, allocator: channel.allocator), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func frame(_ answer: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: answer.count + 2)
        buffer.writeInteger(UInt16(answer.count))
        buffer.writeBytes(answer)
        return buffer
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            let due = handler.lastActivity + handler.idleTimeout
            if handler.inFlight == 0 && due <= .now() {
                context.close(promise: nil)
            } else {
                handler.scheduleIdleCheck(context: context, at: max(due, .now() + .milliseconds(10)))
            }
        }
    }
}

/// Counts open TCP connections across all event loops against a maximum.
final class TCPConnectionLimit: Sendable {
    let maximum: Int
    private let count = NIOLockedValueBox(0)

    init(maximum: Int) { self.maximum = maximum }

    /// Takes a slot; false when all are taken.
    func open() -> Bool {
        count.withLockedValue { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    func close() {
        count.withLockedValue { $0 -= 1 }
    }
}
