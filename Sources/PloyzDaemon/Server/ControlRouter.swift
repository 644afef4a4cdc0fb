import Foundation

/// The daemon's side of the control API: one handler per call type, looked up by method. Handlers
/// get their request decoded and return their response; the router does the envelope and errors.
public struct ControlRouter: Sendable {
    private typealias Handler = @Sendable (_ params: Data) async throws -> Data
    private var handlers: [ControlMethod: Handler] = [:]

    public init() {}

    /// Answers `call` with `handle`.
    public mutating func on<C: ControlCall>(_ call: C.Type, _ handle: @escaping @Sendable (C.Request) async throws -> C.Response) {
        precondition(handlers[C.method] == nil, "\(C.method.rawValue) has two handlers")
        handlers[C.method] = { params in
            ControlWire.resultLine(try await handle(try ControlWire.decodeRequest(C.self, params: params)))
        }
    }

    /// The methods nobody answers; none for the daemon's router.
    public var unhandled: [ControlMethod] { ControlMethod.allCases.filter { handlers[$0] == nil } }

    /// Answers one request line with one response line, newline included. Never throws: a line
    /// that is not a request gets a `.usage` error, a failure that is not a `ControlError` `.failed`.
    public func respond(to line: Data) async -> Data {
        switch ControlWire.requestHead(line) {
        case .failure(let error):
            return ControlWire.errorLine(error)
        case .success(let head):
            guard let handler = handlers[head.method] else {
                return ControlWire.errorLine(ControlError(.failed, "\(head.method.rawValue) has no handler in this daemon"))
            }
            do {
                return try await handler(head.params)
            } catch let error as ControlError {
                return ControlWire.errorLine(error)
            } catch {
                return ControlWire.errorLine(ControlError(.failed, PhaseRunner.oneLine(error)))
            }
        }
    }
}
