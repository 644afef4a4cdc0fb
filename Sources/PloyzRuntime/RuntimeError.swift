/// Why a runtime call failed.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    /// The engine does not answer at its socket (not running, wrong path, no permission).
    case unavailable(socket: String, reason: String)
    /// The call got no answer in time.
    case timeout(operation: String, seconds: Double)
    case imageNotFound(String)
    case containerNotFound(String)
    /// A name already taken, or an object in use (e.g. a network with containers on it).
    case conflict(String)
    /// The network exists with another subnet than the one asked for.
    case networkMismatch(name: String, existing: String, wanted: String)
    /// A pull the registry or engine refused midway.
    case pullFailed(image: String, message: String)
    /// A local file the call needs (e.g. an image tarball) cannot be read.
    case fileNotReadable(String)
    /// Any other refusal, with the engine's own message.
    case engine(status: Int, message: String)
    /// The engine answered something this client cannot read.
    case badResponse(operation: String, reason: String)

    public var description: String {
        switch self {
        case let .unavailable(socket, reason): "Docker is not running at \(socket): \(reason)"
        case let .timeout(operation, seconds): "Docker did not answer \(operation) within \(Self.format(seconds)) s"
        case let .imageNotFound(image): "image \(image) not found"
        case let .containerNotFound(id): "container \(id) not found"
        case let .conflict(message): "conflict: \(message)"
        case let .networkMismatch(name, existing, wanted):
            "network \(name) exists with subnet \(existing), not \(wanted): remove it or use its subnet"
        case let .pullFailed(image, message): "pull of \(image) failed: \(message)"
        case let .fileNotReadable(path): "cannot read \(path)"
        case let .engine(status, message): "Docker refused (\(status)): \(message)"
        case let .badResponse(operation, reason): "unreadable answer from Docker to \(operation): \(reason)"
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
