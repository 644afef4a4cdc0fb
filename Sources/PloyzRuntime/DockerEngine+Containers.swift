import Foundation
import NIOCore

extension DockerEngine {
    public func createContainer(_ spec: ContainerCreateSpec) async throws -> String {
        struct Created: Decodable { var Id: String }
        let operation = "create container \(spec.name)"
        let response = try await call(.POST, "/containers/create", query: [("name", spec.name)],
                                      json: DockerWire.containerCreate(spec), operation: operation)
        try check(response, operation: operation, notFound: .imageNotFound(spec.template.image))
        return try decode(Created.self, response, operation: operation).Id
    }

    public func startContainer(id: String) async throws {
        let operation = "start container \(id)"
        let response = try await call(.POST, "/containers/\(id)/start", operation: operation)
        try check(response, operation: operation, notFound: .containerNotFound(id))
    }

    public func stopContainer(id: String, grace: Double) async throws {
        let operation = "stop container \(id)"
        let seconds = Int(grace.rounded(.up))
        let response = try await call(.POST, "/containers/\(id)/stop", query: [("t", String(seconds))],
                                      seconds: Double(seconds) + timeout, operation: operation)
        try check(response, operation: operation, notFound: .containerNotFound(id))
    }

    public func killContainer(id: String, signal: String) async throws {
        let operation = "kill container \(id)"
        let response = try await call(.POST, "/containers/\(id)/kill", query: [("signal", signal)], operation: operation)
        try check(response, operation: operation, notFound: .containerNotFound(id))
    }

    public func removeContainer(id: String, force: Bool) async throws {
        let operation = "remove container \(id)"
        let response = try await call(.DELETE, "/containers/\(id)", query: [("force", force ? "true" : "false")], operation: operation)
        if response.status == 404 { return }
        try check(response, operation: operation)
    }

    public func inspectContainer(id: String) async throws -> ContainerInfo? {
        let operation = "inspect container \(id)"
        let response = try await call(.GET, "/containers/\(id)/json", operation: operation)
        if response.status == 404 { return nil }
        try check(response, operation: operation)
        return DockerWire.containerInfo(try decode(DockerWire.ContainerInspect.self, response, operation: operation))
    }

    public func listContainers(labels: [String: String]) async throws -> [ContainerInfo] {
        let operation = "list containers"
        let response = try await call(.GET, "/containers/json",
                                      query: [("all", "true"), ("filters", DockerWire.filters(labels: labels))], operation: operation)
        try check(response, operation: operation)
        // The list lacks health, times and restart counts: inspect each; one gone meanwhile is left out.
        var containers: [ContainerInfo] = []
        for summary in try decode([DockerWire.ContainerSummary].self, response, operation: operation) {
            if let info = try await inspectContainer(id: summary.Id) { containers.append(info) }
        }
        return containers
    }
}
