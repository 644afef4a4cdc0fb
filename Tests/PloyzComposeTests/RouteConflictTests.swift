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
        let message = project.routeConflicts(with: existing)
        #expect(message?.hasPrefix("shop/web: route www.shop.test/ is served by blog/web already") == true, "\(String(describing: message))")
        let sameNamespace = [ServiceRecord(namespace: "shop", name: "old", routes: [HTTPRoute(hostnames: ["shop.test"], port: 80)])]
        #expect(project.routeConflicts(with: sameNamespace)?.contains("is served by shop/old already") == true)
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
