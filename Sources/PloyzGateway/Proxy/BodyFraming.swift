import NIOCore
import NIOHTTP1

/// How a response body reaches the client. The gateway frames responses to clients itself rather
/// than running NIO's response encoder: one handler and one boxed message per part fewer, and the
/// head is written straight from the backend's headers without building a second header list.
enum ClientBodyFraming {
    /// The backend's bytes as they are: a Content-Length body, or one that ends when the connection closes.
    case raw
    /// HTTP/1.1 client, backend without a length: chunk framing added around each part.
    case chunked
    /// No body may follow (HEAD, 1xx, 204, 304): parts are dropped.
    case none
}

/// Chunked transfer coding (RFC 9112 §7.1) around body parts, in both directions: request bodies
/// the decoder de-chunked go up chunked again, and responses without a length reach HTTP/1.1 clients chunked.
enum ChunkedFraming {
    static let lineEnd = ByteBuffer(string: "\r\n")

    /// The chunk-size line that precedes `size` bytes.
    static func sizeLine(_ size: Int) -> ByteBuffer {
        var line = ByteBufferAllocator().buffer(capacity: 12)
        line.writeString(String(size, radix: 16))
        line.writeStaticString("\r\n")
        return line
    }

    /// The end of a chunked body: the last (empty) chunk, the trailers, the blank line.
    static func lastChunk(trailers: HTTPHeaders?) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        buffer.writeStaticString("0\r\n")
        for (name, value) in trailers ?? [:] { buffer.writeHeaderLine(name, value) }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// The end of a chunked body with trailer lines as a backend sent them (each with its `\r\n`).
    static func lastChunk(trailerLines: ByteBuffer?) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 16 + (trailerLines?.readableBytes ?? 0))
        buffer.writeStaticString("0\r\n")
        if let trailerLines { buffer.writeImmutableBuffer(trailerLines) }
        buffer.writeStaticString("\r\n")
        return buffer
    }
}

extension ByteBuffer {
    /// `HTTP/1.<minor> <code> <reason>\r\n`.
    mutating func writeStatusLine(version: HTTPVersion, status: HTTPResponseStatus) {
        writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        writeString(String(status.code))
        writeStaticString(" ")
        writeString(status.reasonPhrase)
        writeStaticString("\r\n")
    }

    /// `HTTP/1.<minor> ` and a backend's status text (`200 OK`), then `\r\n`.
    mutating func writeStatusLine(minorVersion: Int, statusText: ByteBuffer) {
        writeStaticString(minorVersion == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        writeImmutableBuffer(statusText)
        writeStaticString("\r\n")
    }

    /// `name: value\r\n`.
    mutating func writeHeaderLine(_ name: String, _ value: String) {
        writeString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }
}
