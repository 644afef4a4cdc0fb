import PloyzModel
import Yams

/// Reads a Compose file (the subset of the Compose Specification that Ployz runs) into workload
/// specs. Every key outside the subset is an error naming it and its line, never ignored.
public enum ComposeFile {
    /// Parses `text`; `file` names it in errors; `override` (`-n`) replaces the file's `name` as namespace.
    public static func parse(_ text: String, file: String, namespace override: String?) throws -> ComposeProject {
        let root = try document(text, file: file)
        var name: ComposeNode?
        var servicesNode: ComposeNode?
        for (key, value) in try root.entries() {
            switch key {
            case "name": name = value
            case "services": servicesNode = value
            case "version": continue // obsolete in the Compose Specification; ignored, as Compose does
            case "volumes": throw value.error(.unsupported, "not supported yet (named volumes come with the volumes issue)")
            case "networks": throw value.unsupported("every service joins the mesh network and is reached by name; remove networks")
            case "configs", "secrets": throw value.error(.unsupported, "not supported yet (pass settings through environment for now)")
            case "x-ployz": throw value.error(.invalid, "x-ployz belongs under a service (services.NAME.x-ployz), not at the top")
            case _ where key.hasPrefix("x-"): continue // extension keys, ignored per the Compose Specification
            default: throw value.unsupported("the top level may have name, services, version and x-* extensions")
            }
        }
        let namespace = try self.namespace(name, override: override, file: file)
        guard let servicesNode else {
            throw root.error(.missing, "the file has no services; add services: with at least one service")
        }
        let entries = try servicesNode.entries()
        guard !entries.isEmpty else { throw servicesNode.error(.missing, "has no service; add at least one") }
        var services: [WorkloadSpec] = []
        var routeOwners: [RouteKey: (service: String, line: Int)] = [:]
        for (serviceName, node) in entries {
            if let problem = RecordValidation.label(serviceName, field: "service name") { throw node.error(.invalid, problem) }
            let (spec, routeLines) = try service(serviceName, node, namespace: namespace)
            for (index, (route, line)) in zip(spec.routes, routeLines).enumerated() {
                for host in route.hostnames {
                    let key = RouteKey(host: host, path: route.pathPrefix)
                    if let owner = routeOwners[key] {
                        let whose = owner.service == serviceName ? "another route of this service" : "service \(owner.service)"
                        throw ComposeError(kind: .conflict, file: file, line: line, path: "services.\(serviceName).x-ployz.routes[\(index)]",
                                           message: "route \(key) is also claimed by \(whose) (line \(owner.line)); each host and path goes to one service")
                    }
                    routeOwners[key] = (serviceName, line)
                }
            }
            services.append(spec)
        }
        return ComposeProject(namespace: namespace, services: services)
    }

    /// The root mapping of the file's single document.
    private static func document(_ text: String, file: String) throws -> ComposeNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            let (line, problem) = describe(error)
            throw ComposeError(kind: .notYAML, file: file, line: line, path: "", message: "not YAML: \(problem)")
        }
        guard let root else {
            throw ComposeError(kind: .notYAML, file: file, line: 1, path: "", message: "the file is empty; a Compose file needs services:")
        }
        let node = ComposeNode(node: root, file: file, path: "", line: root.mark?.line ?? 1)
        guard node.isMapping else {
            throw node.error(.invalid, "a Compose file is a mapping with services: at its top, found \(node.shape)")
        }
        return node
    }

    /// A line and a one-line reason for a YAML syntax error (Yams' own text spans several lines).
    private static func describe(_ error: YamlError) -> (line: Int, problem: String) {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return (mark.line, problem + during)
        case let .reader(problem, _, _, _):
            return (1, problem)
        case let .duplicatedKeysInMapping(duplicates, context):
            return (context.mark.line, "key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appears twice in one mapping")
        default:
            return (1, String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable")
        }
    }

    private static func namespace(_ name: ComposeNode?, override: String?, file: String) throws -> String {
        if let override {
            if let problem = RecordValidation.label(override, field: "namespace") {
                throw ComposeError(kind: .invalid, file: file, line: nil, path: "", message: problem)
            }
            return override
        }
        guard let name else { return "default" }
        let text = try name.text()
        if let problem = RecordValidation.label(text, field: "namespace") { throw name.error(.invalid, problem) }
        return text
    }
}
