import PloyzModel

extension ComposeFile {
    /// A service's `x-ployz`: its gateway routes (with the line of each) and its placement.
    static func ployz(_ node: ComposeNode, ports: [ServicePort]) throws -> ([HTTPRoute], [Int], PlacementRule) {
        var routes: [HTTPRoute] = []
        var lines: [Int] = []
        var placement = PlacementRule.spread
        for (key, value) in try node.entries() {
            switch key {
            case "routes":
                for item in try value.items() {
                    routes.append(try route(item, ports: ports))
                    lines.append(item.line)
                }
            case "placement": placement = try self.placement(value)
            default: throw value.unsupported("x-ployz may have routes and placement")
            }
        }
        return (routes, lines, placement)
    }

    /// One route: `host` (a name or a list), `path` prefix (default `/`), `port` (one the service exposes over tcp).
    static func route(_ node: ComposeNode, ports: [ServicePort]) throws -> HTTPRoute {
        var hosts: [String] = []
        var path = "/"
        var port: Int?
        for (key, value) in try node.entries() {
            switch key {
            case "host":
                hosts = try value.texts().map { $0.lowercased() }
                guard !hosts.isEmpty else { throw value.error(.missing, "names no host; give a host name, or a list of them") }
                if let problem = hosts.lazy.compactMap(RecordValidation.hostname).first { throw value.error(.invalid, problem) }
            case "path":
                path = try value.text()
                if let problem = RecordValidation.pathPrefix(path) { throw value.error(.invalid, problem) }
            case "port":
                let number = try value.int(in: 1...65535)
                guard ports.contains(where: { $0.port == number && $0.transport == "tcp" }) else {
                    let exposed = ports.filter { $0.transport == "tcp" }.map(\.name).joined(separator: ", ")
                    throw value.error(.invalid, "port \(number) is not exposed over tcp (expose: \(exposed.isEmpty ? "none" : exposed)); add it to expose, or route to an exposed port")
                }
                port = number
            default:
                throw value.unsupported("a route may have host, path and port")
            }
        }
        guard !hosts.isEmpty else { throw node.error(.missing, "route has no host; add host: NAME") }
        guard let port else { throw node.error(.missing, "route has no port; add port: with a port from expose") }
        return HTTPRoute(hostnames: hosts, pathPrefix: path, port: port)
    }

    /// `spread`, a list of machine names, or `{machines: [...]}`.
    static func placement(_ node: ComposeNode) throws -> PlacementRule {
        if node.isSequence { return try machines(node) }
        if node.isMapping {
            var rule: PlacementRule?
            for (key, value) in try node.entries() {
                guard key == "machines" else { throw value.unsupported("placement may be spread, a list of machine names, or machines: [...]") }
                rule = try machines(value)
            }
            guard let rule else { throw node.error(.missing, "names no machine; add machines: [NAME, ...]") }
            return rule
        }
        let text = try node.text()
        guard text == "spread" else {
            throw node.error(.invalid, "\"\(text)\" is not allowed; use spread, a list of machine names, or machines: [...]")
        }
        return .spread
    }

    static func machines(_ node: ComposeNode) throws -> PlacementRule {
        var names: [String] = []
        for item in try node.items() {
            let name = try item.text().lowercased()
            if let problem = RecordValidation.label(name, field: "machine name") { throw item.error(.invalid, problem) }
            guard !names.contains(name) else { throw item.error(.invalid, "machine \(name) is listed twice") }
            names.append(name)
        }
        guard !names.isEmpty else { throw node.error(.missing, "names no machine; list at least one, or use spread") }
        return .machines(names)
    }
}
