import Foundation
import Logging
import NIOCore
import NIOPosix
import PloyzModel
import Testing
@testable import PloyzDaemon

/// The control API without a daemon: the wire format, decode errors, the router and the client.
@Suite struct ControlAPITests {
    func line(_ text: String) -> Data { Data(text.utf8) }

    /// The error a router answers `request` with, or nil when it answered a result.
    func refusal(_ router: ControlRouter, _ request: String) async -> ControlError? {
        let reply = await router.respond(to: line(request))
        do { _ = try ControlWire.decodeResponse(ControlCalls.MeshList.self, reply) } catch let error as ControlError { return error } catch {}
        return nil
    }

    /// A router whose handlers answer with fixed values, for the methods the tests call.
    var fixedRouter: ControlRouter {
        var router = ControlRouter()
        router.on(ControlCalls.MeshList.self) { _ in .init(networks: []) }
        router.on(ControlCalls.MeshInit.self) { request in
            throw ControlError(.conflict, "network \"\(request.name)\" already exists")
        }
        router.on(ControlCalls.ServiceSet.self) { $0.service }
        router.on(ControlCalls.MeshInvite.self) { _ in throw CancellationError() }
        return router
    }

    @Test func decodeErrorsNameTheField() async {
        let router = fixedRouter
        let cases = [
            (#"{"method":"mesh.init","params":{}}"#, #"bad params for mesh.init: missing field "name""#),
            (#"{"method":"mesh.init"}"#, #"bad params for mesh.init: missing field "name""#),
            (#"{"method":"mesh.init","params":{"name":5}}"#, #"bad params for mesh.init: field "name" must be a string"#),
            (#"{"method":"mesh.init","params":{"name":null}}"#, #"bad params for mesh.init: field "name" must be a string"#),
            (#"{"method":"service.set","params":{"service":{"name":"web"}}}"#, #"bad params for service.set: missing field "service.namespace""#),
            (#"{"method":"service.set","params":{"service":{"namespace":"default","name":"web","routes":[],"ports":[{"name":"http","transport":"tcp"}]}}}"#,
             #"bad params for service.set: missing field "service.ports[0].port""#),
            (#"{"method":"service.set","params":{"service":"web"}}"#, #"bad params for service.set: field "service" must be an object"#),
            (#"{"method":"mesh.init","params":[1]}"#, "bad params for mesh.init: params must be an object"),
        ]
        for (request, message) in cases {
            let error = await refusal(router, request)
            #expect(error == ControlError(.usage, message), "\(request)")
        }
    }

    @Test func malformedLinesAreUsageErrorsOnOneLine() async {
        let router = fixedRouter
        for request in ["not json", "[1]", #"{"params":{}}"#, #"{"method":5}"#] {
            let error = await refusal(router, request)
            #expect(error?.code == .usage, "\(request)")
            #expect(error?.message.hasPrefix("malformed request") == true, "\(request)")
        }
        let reply = await router.respond(to: line("not json"))
        #expect(reply.last == 0x0a && reply.dropLast().firstIndex(of: 0x0a) == nil)
    }

    @Test func unknownMethodListsEveryMethod() async throws {
        let refused = await refusal(fixedRouter, #"{"method":"mesh.explode"}"#)
        let error = try #require(refused)
        #expect(error.code == .usage)
        #expect(error.message == "unknown method \"mesh.explode\"; known: " + ControlMethod.allCases.map(\.rawValue).joined(separator: ", "))
        #expect(error.message.contains("mesh.init") && error.message.contains("deploy.status"))
    }

    @Test func everyMethodHasAHandler() throws {
        var config = PloyzConfig()
        config.dataDir = NSTemporaryDirectory() + "ployz-router-\(UUID().uuidString)"
        config.runtimeDir = config.dataDir + "/run"
        let router = ControlRouter.daemon(MeshController(config: config, logger: Logger(label: "test")))
        #expect(router.unhandled == [])
        #expect(fixedRouter.unhandled.count == ControlMethod.allCases.count - 4)
    }

    @Test func handlersAnswerResultsAndCodedErrors() async throws {
        let router = fixedRouter
        let service = ServiceRecord(name: "web", ports: [ServicePort(name: "http", port: 8080)])
        let reply = await router.respond(to: try ControlWire.requestLine(ControlCalls.ServiceSet.self, .init(service: service)))
        #expect(try ControlWire.decodeResponse(ControlCalls.ServiceSet.self, reply) == service)

        let conflict = await refusal(router, #"{"method":"mesh.init","params":{"name":"a"}}"#)
        #expect(conflict == ControlError(.conflict, "network \"a\" already exists"))
        // A failure that is not a ControlError is `failed`.
        let cancelled = await refusal(router, #"{"method":"mesh.invite","params":{}}"#)
        #expect(cancelled?.code == .failed)
        // A method this router has no handler for.
        let unhandled = await refusal(router, #"{"method":"dns.ls"}"#)
        #expect(unhandled?.code == .failed)
    }

    @Test func wireFormat() throws {
        let request = try ControlWire.requestLine(ControlCalls.MeshStop.self, .init(force: true))
        #expect(String(decoding: request, as: UTF8.self) == #"{"method":"mesh.stop","params":{"force":true}}"# + "\n")
        #expect(String(decoding: ControlWire.resultLine(ControlCalls.MeshInvite.Response(token: "t")), as: UTF8.self) == #"{"result":{"token":"t"}}"# + "\n")
        #expect(String(decoding: ControlWire.errorLine(ControlError(.inviteUsed, "used")), as: UTF8.self)
            == #"{"error":{"code":"inviteUsed","message":"used"}}"# + "\n")
        #expect(ControlAPI.version == 2)
    }

    @Test func undecodableResponsesAreErrorsNamingTheField() {
        let cases = [
            (#"{"result":{}}"#, #"bad result for mesh.invite: missing field "token""#),
            (#"{"result":{"token":1}}"#, #"bad result for mesh.invite: field "token" must be a string"#),
            (#"{}"#, "mesh.invite answered neither result nor error"),
            (#"{"error":{"message":"x"}}"#, #"bad error for mesh.invite: missing field "code""#),
            ("garbage", "not a JSON object: garbage"),
        ]
        for (reply, reason) in cases {
            do {
                _ = try ControlWire.decodeResponse(ControlCalls.MeshInvite.self, line(reply))
                Issue.record("\(reply) decoded")
            } catch let error as ControlClient.BadResponse {
                #expect(error.reason == reason, "\(reply)")
            } catch {
                Issue.record("\(reply): \(error)")
            }
        }
    }

    @Test func errorCodesDecideExitCodes() throws {
        let expected: [ControlError.Code: Int32] = [
            .usage: 2, .notFound: 2, .conflict: 2, .inviteUsed: 2, .inviteExpired: 2, .inviteRevoked: 2, .inviteUnanswered: 2,
            .failed: 1, .busy: 1,
        ]
        #expect(Set(expected.keys) == Set(ControlError.Code.allCases))
        for (code, exit) in expected { #expect(ControlError(code, "x").exitCode == exit, "\(code)") }
        // A code from a newer daemon reads as `failed`.
        let unknown = try JSONDecoder.ployz.decode(ControlError.self, from: line(#"{"code":"somethingNew","message":"m"}"#))
        #expect(unknown == ControlError(.failed, "m"))
    }

    @Test func clientRoundTripOverAUnixSocket() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let path = NSTemporaryDirectory() + "ployz-api-\(UUID().uuidString.prefix(8)).sock"
        let server = try await ControlServer.bind(socketPath: path, group: group, logger: Logger(label: "test"))
        let router = fixedRouter
        let serving = Task { await server.serve { line in ByteBuffer(bytes: await router.respond(to: Data(line.readableBytesView))) } }
        let client = ControlClient(socketPath: path, timeout: 10)
        // The client blocks: run it off the cooperative threads the server's handlers use.
        typealias Outcomes = (Result<ControlCalls.MeshList.Response, any Error>, Result<NetworkStatus, any Error>)
        let (listed, refused): Outcomes = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let listed = Result { try client.call(ControlCalls.MeshList.self) }
                let refused = Result { try client.call(ControlCalls.MeshInit.self, .init(name: "a")) }
                continuation.resume(returning: (listed, refused))
            }
        }
        await server.close()
        await serving.value
        try await group.shutdownGracefully()
        #expect(try listed.get() == ControlCalls.MeshList.Response(networks: []))
        #expect(throws: ControlError(.conflict, "network \"a\" already exists")) { try refused.get() }
    }
}
