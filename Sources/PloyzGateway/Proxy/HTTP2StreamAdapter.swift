import NIOCore
import NIOHTTP1

/// Lets `ProxyHandler`, which writes HTTP/1.1 response bytes, serve one HTTP/2 stream.
///
/// It sits between NIO's HTTP/2-to-HTTP/1 codec and the proxy handler. Requests pass through as
/// they are; the proxy's response bytes are parsed back (with the same `ResponseParser` that reads
/// backends) into head, body and end parts that the codec turns into HEADERS and DATA frames.
/// Hop-by-hop headers and the chunk framing the proxy adds never reach the frames.
final class HTTP2StreamAdapter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTPServerResponsePart

    private var parser = ResponseParser()
    /// The response's end was written; the stream carries nothing more.
    private var finished = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        if head.method == .HEAD { parser.expectsNoBody = true }
        if let joined = Self.joiningCookies(head.headers) {
            head.headers = joined
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
    }

    /// HTTP/2 clients may split `Cookie` into one field per cookie (RFC 9113 §8.2.3); an HTTP/1.1
    /// backend expects one field, joined with "; ". Nil when there is nothing to join.
    static func joiningCookies(_ headers: HTTPHeaders) -> HTTPHeaders? {
        let cookies = headers["cookie"]
        guard cookies.count > 1 else { return nil }
        var joined = headers
        joined.remove(name: "cookie")
        joined.add(name: "cookie", value: cookies.joined(separator: "; "))
        return joined
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        var written: EventLoopFuture<Void>?
        while !finished {
            let event: ResponseParser.Event?
            do {
                event = try parser.next(&bytes)
            } catch {
                // The proxy's own bytes: a failure here is a bug, and the stream cannot go on.
                promise?.fail(error)
                context.close(promise: nil)
                return
            }
            guard let event else { break }
            let part: HTTPServerResponsePart
            switch event {
            case .informational(let head), .head(let head):
                part = .head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: head.status),
                                              headers: Self.headers(head.forwardedLines)))
            case .body(let body):
                part = .body(.byteBuffer(body))
            case .end(let trailers):
                part = .end(trailers.map(Self.headers))
                finished = true
            case .upgrade:
                // HTTP/2 has no Upgrade: the proxy never switches protocols on a stream.
                promise?.fail(UpstreamProtocolError("protocol switch on an HTTP/2 stream"))
                context.close(promise: nil)
                return
            }
            written = context.write(wrapOutboundOut(part))
        }
        if let promise {
            if let written { written.cascade(to: promise) } else { promise.succeed(()) }
        }
    }

    private static func headers(_ lines: ByteBuffer) -> HTTPHeaders {
        var headers = HTTPHeaders()
        try? ResponseParser.forEachHeaderLine(in: lines) { name, value, _ in
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }
        return headers
    }
}
