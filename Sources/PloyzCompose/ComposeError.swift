/// Why a Compose file was refused: where (file, line, key path) and what, on one line, e.g.
/// `compose.yaml:12: services.web.ports: not supported by Ployz (...)`.
public struct ComposeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem it is, for callers that decide on it (never on the message text).
    public enum Kind: String, Sendable, Equatable {
        /// The text is not YAML, or holds no document.
        case notYAML
        /// A key Ployz does not run (yet); the message says what to use instead.
        case unsupported
        /// A required key is absent.
        case missing
        /// A value of the wrong shape or out of range.
        case invalid
        /// Two services claim the same route.
        case conflict
    }

    public var kind: Kind
    public var file: String
    /// 1-based line of the offending key; nil when the problem is not in the file (the `-n` override).
    public var line: Int?
    /// Dotted key path, e.g. `services.web.deploy.replicas`; empty for the file as a whole.
    public var path: String
    public var message: String

    public init(kind: Kind, file: String, line: Int?, path: String, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.path = path
        self.message = message
    }

    public var description: String {
        let place = line.map { "\(file):\($0): " } ?? ""
        return place + (path.isEmpty ? "" : "\(path): ") + message
    }
}
