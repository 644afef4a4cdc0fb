import PloyzModel

extension ComposeFile {
    /// The keys a service may have, named in the message for one it may not.
    static let serviceKeys = "image, command, entrypoint, environment, expose, deploy, healthcheck, labels, restart, stop_grace_period and x-ployz"

    /// Why a known Compose service key is refused, and what to do instead.
    static let unsupportedServiceKeys: [String: String] = [
        "ports": "services reach each other over the mesh; use expose, and x-ployz.routes for the gateway",
        "networks": "every service joins the mesh network and is reached by name; remove networks",
        "network_mode": "every service joins the mesh network and is reached by name; remove network_mode",
        "depends_on": "services start independently and find each other by name; let a service retry until what it needs answers",
        "links": "services find each other by name over the mesh; remove links",
        "build": "Ployz runs images; build and push the image, then name it in image",
        "container_name": "Ployz names each instance's container itself",
        "hostname": "Ployz names each instance itself",
        "scale": "use deploy.replicas",
        "env_file": "put the variables in environment",
    ]

    /// One service and, for each of its routes, the line it was written on.
    static func service(_ name: String, _ node: ComposeNode, namespace: String) throws -> (WorkloadSpec, [Int]) {
        var image: String?
        var template = ContainerTemplate(image: "")
        var deploy = Deploy()
        var ports: [ServicePort] = []
        var ployz: ComposeNode?
        for (key, value) in try node.entries() {
            switch key {
            case "image":
                let text = try value.text()
                guard !text.isEmpty, !text.contains(where: \.isWhitespace) else {
                    throw value.error(.invalid, "image \"\(text)\" is not allowed; name an image like busybox:1.36 or registry.example.com/app:2")
                }
                image = text
            case "command": template.command = try commandLine(value)
            case "entrypoint": template.entrypoint = try commandLine(value)
            case "environment": template.environment = try value.keyValues(valueRequired: true)
            case "labels": template.labels = try labels(value)
            case "expose": ports = try expose(value)
            case "deploy": deploy = try self.deploy(value)
            case "healthcheck": template.healthcheck = try healthcheck(value)
            case "restart": template.restart = try restart(value)
            case "stop_grace_period": template.stopGracePeriod = try value.duration()
            case "volumes": throw value.error(.unsupported, "not supported yet: named volumes wait for the volumes issue; remove volumes for now")
            case "x-ployz": ployz = value
            case _ where key.hasPrefix("x-"): continue // extension keys, ignored per the Compose Specification
            default:
                throw value.unsupported(unsupportedServiceKeys[key] ?? "a service may have \(serviceKeys)")
            }
        }
        guard let image else { throw node.error(.missing, "service \(name) has no image; add image: NAME:TAG") }
        template.image = image
        template.limits = deploy.limits
        let (routes, routeLines, placement) = try ployz.map { try self.ployz($0, ports: ports) } ?? ([], [], .spread)
        let spec = WorkloadSpec(namespace: namespace, name: name, template: template, mode: deploy.mode, ports: ports,
                                routes: routes, placement: placement, updateOrder: deploy.updateOrder)
        return (spec, routeLines)
    }

    /// `command` or `entrypoint`: a list of words, or one line split as a shell would.
    static func commandLine(_ node: ComposeNode) throws -> [String] {
        if node.isSequence { return try node.items().map { try $0.text() } }
        let line = try node.text()
        guard let words = ComposeValues.shellWords(line) else {
            throw node.error(.invalid, "cannot split \"\(line)\" into words: a quote is left open or it ends in a lone backslash; close it, or write a list")
        }
        return words
    }

    static func labels(_ node: ComposeNode) throws -> [String: String] {
        let labels = try node.keyValues(valueRequired: false)
        if let reserved = labels.keys.sorted().first(where: { $0.hasPrefix("ployz.") }) {
            throw node.error(.invalid, "label \(reserved) is not allowed: labels starting with ployz. are Ployz's own")
        }
        return labels
    }

    /// `expose`: ports named by their number, tcp unless `/udp` follows.
    static func expose(_ node: ComposeNode) throws -> [ServicePort] {
        var ports: [ServicePort] = []
        for item in try node.items() {
            let text = try item.text()
            guard let (port, transport) = ComposeValues.exposedPort(text) else {
                throw item.error(.invalid, "\"\(text)\" is not allowed; write a port like 8080, \"8080/tcp\" or \"53/udp\" (ranges are not supported)")
            }
            if let problem = RecordValidation.port(port) { throw item.error(.invalid, problem) }
            let servicePort = ServicePort(name: String(port), port: port, transport: transport)
            guard !ports.contains(servicePort) else { throw item.error(.invalid, "\(port)/\(transport) is listed twice") }
            ports.append(servicePort)
        }
        return ports
    }

    static func restart(_ node: ComposeNode) throws -> RestartPolicy {
        let text = try node.text()
        guard let policy = RestartPolicy(rawValue: text) else {
            throw node.error(.invalid, "\"\(text)\" is not allowed; use no, always, on-failure or unless-stopped")
        }
        return policy
    }
}
