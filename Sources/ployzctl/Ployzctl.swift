import ArgumentParser
import Foundation
import PloyzDaemon
import PloyzModel

struct Ployzctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ployzctl",
        abstract: "Drive ployzd: create, start, join and inspect WireGuard mesh networks.",
        subcommands: [Mesh.self, Deploy.self, Service.self, Instance.self, Route.self, Cert.self, DNS.self])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("ployzd's control socket (env PLOYZ_SOCKET).", valueName: "path"))
    var socket: String?

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["PLOYZ_SOCKET"] ?? PloyzConfig().socketPath
    }

    var client: ControlClient { ControlClient(socketPath: socketPath) }

    /// People write `ployzctl --socket S mesh status` as often as `ployzctl mesh status --socket S`;
    /// ArgumentParser reads a subcommand's options only after its name, so leading global options
    /// are moved to the end.
    static func movedToEnd(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--socket", index + 1 < arguments.endIndex {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if argument.hasPrefix("--socket=") || argument == "--json" {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        return Array(arguments[index...]) + leading
    }

    /// Prints a result as JSON when asked, else as text.
    func emit<T: Encodable>(_ value: T, text: () -> String) throws {
        if json {
            let encoder = JSONEncoder.ployz
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(value), as: UTF8.self))
        } else {
            print(text())
        }
    }
}

/// Turns "cannot reach the daemon" and bad responses into a one-line error and exit 1.
func withDaemon<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ControlClient.Unreachable {
        FileHandle.standardError.write(Data("ployzctl: \(error)\n".utf8))
        throw ExitCode(1)
    } catch let error as ControlClient.BadResponse {
        FileHandle.standardError.write(Data("ployzctl: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
