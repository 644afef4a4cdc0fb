import Foundation
import NIOCore

extension DockerEngine {
    public func events(labels: [String: String], since: Date?) -> AsyncThrowingStream<ContainerEvent, Error> {
        var query = [("filters", DockerWire.filters(labels: labels, extra: [
            "type": ["container"], "event": ["start", "die", "health_status", "destroy"],
        ]))]
        if let since { query.append(("since", String(format: "%.9f", since.timeIntervalSince1970))) }
        return stream(path: "/events", query: query, operation: "events", decoder: EventDecoder())
    }

    public func logs(id: String, tail: Int?, since: Date?, follow: Bool) -> AsyncThrowingStream<LogLine, Error> {
        var query = [("stdout", "true"), ("stderr", "true"), ("follow", follow ? "true" : "false"),
                     ("tail", tail.map(String.init) ?? "all"), ("timestamps", "true")]
        if let since { query.append(("since", String(format: "%.9f", since.timeIntervalSince1970))) }
        // Ployz creates containers without a TTY, so the stream is always multiplexed.
        return stream(path: "/containers/\(id)/logs", query: query, notFound: .containerNotFound(id), operation: "logs of \(id)",
                      decoder: LogDemultiplexer(timestamps: true))
    }

    /// Streams a response body through `decoder` until it ends, the consumer drops the stream,
    /// or the engine goes away.
    private func stream<Decoder: StreamDecoder>(path: String, query: [(String, String)], notFound: RuntimeError? = nil,
                                                operation: String, decoder: Decoder) -> AsyncThrowingStream<Decoder.Element, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var decoder = decoder
                do {
                    let response = try await self.open(.GET, path, query: query, seconds: nil, operation: operation)
                    if response.status.code != 200 {
                        let body = try await self.mapErrors(operation: operation, seconds: self.timeout) {
                            try await response.body.collect(upTo: 1 << 20)
                        }
                        try self.check(Response(status: Int(response.status.code), body: body), operation: operation, notFound: notFound)
                    }
                    try await self.mapErrors(operation: operation, seconds: 0) {
                        for try await chunk in response.body {
                            for element in decoder.feed(chunk.readableBytesView) { continuation.yield(element) }
                        }
                    }
                    for element in decoder.finish() { continuation.yield(element) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
