import Foundation
import NIOCore

extension NATSConnection {
    /// Publishes Data; see `publish(_:payload:reply:headers:)`.
    public func publish(_ subject: String, payload: Data, reply: String? = nil, headers: NATSHeaders? = nil) throws {
        try publish(subject, payload: ByteBuffer(bytes: payload), reply: reply, headers: headers)
    }

    /// Sends a request with a Data payload; see `request(_:payload:headers:timeout:)`.
    nonisolated(nonsending) public func request(_ subject: String, payload: Data, headers: NATSHeaders? = nil, timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try await request(subject, payload: ByteBuffer(bytes: payload), headers: headers, timeout: timeout)
    }
}

extension NATSMessage {
    /// The payload as Data.
    public var data: Data { Data(payload.readableBytesView) }
}

extension JetStream {
    /// Publishes Data to a stream; see `publish(_:payload:headers:options:)`.
    nonisolated(nonsending) public func publish(_ subject: String, payload: Data, headers: NATSHeaders? = nil, options: PublishOptions = PublishOptions()) async throws -> PubAck {
        try await publish(subject, payload: ByteBuffer(bytes: payload), headers: headers, options: options)
    }
}
