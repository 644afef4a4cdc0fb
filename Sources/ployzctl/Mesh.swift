import ArgumentParser
import Foundation
import PloyzDaemon
import PloyzModel

struct Mesh: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the lifecycle of mesh networks.",
        subcommands: [Init.self, Create.self, Start.self, Stop.self, List.self, Status.self, Ready.self, Invite.self, Join.self])
}

/// Checks a network name locally so that bad input never reaches the daemon.
func validatedName(_ name: String) throws -> String {
    if let problem = NetworkName.problem(with: name) { throw ValidationError(problem) }
    return name
}

extension Mesh {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new mesh network on this node and make it the running network.")

        @Argument(help: "The network's name (a-z, 0-9, '-').")
        var name: String?

        @Flag(name: .customLong("name-stdin"), help: "Read the name from standard input.")
        var nameStdin = false

        @OptionGroup var global: GlobalOptions

        mutating func validate() throws {
            if nameStdin {
                guard name == nil else { throw ValidationError("give the name as an argument or with --name-stdin, not both") }
                name = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces) ?? ""
            }
            guard let name else { throw ValidationError("missing network name: ployzctl mesh init NAME (or --name-stdin)") }
            _ = try validatedName(name)
        }

        func run() throws {
            let network = try withDaemon { try global.client.call(ControlCalls.MeshInit.self, .init(name: name ?? "")) }
            try global.emit(network) { ControlFormat.status(network) }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a named network record without starting it.")

        @Argument(help: "The network's name (a-z, 0-9, '-').")
        var name: String

        @OptionGroup var global: GlobalOptions

        func validate() throws { _ = try validatedName(name) }

        func run() throws {
            let network = try withDaemon { try global.client.call(ControlCalls.MeshCreate.self, .init(name: name)) }
            try global.emit(network) { "created network \(network.name): subnet \(network.subnet), overlay \(network.overlayIPv6)\nstart it with `ployzctl mesh start \(network.name)`" }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the WireGuard interface and sidecars of an existing network.")

        @Argument(help: "The network to start.")
        var name: String

        @OptionGroup var global: GlobalOptions

        func validate() throws { _ = try validatedName(name) }

        func run() throws {
            let network = try withDaemon { try global.client.call(ControlCalls.MeshStart.self, .init(name: name)) }
            try global.emit(network) { ControlFormat.status(network) }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the active mesh.")

        @Flag(help: "Stop even if workloads are still running.")
        var force = false

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try withDaemon { try global.client.call(ControlCalls.MeshStop.self, .init(force: force)) }
            try global.emit(result) { result.message }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List all known networks.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let networks = try withDaemon { try global.client.call(ControlCalls.MeshList.self).networks }
            try global.emit(networks) { ControlFormat.networks(networks) }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Detailed peer and subnet state of a network (default: the active one).")

        @Argument(help: "The network to show.")
        var name: String?

        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let name { _ = try validatedName(name) }
        }

        func run() throws {
            let network = try withDaemon { try global.client.call(ControlCalls.MeshStatus.self, .init(name: name)) }
            try global.emit(network) { ControlFormat.status(network) }
        }
    }

    struct Ready: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Exit 0 if the mesh is healthy, 1 otherwise.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let report: ReadyReport
            do {
                report = try global.client.call(ControlCalls.MeshReady.self, .init())
            } catch let error as ControlClient.Unreachable {
                report = ReadyReport(network: nil, checks: [.init(name: "daemon", ok: false, detail: error.description)])
            }
            try global.emit(report) { ControlFormat.ready(report) }
            if !report.ready { throw ExitCode(1) }
        }
    }

    struct Invite: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a single-use token that lets a new node join the running network.")

        @Option(name: .long, help: ArgumentHelp("How long the token is valid: 90s, 10m, 2h, 1h30m, 7d.", valueName: "duration"))
        var ttl: String = "10m"

        @OptionGroup var global: GlobalOptions

        func validate() throws {
            guard let seconds = DurationText.parse(ttl), seconds > 0 else {
                throw ValidationError("--ttl \"\(ttl)\" is not a duration; use e.g. 90s, 10m, 2h, 1h30m, 7d")
            }
        }

        func run() throws {
            let seconds = DurationText.parse(ttl) ?? 600
            let result = try withDaemon { try global.client.call(ControlCalls.MeshInvite.self, .init(ttlSeconds: seconds)) }
            try global.emit(result) { result.token }
        }
    }

    struct Join: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join a network with a token from `ployzctl mesh invite`.")

        @Option(name: .long, help: ArgumentHelp("The invite token.", valueName: "token"))
        var token: String?

        @Flag(name: .customLong("token-stdin"), help: "Read the token from standard input (keeps it out of the process list).")
        var tokenStdin = false

        @OptionGroup var global: GlobalOptions

        mutating func validate() throws {
            if tokenStdin {
                guard token == nil else { throw ValidationError("give the token with --token or --token-stdin, not both") }
                token = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces) ?? ""
            }
            guard let token, !token.isEmpty else { throw ValidationError("missing token: ployzctl mesh join --token T (or --token-stdin)") }
        }

        func run() throws {
            // The steps come back together at the end; say at once that the join is under way.
            if !global.json { FileHandle.standardError.write(Data("joining: verifying the token, then tunnel, store and peers...\n".utf8)) }
            let result = try withDaemon {
                try ControlClient(socketPath: global.socketPath, timeout: 300).call(ControlCalls.MeshJoin.self, .init(token: token ?? ""))
            }
            try global.emit(result) { result.message }
        }
    }
}
