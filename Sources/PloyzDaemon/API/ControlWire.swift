import Foundation
import PloyzModel

/// The control API's wire format, both sides: one JSON object per line. A request is
/// `{"method": "mesh.init", "params": {...}}`, its response `{"result": {...}}` or
/// `{"error": {"code": "...", "message": "..."}}`. The envelope is read first, then the payload is
/// decoded as the method's own type, so that a decode error names the field from the payload's root.
public enum ControlWire {
    /// The request line for one call, newline included.
    public static func requestLine<C: ControlCall>(_ call: C.Type, _ request: C.Request) throws -> Data {
        try line(RequestEnvelope(method: C.method, params: request))
    }

    /// A request line's method and its `params` as JSON (`{}` when absent), or a `.usage` error.
    public static func requestHead(_ line: Data) -> Result<(method: ControlMethod, params: Data), ControlError> {
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            return .failure(ControlError(.usage, #"malformed request: expected one JSON object per line like {"method":"mesh.list","params":{}}"#))
        }
        guard let name = object["method"] as? String else {
            return .failure(ControlError(.usage, #"malformed request: "method" must be a string, e.g. "mesh.list""#))
        }
        guard let method = ControlMethod(rawValue: name) else {
            let known = ControlMethod.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(ControlError(.usage, "unknown method \"\(name)\"; known: \(known)"))
        }
        let params = object["params"] ?? [String: Any]()
        guard params is [String: Any], let data = try? JSONSerialization.data(withJSONObject: params) else {
            return .failure(ControlError(.usage, "bad params for \(name): params must be an object"))
        }
        return .success((method, data))
    }

    /// Decodes a request's params as `C.Request`; a `.usage` error names what is missing or mistyped.
    public static func decodeRequest<C: ControlCall>(_ call: C.Type, params: Data) throws -> C.Request {
        do { return try JSONDecoder.ployz.decode(C.Request.self, from: params) } catch {
            throw ControlError(.usage, "bad params for \(C.method.rawValue): \(problem(error))")
        }
    }

    /// The response line of a result, newline included.
    public static func resultLine<R: Encodable>(_ result: R) -> Data {
        do { return try line(ResultEnvelope(result: result)) } catch {
            return errorLine(ControlError(.failed, "cannot encode the response: \(problem(error))"))
        }
    }

    /// The response line of an error, newline included.
    public static func errorLine(_ error: ControlError) -> Data {
        (try? line(ErrorEnvelope(error: error))) ?? Data(#"{"error":{"code":"failed","message":"cannot encode the error"}}\#n"#.utf8)
    }

    /// Decodes a response line: the result as `C.Response`, or throws the daemon's `ControlError`.
    /// Anything else (not JSON, neither result nor error, a missing or mistyped field) throws
    /// `ControlClient.BadResponse` naming it: a caller never gets an empty success.
    public static func decodeResponse<C: ControlCall>(_ call: C.Type, _ line: Data) throws -> C.Response {
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw ControlClient.BadResponse(reason: "not a JSON object: \(String(decoding: line.prefix(80), as: UTF8.self))")
        }
        if let error = object["error"] {
            let refusal: ControlError
            do { refusal = try JSONDecoder.ployz.decode(ControlError.self, from: data(error)) } catch {
                throw ControlClient.BadResponse(reason: "bad error for \(C.method.rawValue): \(problem(error))")
            }
            throw refusal
        }
        guard let result = object["result"] else {
            throw ControlClient.BadResponse(reason: "\(C.method.rawValue) answered neither result nor error")
        }
        do { return try JSONDecoder.ployz.decode(C.Response.self, from: data(result)) } catch {
            throw ControlClient.BadResponse(reason: "bad result for \(C.method.rawValue): \(problem(error))")
        }
    }

    /// One line naming the field a decode failed at: `missing field "service.name"`,
    /// `field "force" must be true or false`.
    public static func problem(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return PhaseRunner.oneLine(error) }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \"\(path(context.codingPath + [key]))\""
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return field.isEmpty ? "expected \(kind(of: type))" : "field \"\(field)\" must be \(kind(of: type))"
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            let why = context.debugDescription.split(whereSeparator: \.isNewline).joined(separator: " ")
            return field.isEmpty ? why : "field \"\(field)\": \(why)"
        @unknown default:
            return PhaseRunner.oneLine(error)
        }
    }

    /// `service.ports[0].port`.
    private static func path(_ keys: [CodingKey]) -> String {
        let text = keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
        return text.hasPrefix(".") ? String(text.dropFirst()) : text
    }

    /// The JSON kind a Swift type decodes from, as a person would name it.
    private static func kind(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is any BinaryInteger.Type: "a whole number"
        case is any BinaryFloatingPoint.Type: "a number"
        default: String(describing: type).hasPrefix("Array<") ? "an array" : "an object"
        }
    }

    private static func line<T: Encodable>(_ value: T) throws -> Data {
        var data = try JSONEncoder.ployz.encode(value)
        data.append(0x0a)
        return data
    }

    private static func data(_ object: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: .fragmentsAllowed)
    }

    private struct RequestEnvelope<Params: Encodable>: Encodable {
        let method: ControlMethod
        let params: Params
    }

    private struct ResultEnvelope<Result: Encodable>: Encodable {
        let result: Result
    }

    private struct ErrorEnvelope: Encodable {
        let error: ControlError
    }
}
