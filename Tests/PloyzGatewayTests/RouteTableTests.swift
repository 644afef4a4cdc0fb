import PloyzModel
import Testing
@testable import PloyzGateway

extension GatewayTests {
    @Suite struct RouteTableTests {
        private func table(_ specs: [ServiceSpec]) -> RouteTable {
            RouteTable(snapshot: makeSnapshot(specs))
        }

        @Test func exactHostWinsOverWildcard() {
            let routes = table([
                ServiceSpec(name: "wild", hosts: ["*.example.com"], port: 80, addresses: ["10.0.0.1"]),
                ServiceSpec(name: "exact", hosts: ["api.example.com"], port: 80, addresses: ["10.0.0.2"]),
            ])
            #expect(routes.match(host: "api.example.com", path: "/")?.service == "default.exact")
            #expect(routes.match(host: "www.example.com", path: "/")?.service == "default.wild")
            #expect(routes.match(host: "a.b.example.com", path: "/")?.service == "default.wild")
            #expect(routes.match(host: "example.com", path: "/") == nil)
            #expect(routes.match(host: "example.org", path: "/") == nil)
        }

        @Test func longerWildcardSuffixWins() {
            let routes = table([
                ServiceSpec(name: "outer", hosts: ["*.example.com"], port: 80, addresses: ["10.0.0.1"]),
                ServiceSpec(name: "inner", hosts: ["*.eu.example.com"], port: 80, addresses: ["10.0.0.2"]),
            ])
            #expect(routes.match(host: "x.eu.example.com", path: "/")?.service == "default.inner")
            #expect(routes.match(host: "x.us.example.com", path: "/")?.service == "default.outer")
        }

        @Test func longestPrefixOnSegmentBoundaries() {
            let routes = table([
                ServiceSpec(name: "root", hosts: ["example.com"], prefix: "/", port: 80, addresses: ["10.0.0.1"]),
                ServiceSpec(name: "api", hosts: ["example.com"], prefix: "/api", port: 80, addresses: ["10.0.0.2"]),
                ServiceSpec(name: "v2", hosts: ["example.com"], prefix: "/api/v2/", port: 80, addresses: ["10.0.0.3"]),
            ])
            #expect(routes.match(host: "example.com", path: "/api")?.service == "default.api")
            #expect(routes.match(host: "example.com", path: "/api/x?y=1")?.service == "default.api")
            #expect(routes.match(host: "example.com", path: "/apix")?.service == "default.root")
            #expect(routes.match(host: "example.com", path: "/api/v2")?.service == "default.v2")
            #expect(routes.match(host: "example.com", path: "/api/v2/users")?.service == "default.v2")
            #expect(routes.match(host: "example.com", path: "/api/v20")?.service == "default.api")
            #expect(routes.match(host: "example.com", path: "http://example.com/api/q")?.service == "default.api")
        }

        @Test func wildcardServesPathsTheExactHostDoesNot() {
            let routes = table([
                ServiceSpec(name: "exact-api", hosts: ["a.example.com"], prefix: "/api", port: 80, addresses: ["10.0.0.1"]),
                ServiceSpec(name: "wild", hosts: ["*.example.com"], port: 80, addresses: ["10.0.0.2"]),
            ])
            #expect(routes.match(host: "a.example.com", path: "/api/1")?.service == "default.exact-api")
            #expect(routes.match(host: "a.example.com", path: "/other")?.service == "default.wild")
        }

        @Test func hostIsCaseInsensitiveAndIgnoresPortAndTrailingDot() {
            let routes = table([ServiceSpec(name: "web", hosts: ["Example.COM"], port: 80, addresses: ["10.0.0.1"])])
            #expect(routes.match(host: "EXAMPLE.com", path: "/")?.service == "default.web")
            #expect(routes.match(host: "example.com:8080", path: "/")?.service == "default.web")
            #expect(routes.match(host: "example.com.", path: "/")?.service == "default.web")
            #expect(RouteTable.hostName(fromHostHeader: "[::1]:8080") == "[::1]")
        }

        @Test func routeWithoutHostnamesServesAnyHostLast() {
            let routes = table([
                ServiceSpec(name: "any", hosts: [], port: 80, addresses: ["10.0.0.1"]),
                ServiceSpec(name: "web", hosts: ["example.com"], port: 80, addresses: ["10.0.0.2"]),
            ])
            #expect(routes.match(host: "example.com", path: "/")?.service == "default.web")
            #expect(routes.match(host: "other.org", path: "/")?.service == "default.any")
        }

        @Test func roundRobinVisitsEveryReadyBackendInTurn() throws {
            var snapshot = makeSnapshot([ServiceSpec(name: "web", hosts: ["example.com"], port: 8080, addresses: ["10.0.0.1", "10.0.0.2", "10.0.0.3"])])
            snapshot.instances["web-1"]!.ready = false
            let route = try #require(RouteTable(snapshot: snapshot).match(host: "example.com", path: "/"))
            #expect(route.backends.map(\.description) == ["10.0.0.1:8080", "10.0.0.3:8080"])
            let picks = (0..<4).compactMap { _ in route.nextBackend()?.description }
            #expect(picks == ["10.0.0.1:8080", "10.0.0.3:8080", "10.0.0.1:8080", "10.0.0.3:8080"])
        }

        @Test func routeWithNoReadyBackendStillMatches() throws {
            let route = try #require(table([ServiceSpec(name: "web", hosts: ["example.com"], port: 80, addresses: ["10.0.0.1"], ready: false)])
                .match(host: "example.com", path: "/"))
            #expect(route.backends.isEmpty)
            #expect(route.nextBackend() == nil)
        }

        @Test func unusableRoutesAreSkippedWithAReason() {
            let routes = table([
                ServiceSpec(name: "bad-prefix", hosts: ["a.com"], prefix: "api", port: 80, addresses: ["10.0.0.1"]),
                ServiceSpec(name: "bad-address", hosts: ["b.com"], port: 80, addresses: ["not-an-ip"]),
                ServiceSpec(name: "first", hosts: ["c.com"], port: 80, addresses: ["10.0.0.1"]),
                ServiceSpec(name: "second", hosts: ["c.com"], port: 80, addresses: ["10.0.0.2"]),
            ])
            #expect(routes.match(host: "a.com", path: "/api") == nil)
            #expect(routes.match(host: "b.com", path: "/")?.backends.isEmpty == true)
            #expect(routes.match(host: "c.com", path: "/")?.service == "default.first")
            #expect(routes.skipped.map(\.service).sorted() == ["default.bad-address", "default.bad-prefix", "default.second"])
        }

        @Test func staticCertificateVariablesMustComeTogetherAndWithHTTPS() throws {
            let https = ListenAddress(host: "0.0.0.0", port: 443)
            #expect(try StaticCertificatePaths(environment: [:], httpsListen: https) == nil)
            #expect(throws: GatewayConfigurationError.self) {
                try StaticCertificatePaths(environment: [StaticCertificatePaths.certificateVariable: "/c.pem"], httpsListen: https)
            }
            #expect(throws: GatewayConfigurationError.self) {
                try StaticCertificatePaths(environment: [StaticCertificatePaths.keyVariable: "/k.pem"], httpsListen: https)
            }
            let both = [StaticCertificatePaths.certificateVariable: "/c.pem", StaticCertificatePaths.keyVariable: "/k.pem"]
            #expect(throws: GatewayConfigurationError.self) { try StaticCertificatePaths(environment: both, httpsListen: nil) }
            #expect(try StaticCertificatePaths(environment: both, httpsListen: https) == StaticCertificatePaths(certificatePath: "/c.pem", keyPath: "/k.pem"))
        }
    }
}
