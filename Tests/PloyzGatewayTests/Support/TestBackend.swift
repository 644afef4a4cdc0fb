import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// What a test backend observed, read by tests after the fact.
struct BackendStats: Sendable {
    var requests = 0
    /// Body bytes received by `/hold` requests (which stop reading after the head).
    var heldBytes = 0
    /// Response body bytes `/download` wrote so far.
    var downloadedBytes = 0
    var connections = 0
    /// Connections that ended (closed by either side).
    var closedConnections = 0
}

/// An in-process HTTP/1.1 backend on SwiftNIO with behaviours chosen by path:
/// - `/upload`: reads the body, answers `bytes=N sum=S`.
/// - `/hold`: reads the head, then stops reading (back-pressure), counting what arrived.
/// - `/download/N`: streams N pattern bytes, each chunk after the previous one was written.
/// - `/die/N`: announces 10 MB, sends N bytes, closes.
/// - `/stall/N`: announces 10 MB, sends N bytes, then sends nothing more and keeps the connection open.
/// - `/echo`: streams the request body back as it arrives.
/// - `/headers`: answers the request line's target and every header field received, one `name: value` per line.
/// - anything else: `backend=<name> method=... path=... host=... xff=... xfp=... xfh=... body=N`.
final class TestBackend: Sendable {
    let name: String
    let host: String
    let port: Int
    private let stats: NIOLockedValueBox<BackendStats>
    private let channel: Channel

    private init(name: String, host: String, port: Int, channel: Channel, stats: NIOLockedValueBox<BackendStats>) {
        self.name = name
        self.host = host
        self.port = port
        self.channel = channel
        self.stats = stats
    }

    static func start(name: String, host: String = "127.0.0.1", port: Int = 0, group: EventLoopGroup) async throws -> TestBackend {
        let stats = NIOLockedValueBox(BackendStats())
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(name: name, stats: stats))
                }
            }
            .bind(host: host, port: port).get()
        return TestBackend(name: name, host: host, port: channel.localAddress!.port!, channel: channel, stats: stats)
    }

    var observed: BackendStats { stats.withLockedValue { $0 } }

    func stop() async {
        try? await channel.close()
    }
}

/// The pattern byte at offset `i` of `/download` bodies.
func patternByte(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i % 251) }

/// 64 KiB-plus of pattern, so any chunk of up to 64 KiB at any offset is one slice of it.
let patternBlock: [UInt8] = (0..<(251 * 263)).map(patternByte)

/// The first `count` bytes of the `/download` pattern.
func patternBytes(_ count: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
        let start = bytes.count % 251
        bytes += patternBlock[start..<(start + min(65536, count - bytes.count))]
    }
    return bytes
}

private final class BackendHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let name: String
    private let stats: NIOLockedValueBox<BackendStats>
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var sum: UInt32 = 0
    private var holding = false

    init(name: String, stats: NIOLockedValueBox<BackendStats>) {
        self.name = name
        self.stats = stats
    }

    func channelActive(context: ChannelHandlerContext) {
        stats.withLockedValue { $0.connections += 1 }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stats.withLockedValue { $0.closedConnections += 1 }
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if !holding { context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyBytes = 0
            sum = 0
            stats.withLockedValue { $0.requests += 1 }
            if head.uri == "/hold" { holding = true }
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
            if head.uri == "/echo" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
            }
        case .body(let body):
            bodyBytes += body.readableBytes
            if holding { stats.withLockedValue { $0.heldBytes += body.readableBytes } }
            if head?.uri == "/upload" {
                body.withUnsafeReadableBytes { for byte in $0 { sum = sum &+ UInt32(byte) } }
            }
            if head?.uri == "/echo" {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            }
        case .end:
            guard let head else { return }
            respond(context: context, head: head)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri
        if path == "/echo" {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else if path == "/headers" || path.hasPrefix("/headers?") {
            sendText(context: context, ([path] + head.headers.map { "\($0.name.lowercased()): \($0.value)" }).joined(separator: "\n"))
        } else if path == "/upload" {
            sendText(context: context, "bytes=\(bodyBytes) sum=\(sum)")
        } else if path.hasPrefix("/download/"), let total = Int(path.dropFirst("/download/".count)) {
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "\(total)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            writeDownload(context: context, offset: 0, total: total)
        } else if path.hasPrefix("/die/") || path.hasPrefix("/stall/"), let count = Int(path.split(separator: "/").last ?? "") {
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "10000000")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: count)
            buffer.writeRepeatingByte(UInt8(ascii: "x"), count: count)
            let written = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))))
            if path.hasPrefix("/die/") { written.whenComplete { _ in context.close(promise: nil) } }
        } else {
            let h = head.headers
            sendText(context: context, "backend=\(name) method=\(head.method) path=\(path) host=\(h.first(name: "host") ?? "") "
                + "xff=\(h.first(name: "x-forwarded-for") ?? "") xfp=\(h.first(name: "x-forwarded-proto") ?? "") "
                + "xfh=\(h.first(name: "x-forwarded-host") ?? "") body=\(bodyBytes) te=\(h.first(name: "transfer-encoding") ?? "") "
                + "connection=\(h.first(name: "connection") ?? "")")
        }
    }

    private func writeDownload(context: ChannelHandlerContext, offset: Int, total: Int) {
        guard offset < total else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let size = min(64 * 1024, total - offset)
        let start = offset % 251
        let buffer = context.channel.allocator.buffer(bytes: patternBlock[start..<(start + size)])
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer)))).whenComplete { [stats] result in
            guard case .success = result else { return }
            stats.withLockedValue { $0.downloadedBytes += size }
            self.writeDownload(context: context, offset: offset + size, total: total)
        }
    }

    private func sendText(context: ChannelHandlerContext, _ text: String) {
        let body = context.channel.allocator.buffer(string: text)
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "content-type", value: "text/plain")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
