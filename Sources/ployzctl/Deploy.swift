import ArgumentParser
import Foundation
import PloyzCompose
import PloyzDaemon
import PloyzModel

struct Deploy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy the services of a Compose file across the mesh, and wait until every instance is ready.",
        discussion: """
        Supported: image, command, entrypoint, environment, expose, deploy (replicas, mode, \
        update_config.order, resources.limits), healthcheck, labels, restart, stop_grace_period; \
        Ployz's own keys under x-ployz: routes (host, path, port) and placement (machine names). \
        Any other key is an error naming it and its line.
        """)

    @Option(name: .shortAndLong, help: ArgumentHelp("The Compose file.", valueName: "file"))
    var file: String

    @Option(name: .shortAndLong, help: "The namespace (default: the file's `name`, else default).")
    var namespace: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let namespace, let problem = RecordValidation.label(namespace, field: "namespace") { throw ValidationError(problem) }
    }

    func run() throws {
        let project = try loadProject()
        let started = try withDaemon {
            try global.client.call(ControlCalls.Deploy.self, .init(services: project.services))
        }
        if !global.json { started.lines.forEach { print($0) } }
        let outcome = try follow(started.deployment, offset: started.lines.count)
        if global.json { try global.emit(outcome) { "" } }
        if let error = outcome.error { throw error }
    }

    /// Reads and parses the file; every problem is one line naming the file (and the line) and exits 2.
    private func loadProject() throws -> ComposeProject {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ControlError(.usage, "\(file): cannot read it: \((error as NSError).localizedDescription)")
        }
        do {
            return try ComposeFile.parse(text, file: (file as NSString).lastPathComponent, namespace: namespace)
        } catch let error as ComposeError {
            throw ControlError(.usage, error.description)
        }
    }

    /// Prints the deployment's lines as they come, until it ends.
    private func follow(_ id: String, offset start: Int) throws -> ControlCalls.DeployStatus.Response {
        var offset = start
        while true {
            let status = try withDaemon { try global.client.call(ControlCalls.DeployStatus.self, .init(deployment: id, offset: offset)) }
            if !global.json { status.lines.forEach { print($0) } }
            offset += status.lines.count
            if status.done { return status }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}
