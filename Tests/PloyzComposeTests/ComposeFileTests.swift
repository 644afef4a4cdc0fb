import Foundation
import PloyzModel
import Testing
@testable import PloyzCompose

@Suite struct ComposeFileTests {
    @Test func everyKey() throws {
        let text = """
        version: "3.9"
        name: shop
        x-defaults: &defaults
          restart: always
        services:
          web:
            <<: *defaults
            image: registry.example.com/shop/web:2.1
            command: ./serve --port 8080 --greeting 'hello world'
            entrypoint: ["/bin/tini", "--"]
            environment:
              MODE: production
              WORKERS: 4
              DEBUG: false
              PRICE: $$5
            labels:
              - com.example.team=shop
              - com.example.tier
            expose:
              - "8080"
              - 9090/tcp
              - "53/udp"
            deploy:
              replicas: 3
              update_config:
                order: stop-first
              resources:
                limits:
                  cpus: "0.5"
                  memory: 512M
            healthcheck:
              test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
              interval: 1m30s
              timeout: 500ms
              retries: 5
              start_period: 10s
            stop_grace_period: 1m
            x-ployz:
              routes:
                - host: [Shop.Example.com, www.shop.example.com]
                  port: 8080
                - host: api.shop.example.com
                  path: /v1
                  port: 9090
              placement: [node-2, Node-3]
            x-notes: ignored
          worker:
            image: registry.example.com/shop/worker:2.1
            environment: ["QUEUE=orders", "EMPTY="]
            labels: {com.example.team: shop}
            restart: "no"
            healthcheck:
              test: pgrep worker
            deploy:
              mode: global
              resources:
                limits:
                  cpus: 2
                  memory: 1073741824
            x-ployz:
              placement:
                machines: [node-1]
          cron:
            image: busybox:1.36
            healthcheck:
              disable: true
            x-ployz:
              placement: spread
        """
        let project = try ComposeFile.parse(text, file: "compose.yaml", namespace: nil)
        #expect(project.namespace == "shop")
        #expect(project.services.map(\.name) == ["cron", "web", "worker"])

        let cron = WorkloadSpec(namespace: "shop", name: "cron", template: ContainerTemplate(image: "busybox:1.36"))
        #expect(project.services[0] == cron)

        let web = WorkloadSpec(
            namespace: "shop", name: "web",
            template: ContainerTemplate(
                image: "registry.example.com/shop/web:2.1",
                command: ["./serve", "--port", "8080", "--greeting", "hello world"],
                entrypoint: ["/bin/tini", "--"],
                environment: ["MODE": "production", "WORKERS": "4", "DEBUG": "false", "PRICE": "$5"],
                labels: ["com.example.team": "shop", "com.example.tier": ""],
                healthcheck: HealthCheck(test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
                                         interval: 90, timeout: 0.5, retries: 5, startPeriod: 10),
                restart: .always, stopGracePeriod: 60,
                limits: ResourceLimits(cpus: 0.5, memoryBytes: 512 << 20)),
            mode: .replicated(3),
            ports: [ServicePort(name: "8080", port: 8080), ServicePort(name: "9090", port: 9090),
                    ServicePort(name: "53", port: 53, transport: "udp")],
            routes: [HTTPRoute(hostnames: ["shop.example.com", "www.shop.example.com"], pathPrefix: "/", port: 8080),
                     HTTPRoute(hostnames: ["api.shop.example.com"], pathPrefix: "/v1", port: 9090)],
            placement: .machines(["node-2", "node-3"]),
            updateOrder: .stopFirst)
        #expect(project.services[1] == web)

        let worker = WorkloadSpec(
            namespace: "shop", name: "worker",
            template: ContainerTemplate(
                image: "registry.example.com/shop/worker:2.1",
                environment: ["QUEUE": "orders", "EMPTY": ""],
                labels: ["com.example.team": "shop"],
                healthcheck: HealthCheck(test: ["CMD-SHELL", "pgrep worker"]),
                restart: .no,
                limits: ResourceLimits(cpus: 2, memoryBytes: 1 << 30)),
            mode: .global,
            placement: .machines(["node-1"]))
        #expect(project.services[2] == worker)
    }

    @Test func namespaceDefaultsAndOverride() throws {
        let text = "services:\n  web:\n    image: a:1\n"
        #expect(try ComposeFile.parse(text, file: "c.yaml", namespace: nil).namespace == "default")
        #expect(try ComposeFile.parse("name: demo\n" + text, file: "c.yaml", namespace: "other").namespace == "other")
        let spec = try ComposeFile.parse(text, file: "c.yaml", namespace: "other").services[0]
        #expect(spec.namespace == "other")
        #expect(spec.template.restart == .unlessStopped)
        #expect(spec.mode == .replicated(1))
        #expect(spec.updateOrder == .startFirst)
    }

    @Test func environmentForms() throws {
        func environment(_ yaml: String) throws -> [String: String] {
            let text = "services:\n  web:\n    image: a:1\n    environment:\(yaml)\n"
            return try ComposeFile.parse(text, file: "c.yaml", namespace: nil).services[0].template.environment
        }
        #expect(try environment(" {A: 1, B: 'x y', C: true, D: 1.50, E: ''}") == ["A": "1", "B": "x y", "C": "true", "D": "1.50", "E": ""])
        #expect(try environment("\n      - A=1\n      - B=x=y\n      - C=") == ["A": "1", "B": "x=y", "C": ""])
    }

    @Test func example() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/web/compose.yaml")
        let project = try ComposeFile.parse(String(contentsOf: path, encoding: .utf8), file: "compose.yaml", namespace: nil)
        #expect(project.namespace == "default")
        #expect(project.services == [WorkloadSpec(
            namespace: "default", name: "web",
            template: ContainerTemplate(
                image: "ployz-demo:1",
                command: ["sh", "-c", "mkdir -p /www && echo \"hello from $(hostname)\" > /www/index.html && exec httpd -f -p 8080 -h /www"],
                healthcheck: HealthCheck(test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
                                         interval: 1, timeout: 1, retries: 3)),
            mode: .replicated(2),
            ports: [ServicePort(name: "8080", port: 8080)],
            routes: [HTTPRoute(hostnames: ["web.demo.test"], port: 8080)],
            placement: .machines(["node2", "node3"]))])
    }

    /// The README's example is a file `deploy` takes.
    @Test func readmeExample() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "```yaml\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let project = try ComposeFile.parse(String(text[start.upperBound..<end.lowerBound]), file: "README.md", namespace: nil)
        let web = try #require(project.services.first)
        #expect(web.mode == .replicated(3))
        #expect(web.placement == .machines(["node2", "node3"]))
        #expect(web.template.limits == ResourceLimits(cpus: 0.5, memoryBytes: 256 * 1024 * 1024))
        #expect(web.routes == [HTTPRoute(hostnames: ["app.example.com"], pathPrefix: "/", port: 8080)])
    }
}
