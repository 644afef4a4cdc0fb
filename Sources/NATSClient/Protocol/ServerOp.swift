import NIOCore

/// One operation received from the server.
enum ServerOp: Sendable {
    /// `INFO {json}`; the JSON text is decoded by the connection.
    case info(String)
    /// `MSG` or `HMSG` for subscription `sid`.
    case message(NATSMessage, sid: UInt64)
    case ping
    case pong
    case ok
    /// `-ERR 'text'` with the quotes removed.
    case err(String)
}
