import PloyzModel
import Testing
@testable import PloyzCompose

@Suite struct RouteConflictTests {
    let project = ComposeProject(namespace: "shop", services: [
        WorkloadSpec(namespace: "shop", name: "web", template: ContainerTemplate(image: "a:1"),
                     ports: [ServicePort(name: "80", port: 80)],
                     routes: [HTTPRoute(hostnames: ["shop.test", "www.shop.test"], pathPrefix: "/", port: 80)]),
    ])

    @Test func otherServiceOwnsTheRoute() {
        let existing = [ServiceRecord(namespace: "blog", name: "web", routes: [HTTPRoute(hostnames: ["WWW.shop.test"], port: 8080)])]
        #expect(project.routeConflicts(with: existing)
            == "route www.shop.test/ of service shop.web is already served by service blog.web; remove it there first, or pick another host or path")
        let sameNamespace = [ServiceRecord(namespace: "shop", name: "old", routes: [HTTPRoute(hostnames: ["shop.test"], port: 80)])]
        #expect(project.routeConflicts(with: sameNamespace)?.contains("already served by service shop.old") == true)
    }

    @Test func noConflict() {
        let existing = [
            ServiceRecord(namespace: "shop", name: "web", routes: [HTTPRoute(hostnames: ["shop.test"], port: 80)]),
            ServiceRecord(namespace: "blog", name: "web", routes: [HTTPRoute(hostnames: ["shop.test"], pathPrefix: "/blog", port: 80),
                                                                   HTTPRoute(hostnames: ["blog.test"], port: 80)]),
        ]
        #expect(project.routeConflicts(with: existing) == nil)
        #expect(project.routeConflicts(with: []) == nil)
    }
}
