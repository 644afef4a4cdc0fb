import Foundation
import Logging
import NATSClient
import NIOCore
import PloyzModel
import PloyzRuntime

/// Requests one daemon sends another over NATS (`node.<machine>.cmd.<command>`), for what only
/// the machine that runs a container can do: make sure an image is there before a deploy writes
/// anything, and read a container's logs.
enum NodeCommand {
    static let prepare = "prepare"
    static let logs = "logs"

    struct PrepareRequest: Codable, Sendable {
        var images: [String]
    }

    struct LogsRequest: Codable, Sendable {
        /// Container ids (as instance records name them).
        var containers: [String]
        var tail: Int?
        var since: Date?
    }

    /// One log line of one container.
    struct LogEntry: Codable, Sendable, Equatable {
        var container: String
        var time: Date?
        /// "stdout" or "stderr".
        var stream: String
        var text: String
    }

    struct LogsResponse: Codable, Sendable {
        var entries: [LogEntry]
    }

    /// Every reply: a value, or an error with its code.
    struct Reply<Value: Codable & Sendable>: Codable, Sendable {
        var value: Value?
        var error: ControlError?
    }

    struct Done: Codable, Sendable {}
}

/// Answers the node commands aimed at this machine.
struct NodeCommandServer: Sendable {
    let connection: NATSConnection
    let machineID: String
    let agent: WorkloadAgent
    let runtime: any ContainerRuntime
    let logger: Logger

    /// Serves until the task is cancelled or the connection closes.
    func serve() async {
        let subject = StoreKeys.nodeCommand(machine: machineID, command: "*")
        guard let subscription = try? await connection.subscribe(subject) else {
            logger.warning("node commands: cannot subscribe", metadata: ["subject": "\(subject)"])
            return
        }
        await withDiscardingTaskGroup { group in
            for await message in subscription {
                group.addTask { await self.answer(message) }
            }
        }
    }

    private func answer(_ message: NATSMessage) async {
        guard let reply = message.reply else { return }
        let command = message.subject.split(separator: ".").last.map(String.init) ?? ""
        let data: Data
        switch command {
        case NodeCommand.prepare:
            data = await encode(NodeCommand.PrepareRequest.self, message) { request in
                for image in request.images { try await agent.ensureImage(image) }
                return NodeCommand.Done()
            }
        case NodeCommand.logs:
            data = await encode(NodeCommand.LogsRequest.self, message) { request in
                try await Self.logs(request, runtime: runtime)
            }
        default:
            data = (try? JSONEncoder.ployz.encode(NodeCommand.Reply<NodeCommand.Done>(error: ControlError(.usage, "unknown node command \(command)")))) ?? Data()
        }
        try? connection.publish(reply, payload: ByteBuffer(bytes: data))
    }

    private func encode<Request: Decodable, Value: Codable & Sendable>(_ type: Request.Type, _ message: NATSMessage,
                                                                     _ body: (Request) async throws -> Value) async -> Data {
        let reply: NodeCommand.Reply<Value>
        do {
            let request = try JSONDecoder.ployz.decode(Request.self, from: Data(message.payload.readableBytesView))
            reply = NodeCommand.Reply(value: try await body(request))
        } catch let error as ControlError {
            reply = NodeCommand.Reply(error: error)
        } catch {
            reply = NodeCommand.Reply(error: WorkloadErrors.control(error))
        }
        return (try? JSONEncoder.ployz.encode(reply)) ?? Data()
    }

    /// The last lines (or those since a time) of each container, oldest first.
    static func logs(_ request: NodeCommand.LogsRequest, runtime: any ContainerRuntime) async throws -> NodeCommand.LogsResponse {
        var entries: [NodeCommand.LogEntry] = []
        for container in request.containers {
            for try await line in runtime.logs(id: container, tail: request.tail, since: request.since, follow: false) {
                entries.append(NodeCommand.LogEntry(container: container, time: line.time, stream: line.stream.rawValue, text: line.text))
            }
        }
        return NodeCommand.LogsResponse(entries: entries)
    }
}

/// Sends node commands.
struct NodeCommandClient: Sendable {
    let connection: NATSConnection

    func call<Request: Encodable, Value: Codable & Sendable>(_ command: String, machine: String, _ request: Request,
                                                            returning: Value.Type, timeout: Duration) async throws -> Value {
        let payload = try JSONEncoder.ployz.encode(request)
        let message: NATSMessage
        do {
            message = try await connection.request(StoreKeys.nodeCommand(machine: machine, command: command),
                                                   payload: ByteBuffer(bytes: payload), timeout: timeout)
        } catch {
            throw ControlError(.failed, "machine \(machine) did not answer \(command): \(error)")
        }
        let reply = try JSONDecoder.ployz.decode(NodeCommand.Reply<Value>.self, from: Data(message.payload.readableBytesView))
        if let error = reply.error { throw error }
        guard let value = reply.value else { throw ControlError(.failed, "machine \(machine) sent an empty \(command) reply") }
        return value
    }
}

/// How runtime errors reach `ployzctl`.
enum WorkloadErrors {
    static func control(_ error: Error) -> ControlError {
        if let error = error as? ControlError { return error }
        if let error = error as? RuntimeError {
            switch error {
            case .imageNotFound: return ControlError(.usage, "\(error)")
            case .unavailable: return ControlError(.usage, "\(error)")
            default: return ControlError(.failed, "\(error)")
            }
        }
        return ControlError(.failed, PhaseRunner.oneLine(error))
    }
}
