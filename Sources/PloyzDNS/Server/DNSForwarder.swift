import NIOCore
import NIOPosix

/// Relays queries for names outside the zone to upstream servers, in order, each with a timeout.
///
/// Every attempt uses a fresh socket (random source port) and a fresh random id, and an answer
/// is accepted only if id and question match, so an off-path sender cannot slip one in easily.
/// A truncated UDP answer is retried over TCP when the client itself asked over TCP.
final class DNSForwarder: Sendable {
    let upstreams: [SocketAddress]
    let timeout: TimeAmount

    init(upstreams: [SocketAddress], timeout: TimeAmount) {
        self.upstreams = upstreams
        self.timeout = timeout
    }

    /// Why forwarding failed; the client gets SERVFAIL either way.
    enum ForwardError: Error, CustomStringConvertible {
        case timeout(SocketAddress)
        case noUpstreams
        var description: String {
            switch self {
            case .timeout(let upstream): "upstream \(upstream) did not answer in time"
            case .noUpstreams: "no upstream answered"
            }
        }
    }

    /// The upstream's answer with the client's id restored and RA set.
    func forward(_ original: [UInt8], query: DNSMessage, overTCP: Bool, on eventLoop: EventLoop) -> EventLoopFuture<[UInt8]> {
        let questionLength = (query.questions.first?.name.wire.count ?? 0) + 4
        var attempt: EventLoopFuture<[UInt8]> = eventLoop.makeFailedFuture(ForwardError.noUpstreams)
        for upstream in upstreams {
            attempt = attempt.flatMapError { _ in
                self.exchange(original, questionLength: questionLength, with: upstream, overTCP: overTCP, on: eventLoop)
            }
        }
        return attempt.map { answer in
            var answer = answer
            answer[0] = original[0]
            answer[1] = original[1]
            // We offer recursion (by forwarding) whatever the upstream says about itself.
            answer[3] |= 0x80
            return answer
        }
    }

    private func exchange(_ original: [UInt8], questionLength: Int, with upstream: SocketAddress, overTCP: Bool,
                          on eventLoop: EventLoop) -> EventLoopFuture<[UInt8]> {
        var query = original
        let id = UInt16.random(in: 0...UInt16.max)
        query[0] = UInt8(id >> 8)
        query[1] = UInt8(id & 0xff)
        let matcher = AnswerMatcher(query: query, questionLength: questionLength)
        return exchangeUDP(query, matcher: matcher, with: upstream, on: eventLoop).flatMap { answer in
            guard overTCP, let header = try? DNSHeader(decoding: answer), header.truncated else {
                return eventLoop.makeSucceededFuture(answer)
            }
            return self.exchangeTCP(query, matcher: matcher, with: upstream, on: eventLoop)
        }
    }

    private func exchangeUDP(_ query: [UInt8], matcher: AnswerMatcher, with upstream: SocketAddress,
                             on eventLoop: EventLoop) -> EventLoopFuture<[UInt8]> {
        exchange(with: upstream, on: eventLoop) { completion in
            DatagramBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            UpstreamAnswerHandler<AddressedEnvelope<ByteBuffer>>(matcher: matcher, completion: completion) { $0.data })
                    }
                }
                .bind(host: upstream.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
        } send: { channel in
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: upstream, data: channel.allocator.buffer(bytes: query)))
        }
    }

    private func exchangeTCP(_ query: [UInt8], matcher: AnswerMatcher, with upstream: SocketAddress,
                             on eventLoop: EventLoop) -> EventLoopFuture<[UInt8]> {
        exchange(with: upstream, on: eventLoop) { completion in
            ClientBootstrap(group: eventLoop)
                .connectTimeout(self.timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSLengthFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(
                            UpstreamAnswerHandler<ByteBuffer>(matcher: matcher, completion: completion) { $0 })
                    }
                }
                .connect(to: upstream)
        } send: { channel in
            var buffer = channel.allocator.buffer(capacity: query.count + 2)
            buffer.writeInteger(UInt16(query.count))
            buffer.writeBytes(query)
            return channel.writeAndFlush(buffer)
        }
    }

    /// One attempt: open a channel whose handler completes `completion`, send, and close the
    /// channel once an answer, an error or the timeout settles it.
    private func exchange(with upstream: SocketAddress, on eventLoop: EventLoop,
                          open: (OneShot) -> EventLoopFuture<Channel>,
                          send: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> EventLoopFuture<[UInt8]> {
        let completion = OneShot(promise: eventLoop.makePromise(of: [UInt8].self))
        let timeout = eventLoop.scheduleTask(in: self.timeout) { completion.fail(ForwardError.timeout(upstream)) }
        open(completion).whenComplete { result in
            switch result {
            case .success(let channel):
                send(channel).whenFailure { completion.fail($0) }
                completion.promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error):
                completion.fail(error)
            }
        }
        completion.promise.futureResult.whenComplete { _ in timeout.cancel() }
        return completion.promise.futureResult
    }
}

/// Accepts only the answer to our query: same id, QR set, same question bytes.
struct AnswerMatcher: Sendable {
    let query: [UInt8]
    let questionLength: Int

    func matches(_ answer: [UInt8]) -> Bool {
        let questionEnd = DNSHeader.length + questionLength
        guard answer.count >= questionEnd, answer[0] == query[0], answer[1] == query[1], answer[2] & 0x80 != 0 else { return false }
        return answer[DNSHeader.length..<questionEnd] == query[DNSHeader.length..<questionEnd]
    }
}

/// A promise that may be completed from several places (answer, timeout, socket error); the first wins.
/// All callers run on the promise's event loop, which serialises access to `done`.
final class OneShot: @unchecked Sendable {
    let promise: EventLoopPromise<[UInt8]>
    private var done = false

    init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

    func succeed(_ value: [UInt8]) {
        promise.futureResult.eventLoop.execute { [self] in
            guard !done else { return }
            done = true
            promise.succeed(value)
        }
    }

    func fail(_ error: Error) {
        promise.futureResult.eventLoop.execute { [self] in
            guard !done else { return }
            done = true
            promise.fail(error)
        }
    }
}

/// Hands the first matching answer on a forwarding channel to its `OneShot`.
final class UpstreamAnswerHandler<Message>: ChannelInboundHandler {
    typealias InboundIn = Message
    let matcher: AnswerMatcher
    let completion: OneShot
    let payload: (Message) -> ByteBuffer

    init(matcher: AnswerMatcher, completion: OneShot, payload: @escaping (Message) -> ByteBuffer) {
        self.matcher = matcher
        self.completion = completion
        self.payload = payload
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let answer = Array(payload(unwrapInboundIn(data)).readableBytesView)
        if matcher.matches(answer) { completion.succeed(answer) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        completion.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        completion.fail(ChannelError.eof)
    }
}
