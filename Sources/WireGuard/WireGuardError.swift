import Foundation

/// A WireGuard device could not be read or configured.
public enum WireGuardError: Error, Equatable, CustomStringConvertible {
    /// The device answered a request with a non-zero errno.
    case uapi(errno: Int, operation: String)
    /// The UAPI socket failed (connect, read, write, timeout) with this errno.
    case socket(errno: Int32, operation: String, path: String)
    /// The device's answer did not follow the UAPI line protocol.
    case malformedResponse(String)
    /// A value cannot be sent: e.g. an endpoint or allowed IP with a newline, or an invalid key.
    case invalidValue(String)
    /// The UAPI socket did not appear in time (is wireguard-go running for this interface?).
    case socketTimeout(path: String, timeout: Duration)
    /// `wg` exited non-zero.
    case wgTool(command: String, status: Int32, stderr: String)

    public var description: String {
        switch self {
        case .uapi(let errno, let operation):
            return "WireGuard UAPI \(operation) failed with errno \(errno)"
        case .socket(let errno, let operation, let path):
            return "WireGuard UAPI socket \(path): \(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        case .malformedResponse(let detail):
            return "WireGuard UAPI answer is malformed: \(detail)"
        case .invalidValue(let detail):
            return "invalid WireGuard setting: \(detail)"
        case .socketTimeout(let path, let timeout):
            return "WireGuard UAPI socket \(path) did not accept connections within \(timeout); is wireguard-go running for this interface?"
        case .wgTool(let command, let status, let stderr):
            return "`\(command)` exited with status \(status): \(stderr.isEmpty ? "(no stderr)" : stderr)"
        }
    }
}

/// An `ip` (iproute2) command exited non-zero.
public struct LinkError: Error, Equatable, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let stderr: String

    public init(command: String, status: Int32, stderr: String) {
        self.command = command
        self.status = status
        self.stderr = stderr
    }

    public var description: String {
        "`\(command)` exited with status \(status): \(stderr.isEmpty ? "(no stderr)" : stderr)"
    }
}
