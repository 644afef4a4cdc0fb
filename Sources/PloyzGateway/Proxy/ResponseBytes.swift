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

    /// The chunk-size line that precedes `size` bytes of a chunked body.
    mutating func writeChunkSize(_ size: Int) {
        writeString(String(size, radix: 16))
        writeStaticString("\r\n")
    }
}
