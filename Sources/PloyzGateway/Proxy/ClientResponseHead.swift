import NIOCore
import NIOHTTP1

/// The response heads the client gets, as bytes: a backend's head copied line for line without its
/// hop-by-hop fields and with the framing the proxy chose, or the gateway's own short answers.
enum ClientResponseHead {
    /// A backend's final head for the client: `Connection` and `Transfer-Encoding` set for `framing`.
    static func bytes(for head: UpstreamResponseHead, framing: ClientResponseFraming) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: head.headerLines.readableBytes + 96)
        buffer.writeStatusLine(minorVersion: framing.clientMinorVersion, statusText: head.statusText)
        if head.connectionExtras.isEmpty {
            buffer.writeImmutableBuffer(head.forwardedLines)
        } else {
            // Names the backend's `Connection` field lists are hop-by-hop too (rare): a second pass.
            try? ResponseParser.forEachHeaderLine(in: head.forwardedLines) { name, _, line in
                if !head.connectionExtras.contains(String(decoding: name, as: UTF8.self).lowercased()) { buffer.writeBytes(line) }
            }
        }
        if framing.body == .chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        if !framing.keepAlive {
            buffer.writeStaticString("connection: close\r\n")
        } else if framing.clientMinorVersion == 0 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// An interim 1xx head (100 Continue, 103 Early Hints) for the client.
    static func informationalBytes(for head: UpstreamResponseHead, clientMinorVersion: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: head.headerLines.readableBytes + 64)
        buffer.writeStatusLine(minorVersion: clientMinorVersion, statusText: head.statusText)
        buffer.writeImmutableBuffer(head.forwardedLines)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// A 101 head for the client: the backend's lines, without a length or coding (none applies any more).
    static func upgradeBytes(for head: UpstreamResponseHead, clientMinorVersion: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: head.headerLines.readableBytes + 64)
        buffer.writeStatusLine(minorVersion: clientMinorVersion, statusText: head.statusText)
        try? ResponseParser.forEachHeaderLine(in: head.headerLines) { name, _, line in
            let role = HeaderRole.of(name)
            if role != .contentLength && role != .transferEncoding { buffer.writeBytes(line) }
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// The gateway's own answer, head and body: `ployz-gateway: <message>`.
    static func localBytes(for response: LocalResponse) -> ByteBuffer {
        let body = "ployz-gateway: \(response.message)\n"
        var buffer = ByteBufferAllocator().buffer(capacity: 128 + body.utf8.count)
        buffer.writeStatusLine(version: .http1_1, status: response.status)
        buffer.writeHeaderLine("content-type", "text/plain; charset=utf-8")
        buffer.writeHeaderLine("content-length", String(body.utf8.count))
        if !response.keepAlive { buffer.writeHeaderLine("connection", "close") }
        buffer.writeStaticString("\r\n")
        buffer.writeString(body)
        return buffer
    }
}
