/// Host and port of a `nats://[v6]:port` or `nats://host:port` URL. Pure.
enum StoreURL {
    static func url(host: String, port: Int) -> String {
        host.contains(":") ? "nats://[\(host)]:\(port)" : "nats://\(host):\(port)"
    }

    static func host(of url: String) -> String? {
        guard let rest = url.split(separator: "://", maxSplits: 1).last else { return nil }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[rest.index(after: rest.startIndex)..<close]) }
        return rest.split(separator: ":").first.map(String.init)
    }

    static func port(of url: String) -> Int? {
        guard let colon = url.lastIndex(of: ":"), !url[colon...].contains("]") else { return nil }
        return Int(url[url.index(after: colon)...])
    }
}
