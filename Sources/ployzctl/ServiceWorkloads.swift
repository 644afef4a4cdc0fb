import ArgumentParser
import Foundation
import PloyzDaemon
import PloyzModel

/// `service status` and `service logs`: deployed services' instances, wherever they run.
extension Service {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Every instance of a service: machine, address, container, state, health, since.")
        @Argument(help: "Service name.") var name: String
        @OptionGroup var ns: NamespaceOption
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let p = RecordValidation.label(name, field: "service name") { throw ValidationError(p) }
        }

        func run() throws {
            let status = try withDaemon { try global.client.call(ControlCalls.ServiceStatusCall.self, .init(namespace: ns.namespace, name: name)) }
            try global.emit(status) { ControlFormat.serviceStatus(status) }
        }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs", abstract: "The logs of every instance of a service, each line prefixed with its instance.")
        @Argument(help: "Service name.") var name: String
        @Option(help: "Lines per instance to start with.") var tail = 100
        @Flag(name: .shortAndLong, help: "Keep printing new lines until interrupted.") var follow = false
        @OptionGroup var ns: NamespaceOption
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let p = RecordValidation.label(name, field: "service name") { throw ValidationError(p) }
            guard tail >= 0 else { throw ValidationError("--tail \(tail): must be 0 or more") }
        }

        func run() throws {
            var since: Date?
            var printed = Swift.Set<String>()
            repeat {
                let request = ControlCalls.ServiceLogs.Request(namespace: ns.namespace, name: name, tail: since == nil ? tail : nil, since: since)
                let lines = try withDaemon { try global.client.call(ControlCalls.ServiceLogs.self, request) }.lines
                for line in lines {
                    // A line at the `since` second comes again in the next read: print it once.
                    let key = "\(line.instance)|\(line.time?.timeIntervalSince1970 ?? 0)|\(line.text)"
                    guard printed.insert(key).inserted else { continue }
                    if global.json {
                        try global.emit(line) { "" }
                    } else {
                        print(ControlFormat.logLine(line))
                    }
                }
                fflush(stdout)
                if let last = lines.compactMap(\.time).max() {
                    since = last
                    // Only lines of the last second can come again.
                    printed = printed.filter { $0.contains("|\(last.timeIntervalSince1970)|") }
                } else if since == nil {
                    since = Date()
                }
                if follow { Thread.sleep(forTimeInterval: 1) }
            } while follow
        }
    }
}
