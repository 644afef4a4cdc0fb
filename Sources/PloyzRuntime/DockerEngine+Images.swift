import Foundation
import NIOCore
import NIOFoundationCompat

extension DockerEngine {
    public func imageExists(_ reference: String) async throws -> Bool {
        let operation = "inspect image \(reference)"
        let response = try await call(.GET, "/images/\(reference)/json", operation: operation)
        if response.status == 404 { return false }
        try check(response, operation: operation)
        return true
    }

    public func pullImage(_ reference: String, progress: @escaping @Sendable (String) -> Void) async throws {
        let operation = "pull \(reference)"
        let (repository, tag) = DockerWire.splitReference(reference)
        let response = try await open(.POST, "/images/create", query: [("fromImage", repository), ("tag", tag)],
                                      seconds: transferTimeout, operation: operation)
        if response.status.code != 200 {
            let body = try await mapErrors(operation: operation, seconds: transferTimeout) { try await response.body.collect(upTo: 1 << 20) }
            try check(Response(status: Int(response.status.code), body: body), operation: operation, notFound: .imageNotFound(reference))
        }
        // Docker answers 200 at once and reports a failure midway as a line of the stream.
        var splitter = LineSplitter()
        try await mapErrors(operation: operation, seconds: transferTimeout) {
            for try await chunk in response.body {
                for line in splitter.feed(chunk.readableBytesView) {
                    guard let update = try? JSONDecoder().decode(DockerWire.PullProgress.self, from: Data(line)) else { continue }
                    if let error = update.error { throw RuntimeError.pullFailed(image: reference, message: error) }
                    if let text = DockerWire.progressLine(update) { progress(text) }
                }
            }
        }
    }

    public func importImage(tarPath: String, reference: String) async throws {
        let operation = "import \(tarPath) as \(reference)"
        guard let tar = FileManager.default.contents(atPath: tarPath) else { throw RuntimeError.fileNotReadable(tarPath) }
        let (repository, tag) = DockerWire.splitReference(reference)
        let response = try await call(.POST, "/images/create", query: [("fromSrc", "-"), ("repo", repository), ("tag", tag)],
                                      body: ByteBuffer(data: tar), contentType: "application/x-tar", seconds: transferTimeout,
                                      operation: operation)
        try check(response, operation: operation)
        var splitter = LineSplitter()
        let lines = splitter.feed(response.body.readableBytesView) + [splitter.finish()].compactMap { $0 }
        for line in lines {
            if let error = try? JSONDecoder().decode(DockerWire.PullProgress.self, from: Data(line)).error {
                throw RuntimeError.engine(status: response.status, message: error)
            }
        }
    }
}
