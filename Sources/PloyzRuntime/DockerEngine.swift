import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `ContainerRuntime` on Docker Engine's HTTP API over its unix socket. Holds one HTTP client,
/// which must be shut down: call `shutdown()` before dropping the engine (the client traps in
/// its deinit otherwise).
public final class DockerEngine: ContainerRuntime {
    public let socketPath: String
    /// The API version every path starts with, e.g. "v1.41" (Debian 12's docker.io 20.10).
    public let apiVersion: String
    /// Seconds a call may take, beyond any wait the call itself asks for (a stop's grace).
    public let timeout: Double
    /// Seconds a pull or an import may take.
    public let transferTimeout: Double
    let client: HTTPClient
    let logger: Logger

    public init(socketPath: String = "/var/run/docker.sock", apiVersion: String = "v1.41", timeout: Double = 30,
                transferTimeout: Double = 1800, logger: Logger = Logger(label: "ployz.runtime.docker")) {
        self.socketPath = socketPath
        self.apiVersion = apiVersion
        self.timeout = timeout
        self.transferTimeout = transferTimeout
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        // No read timeout: event and log streams stay quiet for as long as nothing happens;
        // every call has a deadline instead.
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5))
        configuration.httpVersion = .http1Only
        // Each open event or log stream holds a connection of its own.
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60),
                                                                               concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // A local socket that refuses once refuses again: fail at once ("not running") rather than
        // retry with backoff until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration, backgroundActivityLogger: logger)
    }

    /// Closes the client's connections; streams still open end with an error.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func ping() async throws {
        let response = try await call(.GET, "/_ping", operation: "ping")
        try check(response, operation: "ping")
    }
}

// MARK: HTTP exchange

extension DockerEngine {
    struct Response {
        var status: Int
        var body: ByteBuffer

        var text: String { String(buffer: body) }
    }

    /// One request whose whole answer arrives within `seconds` (default `timeout`).
    func call(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json: (any Encodable)? = nil,
              body: ByteBuffer? = nil, contentType: String? = nil, seconds: Double? = nil, operation: String) async throws -> Response {
        let limit = seconds ?? timeout
        var request = try makeRequest(method, path, query: query)
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(json)))
        } else if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/octet-stream")
            request.body = .bytes(body)
        }
        return try await mapErrors(operation: operation, seconds: limit) {
            let response = try await self.client.execute(request, deadline: .now() + Self.amount(limit), logger: self.logger)
            let body = try await response.body.collect(upTo: 256 << 20)
            self.logger.trace("docker call", metadata: ["operation": "\(operation)", "status": "\(response.status.code)"])
            return Response(status: Int(response.status.code), body: body)
        }
    }

    /// A request whose answer streams: returns once its head has come; the body is read by the caller.
    func open(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], seconds: Double?,
              operation: String) async throws -> HTTPClientResponse {
        let request = try makeRequest(method, path, query: query)
        let deadline: NIODeadline = seconds.map { .now() + Self.amount($0) } ?? .now() + .hours(24 * 365)
        return try await mapErrors(operation: operation, seconds: seconds ?? 0) {
            try await self.client.execute(request, deadline: deadline, logger: self.logger)
        }
    }

    /// Runs an exchange, turning the HTTP client's failures into `RuntimeError`s.
    func mapErrors<T>(operation: String, seconds: Double, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RuntimeError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw RuntimeError.timeout(operation: operation, seconds: seconds)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RuntimeError.unavailable(socket: socketPath, reason: Self.connectFailure(error))
        }
    }

    func makeRequest(_ method: HTTPMethod, _ path: String, query: [(String, String)]) throws -> HTTPClientRequest {
        var uri = path == "/_ping" ? path : "/\(apiVersion)\(path)"
        if !query.isEmpty {
            uri += "?" + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: uri) else {
            throw RuntimeError.unavailable(socket: socketPath, reason: "not a usable socket path")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "Host", value: "docker")
        return request
    }

    /// Throws unless the status is 2xx or 304 (Docker's "already so"): 404 becomes `notFound`
    /// when given, 409 a conflict, anything else an engine error with Docker's message.
    func check(_ response: Response, operation: String, notFound: RuntimeError? = nil) throws {
        if (200..<300).contains(response.status) || response.status == 304 { return }
        let message = Self.message(response.body)
        if response.status == 404, let notFound { throw notFound }
        if response.status == 409 { throw RuntimeError.conflict(message) }
        throw RuntimeError.engine(status: response.status, message: message)
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: Response, operation: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: response.body))
        } catch {
            throw RuntimeError.badResponse(operation: operation, reason: Self.oneLine(error))
        }
    }

    /// Docker's `{"message": ...}`, or the body as it is.
    static func message(_ body: ByteBuffer) -> String {
        let data = Data(buffer: body)
        if let error = try? JSONDecoder().decode(DockerWire.ErrorBody.self, from: data) { return error.message }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The system's words for a failed connect ("No such file or directory", "Connection
    /// refused"), else the error's first line.
    static func connectFailure(_ error: Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return oneLine(error)
    }

    static func oneLine(_ error: Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(type(of: error))"
    }

    static func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1_000_000_000)) }

    static func percentEncoded(_ value: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        return value.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
    }
}
