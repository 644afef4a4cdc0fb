import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import NATSClient

/// A TCP listener that speaks just enough NATS to finish the handshake and then sends `script`:
/// the only way to see how the client handles bytes a real nats-server never sends.
final class ScriptedServer: @unchecked Sendable {
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    init(script: String, closeAfter: Bool) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ScriptHandler(script: script, closeAfter: closeAfter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close().get() }

    final class ScriptHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let script: String
        let closeAfter: Bool
        var received = ""
        var sent = false

        init(script: String, closeAfter: Bool) {
            self.script = script
            self.closeAfter = closeAfter
        }

        func channelActive(context: ChannelHandlerContext) {
            let info = "INFO {\"server_id\":\"FAKE\",\"version\":\"0.0.0\",\"max_payload\":1048576,\"headers\":true}\r\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: info)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            guard !sent, received.contains("PING\r\n") else { return }
            sent = true
            let done = context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "PONG\r\n")))
            // Give the client a moment to register its subscriptions/requests before the script.
            let script = self.script
            let closeAfter = self.closeAfter
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in
                context.eventLoop.scheduleTask(in: .milliseconds(200)) {
                    let c = ctx.value
                    let written = c.writeAndFlush(NIOAny(ByteBuffer(string: script)))
                    if closeAfter { written.whenComplete { _ in c.close(promise: nil) } }
                }
            }
        }
    }
}

@Suite(.serialized) struct MisbehavingServerTests {
    @Test func malformedLineIsAProtocolErrorAndClosesCleanly() async throws {
        let server = try await ScriptedServer(script: "GARBAGE that is not NATS\r\n", closeAfter: false)
        let nc = try await NATSConnection.connect(NATSOptions(servers: ["nats://127.0.0.1:\(server.port)"], maxReconnectAttempts: 0))
        let pending = Task { try await nc.request("x", payload: "y", timeout: .seconds(30)) }
        let outcome = try await withDeadline(10) { () -> String in
            do { _ = try await pending.value; return "answered" } catch { return "\(error)" }
        }
        #expect(outcome == NATSError.connectionClosed.description)
        #expect(nc.isClosed)
        #expect(nc.lastError == .protocolError("GARBAGE that is not NATS"))
        await server.stop()
    }

    @Test func serverClosingMidFrameFailsPendingRequests() async throws {
        let server = try await ScriptedServer(script: "MSG some.subject 1 100\r\nonly part of the pay", closeAfter: true)
        let nc = try await NATSConnection.connect(NATSOptions(servers: ["nats://127.0.0.1:\(server.port)"], maxReconnectAttempts: 0))
        let sub = try await nc.subscribe("some.subject")
        let pending = Task { try await nc.request("x", payload: "y", timeout: .seconds(30)) }
        let outcome = try await withDeadline(10) { () -> String in
            do { _ = try await pending.value; return "answered" } catch { return "\(error)" }
        }
        #expect(outcome == NATSError.connectionClosed.description)
        // The partial message is never delivered; the subscription just ends.
        let delivered = try await withDeadline(5) {
            var n = 0
            for await _ in sub { n += 1 }
            return n
        }
        #expect(delivered == 0)
        await server.stop()
    }

    @Test func serverErrAfterConnectIsReported() async throws {
        let server = try await ScriptedServer(script: "-ERR 'Permissions Violation for Publish to \"secret\"'\r\nPING\r\n", closeAfter: false)
        let nc = try await NATSConnection.connect(NATSOptions(servers: ["nats://127.0.0.1:\(server.port)"], maxReconnectAttempts: 0))
        defer { Task { await nc.close() } }
        #expect(await eventually(5) { nc.lastError != nil })
        #expect(nc.lastError == .serverError("Permissions Violation for Publish to \"secret\""))
        #expect(nc.isConnected)
        await server.stop()
    }
}
