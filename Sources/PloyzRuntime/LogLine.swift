/// One line a container wrote, without its newline.
public struct LogLine: Sendable, Hashable {
    public enum Stream: String, Sendable, Hashable {
        case stdout, stderr
    }

    public var stream: Stream
    public var text: String

    public init(stream: Stream, text: String) {
        self.stream = stream
        self.text = text
    }
}
