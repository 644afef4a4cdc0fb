import Testing
@testable import PloyzModel

@Suite struct RouteEditingTests {
    let base = ServiceRecord(name: "web", routes: [HTTPRoute(hostnames: ["a.example.com", "b.example.com"], pathPrefix: "/", port: 80)])

    @Test func settingARouteForAServedHostMovesIt() {
        let edited = base.settingRoute(HTTPRoute(hostnames: ["B.example.com"], pathPrefix: "/", port: 8080))
        #expect(edited.routes == [
            HTTPRoute(hostnames: ["a.example.com"], pathPrefix: "/", port: 80),
            HTTPRoute(hostnames: ["b.example.com"], pathPrefix: "/", port: 8080),
        ])
    }

    @Test func anotherPathIsAnotherRoute() {
        let edited = base.settingRoute(HTTPRoute(hostnames: ["a.example.com"], pathPrefix: "/api", port: 9000))
        #expect(edited.routes.count == 2)
        #expect(edited.routes[0] == base.routes[0])
    }

    @Test func removingTheLastHostnameDropsTheRoute() {
        let once = base.removingRoute(hostname: "a.example.com", pathPrefix: "/")
        #expect(once?.routes == [HTTPRoute(hostnames: ["b.example.com"], pathPrefix: "/", port: 80)])
        let twice = once?.removingRoute(hostname: "b.example.com", pathPrefix: nil)
        #expect(twice?.routes == [])
        #expect(base.removingRoute(hostname: "c.example.com", pathPrefix: nil) == nil)
        #expect(base.removingRoute(hostname: "a.example.com", pathPrefix: "/other") == nil)
    }

    @Test func summariesListReadyBackendsLongestPathFirst() {
        var snapshot = ClusterSnapshot()
        let web = base.settingRoute(HTTPRoute(hostnames: ["a.example.com"], pathPrefix: "/api", port: 9000))
        snapshot.services[web.key] = web
        snapshot.instances["w2"] = InstanceRecord(id: "w2", service: "web", machine: "m", address: "10.101.0.4")
        snapshot.instances["w1"] = InstanceRecord(id: "w1", service: "web", machine: "m", address: "10.101.0.3")
        snapshot.instances["w3"] = InstanceRecord(id: "w3", service: "web", machine: "m", address: "fd00::5", ready: true)
        snapshot.instances["w4"] = InstanceRecord(id: "w4", service: "web", machine: "m", address: "10.101.0.9", ready: false)
        let rows = snapshot.routeSummaries()
        #expect(rows.map { "\($0.hostname)\($0.pathPrefix):\($0.port)" } == ["a.example.com/api:9000", "a.example.com/:80", "b.example.com/:80"])
        #expect(rows[0].backends == ["10.101.0.3:9000", "10.101.0.4:9000", "[fd00::5]:9000"])
    }
}
