import Foundation
import PloyzModel
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import PloyzDaemon

/// `ployzctl service/instance/route/cert/dns` against a real daemon and its real store.
@Suite(.serialized, .enabled(if: TestEnvironment.canRunDaemons, "needs root and a built ployzd"))
struct RegistryIntegrationTests {
    func withRunningNode(_ body: (TestNode) throws -> Void) throws {
        let node = try TestNode()
        defer { node.cleanup() }
        try node.startDaemon()
        _ = try node.client.call(ControlCalls.MeshInit.self, .init(name: "reg"))
        try body(node)
    }

    /// A self-signed certificate made by the openssl CLI: valid for 30 days, or expired in 2020.
    func selfSigned(_ hostname: String, in directory: String, expired: Bool = false) throws -> (cert: String, key: String) {
        let dir = "\(directory)/ca-\(hostname)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cert = "\(dir)/cert.pem", key = "\(dir)/key.pem", csr = "\(dir)/csr.pem", config = "\(dir)/ca.cnf"
        try "".write(toFile: "\(dir)/index.txt", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: "\(dir)/serial", atomically: true, encoding: .utf8)
        try """
            [ca]
            default_ca = d
            [d]
            database = \(dir)/index.txt
            new_certs_dir = \(dir)
            serial = \(dir)/serial
            default_md = sha256
            policy = p
            [p]
            commonName = supplied
            """.write(toFile: config, atomically: true, encoding: .utf8)
        // `openssl ca` can set both validity dates (OpenSSL 3.0's `req -x509` cannot backdate).
        let dates = expired ? ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"] : ["-days", "30"]
        for step in [["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                     ["req", "-new", "-key", key, "-subj", "/CN=\(hostname)", "-out", csr],
                     ["ca", "-batch", "-notext", "-selfsign", "-keyfile", key, "-in", csr, "-out", cert, "-config", config] + dates] {
            let made = runCommand("/usr/bin/openssl", step)
            guard made.status == 0 else { throw TestFailure("openssl \(step[0]): \(made.output)") }
        }
        return (try String(contentsOfFile: cert, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8))
    }

    @Test func registryNeedsARunningNetwork() throws {
        let node = try TestNode()
        defer { node.cleanup() }
        try node.startDaemon()
        let error = #expect(throws: ControlError.self) { try node.client.call(ControlCalls.RouteList.self) }
        #expect(error?.code == .usage)
        #expect(error?.message.contains("no network is running") == true)
    }

    @Test func servicesInstancesAndRoutes() throws {
        try withRunningNode { node in
            let client = node.client
            _ = try client.call(ControlCalls.ServiceSet.self, .init(service: ServiceRecord(name: "web", ports: [ServicePort(name: "http", port: 8080)])))
            let instance = try client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(
                id: "web-1", service: "web", machine: "", address: "10.101.0.5")))
            #expect(!instance.machine.isEmpty, "the instance is placed on this machine by default")
            _ = try client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(id: "web-2", service: "web", machine: "m", address: "10.101.0.6", ready: false)))
            _ = try client.call(ControlCalls.RouteSet.self, .init(service: "web", route: HTTPRoute(hostnames: ["App.Example.com"], pathPrefix: "/", port: 8080)))
            _ = try client.call(ControlCalls.RouteSet.self, .init(service: "api", route: HTTPRoute(hostnames: ["app.example.com"], pathPrefix: "/api", port: 9000)))

            let routes = try client.call(ControlCalls.RouteList.self).routes
            #expect(routes.map { "\($0.hostname)\($0.pathPrefix) \($0.service) \($0.backends)" }
                == ["app.example.com/api api []", "app.example.com/ web [\"10.101.0.5:8080\"]"])
            let services = try client.call(ControlCalls.ServiceList.self).services
            #expect(services.map(\.name) == ["api", "web"], "route set created the missing service")
            #expect(services.last?.ports == [ServicePort(name: "http", port: 8080)])

            let removed = try client.call(ControlCalls.RouteRemove.self, .init(service: "api", hostname: "app.example.com"))
            #expect(removed.routes.isEmpty)
            let again = #expect(throws: ControlError.self) {
                try client.call(ControlCalls.RouteRemove.self, .init(service: "api", hostname: "app.example.com"))
            }
            #expect(again?.code == .notFound)

            let records = try client.call(ControlCalls.DNSList.self).dnsRecords
            let a = records.filter { $0.type == "A" }.map { "\($0.name) \($0.value)" }
            #expect(a.contains("web.default.ployz.internal. 10.101.0.5"))
            #expect(!a.contains { $0.hasSuffix("10.101.0.6") }, "a not-ready instance is not served")
            #expect(records.contains { $0.type == "SOA" && $0.name == "ployz.internal." })

            _ = try client.call(ControlCalls.InstanceRemove.self, .init(id: "web-1"))
            #expect(try client.call(ControlCalls.RouteList.self).routes.last?.backends == [])
        }
    }

    @Test func badRecordsAreRefusedAndChangeNothing() throws {
        try withRunningNode { node in
            let client = node.client
            let badHost = #expect(throws: ControlError.self) {
                try client.call(ControlCalls.RouteSet.self, .init(service: "web", route: HTTPRoute(hostnames: ["bad host"], port: 80)))
            }
            #expect(badHost?.code == .usage)
            #expect(badHost?.message.contains("hostname \"bad host\" is not allowed") == true)
            let badName = #expect(throws: ControlError.self) { try client.call(ControlCalls.ServiceSet.self, .init(service: ServiceRecord(name: "Web"))) }
            #expect(badName?.message.contains("service name \"Web\"") == true)
            let badAddress = #expect(throws: ControlError.self) {
                try client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(id: "x", service: "web", machine: "", address: "nowhere")))
            }
            #expect(badAddress?.message.contains("address \"nowhere\"") == true)
            let services = try client.call(ControlCalls.ServiceList.self).services
            let instances = try client.call(ControlCalls.InstanceList.self).instances
            #expect(services == [])
            #expect(instances == [])
        }
    }

    @Test func certificatesAreCheckedAndListedWithoutKeys() throws {
        try withRunningNode { node in
            let client = node.client
            let good = try selfSigned("app.example.com", in: node.directory)
            let saved = try client.call(ControlCalls.CertSet.self, .init(certificate: CertificateRecord(
                hostname: "App.Example.com", certificatePEM: good.cert, privateKeyPEM: good.key)))
            #expect(saved.hostname == "app.example.com")
            #expect((saved.notAfter ?? .distantPast) > Date().addingTimeInterval(29 * 86400))

            let expired = try selfSigned("old.example.com", in: node.directory, expired: true)
            let error = #expect(throws: ControlError.self) {
                try client.call(ControlCalls.CertSet.self, .init(certificate: CertificateRecord(hostname: "old.example.com", certificatePEM: expired.cert, privateKeyPEM: expired.key)))
            }
            #expect(error?.message.contains("expired") == true)
            let garbage = #expect(throws: ControlError.self) {
                try client.call(ControlCalls.CertSet.self, .init(certificate: CertificateRecord(hostname: "x.example.com", certificatePEM: "nope", privateKeyPEM: good.key)))
            }
            #expect(garbage?.message.contains("not a PEM certificate") == true)

            #expect(try client.call(ControlCalls.CertList.self).certificates.map(\.hostname) == ["app.example.com"])
            _ = try client.call(ControlCalls.CertRemove.self, .init(hostname: "APP.example.com"))
            #expect(try client.call(ControlCalls.CertList.self).certificates == [])
        }
    }

    @Test(.enabled(if: TestEnvironment.ployzctlPath != nil, "needs ployzctl built"))
    func ployzctlRegistryCommands() throws {
        try withRunningNode { node in
            let ctl = TestEnvironment.ployzctlPath!
            func run(_ arguments: [String]) -> (status: Int32, output: String) {
                runCommand(ctl, ["--socket", node.socketPath] + arguments)
            }
            #expect(run(["route", "set", "web", "--host", "app.example.com", "--port", "8080"]).status == 0)
            #expect(run(["instance", "set", "web", "10.101.0.7"]).status == 0)
            let listing = run(["route", "ls"])
            #expect(listing.status == 0)
            #expect(listing.output.hasPrefix("HOST"))
            #expect(listing.output.contains("10.101.0.7:8080"))
            let json = run(["route", "ls", "--json"])
            let routes = try JSONDecoder.ployz.decode([RouteSummary].self, from: Data(json.output.utf8))
            #expect(routes.first?.backends == ["10.101.0.7:8080"])
            let bad = run(["route", "set", "web", "--host", "bad_host.example.com", "--port", "8080"])
            #expect(bad.status == 2)
            #expect(bad.output.contains("hostname \"bad_host.example.com\" is not allowed"))
            #expect(run(["route", "set", "web", "--host", "a.example.com", "--port", "0"]).status == 2)
            let dns = run(["dns", "ls"])
            #expect(dns.output.contains("web.default.ployz.internal."))
        }
    }

    /// `dig +short` run inside the node's namespace.
    func dig(_ node: TestNode, _ server: String, _ name: String, _ type: String = "A") -> String {
        runCommand("/usr/sbin/ip", ["netns", "exec", node.namespace, "dig", "+short", "+time=1", "+tries=1", "@\(server)", name, type]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func dnsSidecarServesTheStoreAndOutlivesTheDaemon() throws {
        try withRunningNode { node in
            let status = try node.client.call(ControlCalls.MeshStatus.self, .init())
            let dns = try #require(status.sidecars.first { $0.name == "ployz-dns" })
            #expect(dns.running)
            _ = try node.client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(id: "web-1", service: "web", machine: "", address: "10.101.0.5")))
            #expect(waitUntil(.seconds(5)) { dig(node, status.overlayIPv6, "web.default.ployz.internal") == "10.101.0.5" })
            #expect(dig(node, "10.101.0.2", "web.ployz.internal") == "10.101.0.5", "the bridge .2 answers workloads")
            #expect(dig(node, status.overlayIPv6, "\(status.machineName.lowercased()).machine.ployz.internal", "AAAA") == status.overlayIPv6)

            // A change in the store reaches DNS without a restart.
            _ = try node.client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(id: "web-2", service: "web", machine: "", address: "10.101.0.6")))
            #expect(waitUntil(.seconds(5)) { dig(node, status.overlayIPv6, "web.default.ployz.internal") == "10.101.0.5\n10.101.0.6" })

            node.stopDaemon(signal: SIGKILL)
            #expect(dig(node, status.overlayIPv6, "web.default.ployz.internal") == "10.101.0.5\n10.101.0.6", "DNS answers with no daemon")
            try node.startDaemon()
            #expect(waitUntil(.seconds(15)) { (try? node.client.call(ControlCalls.MeshReady.self, .init()).ready) == true })
            let after = try node.client.call(ControlCalls.MeshStatus.self, .init())
            #expect(after.sidecars.first { $0.name == "ployz-dns" }?.pid == dns.pid, "the restarted daemon adopts the DNS sidecar")
        }
    }

    /// `curl` inside the node's namespace: the body of `url` asked with `Host: host`.
    func curl(_ node: TestNode, _ url: String, host: String) -> (status: Int32, output: String) {
        runCommand("/usr/sbin/ip", ["netns", "exec", node.namespace, "curl", "-s", "-m", "3", "-H", "Host: \(host)", url])
    }

    @Test func gatewaySidecarRoutesFromTheStoreAndOutlivesTheDaemon() throws {
        try withRunningNode { node in
            // A backend inside the namespace, on the node's own workload address.
            let site = node.directory + "/site"
            try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
            try "hello from web\n".write(toFile: site + "/hello.txt", atomically: true, encoding: .utf8)
            let backend = Process()
            backend.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            backend.arguments = ["netns", "exec", node.namespace, "/usr/bin/python3", "-m", "http.server", "--bind", "10.101.0.1",
                                 "--directory", site, "8080"]
            backend.standardOutput = FileHandle.nullDevice
            backend.standardError = FileHandle.nullDevice
            try backend.run()
            defer {
                // SIGKILL: a child of the test runner may inherit a blocked SIGTERM.
                kill(backend.processIdentifier, SIGKILL)
                _ = waitUntil(.seconds(5)) { !backend.isRunning }
            }

            let status = try node.client.call(ControlCalls.MeshStatus.self, .init())
            #expect(status.sidecars.first { $0.name == "ployz-gateway" }?.running == true)
            #expect(curl(node, "http://127.0.0.1/hello.txt", host: "app.example.com").output.contains("no route"), "404 before a route exists")
            _ = try node.client.call(ControlCalls.RouteSet.self, .init(service: "web", route: HTTPRoute(hostnames: ["app.example.com"], port: 8080)))
            #expect(waitUntil(.seconds(5)) { curl(node, "http://127.0.0.1/hello.txt", host: "app.example.com").output.contains("no ready") },
                    "503 while the route has no ready backend")
            _ = try node.client.call(ControlCalls.InstanceSet.self, .init(instance: InstanceRecord(id: "web-1", service: "web", machine: "", address: "10.101.0.1")))
            #expect(waitUntil(.seconds(5)) { curl(node, "http://127.0.0.1/hello.txt", host: "app.example.com").output == "hello from web\n" })

            node.stopDaemon(signal: SIGKILL)
            #expect(curl(node, "http://127.0.0.1/hello.txt", host: "app.example.com").output == "hello from web\n", "the gateway serves with no daemon")
        }
    }
}
