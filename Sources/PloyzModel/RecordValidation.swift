/// Checks on what people type for services, routes and certificates. Each returns nil when the
/// value is fine, else a one-line reason naming the value and what is allowed.
public enum RecordValidation {
    /// A DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'.
    /// Service names, namespaces and instance ids become DNS names, so they obey it.
    public static func label(_ value: String, field: String) -> String? {
        let ok = (1...63).contains(value.utf8.count)
            && value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
            && !value.hasPrefix("-") && !value.hasSuffix("-")
        return ok ? nil : "\(field) \"\(value)\" is not allowed; use 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
    }

    /// An id for KV keys: 1-128 of a-z, A-Z, 0-9, '-', '_' and '.', not starting or ending with '.'.
    public static func identifier(_ value: String, field: String) -> String? {
        let ok = (1...128).contains(value.utf8.count)
            && value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e }
            && !value.hasPrefix(".") && !value.hasSuffix(".")
        return ok ? nil : "\(field) \"\(value)\" is not allowed; use 1-128 characters of letters, digits, '-', '_' and '.'"
    }

    /// A hostname a route or certificate answers for: DNS labels, optionally `*.` first.
    public static func hostname(_ value: String) -> String? {
        let lower = value.lowercased()
        let body = lower.hasPrefix("*.") ? String(lower.dropFirst(2)) : lower
        let labels = body.split(separator: ".", omittingEmptySubsequences: false)
        let ok = !body.isEmpty && body.utf8.count <= 253 && labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
        }
        return ok ? nil : "hostname \"\(value)\" is not allowed; use a DNS name like app.example.com, or *.example.com for every subdomain"
    }

    /// A path prefix: starts with '/', no spaces, query or fragment.
    public static func pathPrefix(_ value: String) -> String? {
        let ok = value.hasPrefix("/") && value.utf8.count <= 1024
            && !value.contains(where: { $0 == " " || $0 == "?" || $0 == "#" || $0.isNewline })
        return ok ? nil : "path prefix \"\(value)\" is not allowed; it must start with '/' and hold no spaces, '?' or '#'"
    }

    public static func port(_ value: Int, field: String = "port") -> String? {
        (1...65535).contains(value) ? nil : "\(field) \(value) is not allowed; use 1-65535"
    }

    /// An instance address: an IPv4 or IPv6 literal.
    public static func address(_ value: String) -> String? {
        IPv4Address(value) != nil || IPv6Address(value) != nil ? nil : "address \"\(value)\" is not an IPv4 or IPv6 address"
    }

    /// Everything wrong with a service record, first problem first.
    public static func problem(with service: ServiceRecord) -> String? {
        if let p = label(service.namespace, field: "namespace") ?? label(service.name, field: "service name") { return p }
        for port in service.ports {
            if let p = label(port.name, field: "port name") ?? self.port(port.port) { return p }
            if port.transport != "tcp" && port.transport != "udp" {
                return "port \(port.name) transport \"\(port.transport)\" is not allowed; use tcp or udp"
            }
        }
        for route in service.routes {
            if route.hostnames.isEmpty { return "a route needs at least one hostname" }
            if let p = route.hostnames.lazy.compactMap(hostname).first ?? pathPrefix(route.pathPrefix) ?? self.port(route.port) { return p }
        }
        return nil
    }

    public static func problem(with instance: InstanceRecord) -> String? {
        identifier(instance.id, field: "instance id") ?? label(instance.namespace, field: "namespace")
            ?? label(instance.service, field: "service name") ?? address(instance.address)
    }
}
