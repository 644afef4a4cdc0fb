import Testing
@testable import PloyzModel

@Suite struct RecordValidationTests {
    @Test func labels() {
        #expect(RecordValidation.label("web-1", field: "service name") == nil)
        #expect(RecordValidation.label("Web", field: "service name") == "service name \"Web\" is not allowed; use 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'")
        #expect(RecordValidation.label("", field: "namespace") != nil)
        #expect(RecordValidation.label("a.b", field: "namespace") != nil)
        #expect(RecordValidation.label(String(repeating: "a", count: 64), field: "x") != nil)
    }

    @Test func hostnames() {
        for good in ["example.com", "*.example.com", "API.Example.com", "a", "x-1.y"] {
            #expect(RecordValidation.hostname(good) == nil, "\(good)")
        }
        for bad in ["", "*.", "exa mple.com", "-a.com", "a..com", "*.*.a.com", "a.com.", "http://a.com", "*example.com"] {
            #expect(RecordValidation.hostname(bad) != nil, "\(bad)")
        }
    }

    @Test func pathsPortsAddresses() {
        #expect(RecordValidation.pathPrefix("/") == nil)
        #expect(RecordValidation.pathPrefix("/api/v1") == nil)
        #expect(RecordValidation.pathPrefix("api") != nil)
        #expect(RecordValidation.pathPrefix("/a b") != nil)
        #expect(RecordValidation.pathPrefix("/a?x=1") != nil)
        #expect(RecordValidation.port(0) == "port 0 is not allowed; use 1-65535")
        #expect(RecordValidation.port(8080) == nil)
        #expect(RecordValidation.address("10.101.0.3") == nil)
        #expect(RecordValidation.address("fd00::3") == nil)
        #expect(RecordValidation.address("web.local") != nil)
    }

    @Test func wholeRecords() {
        var service = ServiceRecord(name: "web", ports: [ServicePort(name: "http", port: 80)],
                                    routes: [HTTPRoute(hostnames: ["example.com"], pathPrefix: "/", port: 80)])
        #expect(RecordValidation.problem(with: service) == nil)
        service.routes.append(HTTPRoute(hostnames: [], port: 80))
        #expect(RecordValidation.problem(with: service) == "a route needs at least one hostname")
        service.routes.removeLast()
        service.ports.append(ServicePort(name: "dns", port: 53, transport: "sctp"))
        #expect(RecordValidation.problem(with: service)?.contains("use tcp or udp") == true)

        #expect(RecordValidation.problem(with: InstanceRecord(id: "web-1", service: "web", machine: "m", address: "10.101.0.3")) == nil)
        #expect(RecordValidation.problem(with: InstanceRecord(id: "web 1", service: "web", machine: "m", address: "10.101.0.3")) != nil)
        #expect(RecordValidation.problem(with: InstanceRecord(id: "w", service: "web", machine: "m", address: "nope")) != nil)
    }
}
