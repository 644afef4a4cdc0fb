import Testing
@testable import PloyzCompose

/// The error a file gets, or nil when it parses.
func composeError(_ text: String, namespace: String? = nil) -> ComposeError? {
    do {
        _ = try ComposeFile.parse(text, file: "compose.yaml", namespace: namespace)
        return nil
    } catch let error as ComposeError {
        return error
    } catch {
        Issue.record("not a ComposeError: \(error)")
        return nil
    }
}

/// A one-service file with `lines` appended to the service `web` (which starts at line 2; its
/// image is line 3, so the first added line is line 4).
func webService(_ lines: String) -> String {
    "services:\n  web:\n    image: a:1\n" + lines
}

@Suite struct BadInputTests {
    @Test func notYAML() throws {
        let error = try #require(composeError("services:\n  web: [a, b\n  db: x\n"))
        #expect(error.kind == .notYAML)
        #expect(error.description.hasPrefix("compose.yaml:3: not YAML: "))
        #expect(!error.description.contains("\n"))
    }

    @Test func duplicateKeyIsOneLine() throws {
        let error = try #require(composeError(webService("    image: b:2\n")))
        #expect(error.kind == .notYAML)
        #expect(!error.description.contains("\n"))
        #expect(error.description.contains("'image' appears twice"))
    }

    @Test func emptyAndNotAMapping() {
        #expect(composeError("")?.description == "compose.yaml:1: the file is empty; a Compose file needs services:")
        #expect(composeError("# nothing here\n")?.kind == .notYAML)
        #expect(composeError("- a\n- b\n")?.description == "compose.yaml:1: a Compose file is a mapping with services: at its top, found a list")
        #expect(composeError("name: x\n")?.description == "compose.yaml:1: the file has no services; add services: with at least one service")
        #expect(composeError("services: {}\n")?.description == "compose.yaml:1: services: has no service; add at least one")
    }

    @Test func unsupportedServiceKeys() {
        #expect(composeError(webService("    ports:\n      - \"80:8080\"\n"))?.description
            == "compose.yaml:4: services.web.ports: not supported by Ployz (services reach each other over the mesh; use expose, and x-ployz.routes for the gateway)")
        for (key, value) in [("networks", "[front]"), ("depends_on", "[db]"), ("build", "."), ("container_name", "web"),
                             ("privileged", "true"), ("user", "nobody"), ("imagee", "a:2")] {
            let error = composeError(webService("    restart: always\n    \(key): \(value)\n"))
            #expect(error?.kind == .unsupported, "\(key)")
            #expect(error?.line == 5, "\(key)")
            #expect(error?.path == "services.web.\(key)", "\(key)")
            #expect(error?.description.hasPrefix("compose.yaml:5: services.web.\(key): not supported by Ployz (") == true, "\(key)")
        }
        #expect(composeError(webService("    volumes:\n      - data:/data\n"))?.description
            == "compose.yaml:4: services.web.volumes: not supported yet: named volumes wait for the volumes issue; remove volumes for now")
    }

    @Test func unsupportedKeysAtEveryLevel() {
        let cases: [(String, Int, String)] = [
            ("    deploy:\n      replicas: 2\n      placement:\n        constraints: []\n", 6, "services.web.deploy.placement"),
            ("    deploy:\n      update_config:\n        parallelism: 2\n", 6, "services.web.deploy.update_config.parallelism"),
            ("    deploy:\n      resources:\n        reservations: {}\n", 6, "services.web.deploy.resources.reservations"),
            ("    deploy:\n      resources:\n        limits:\n          pids: 10\n", 7, "services.web.deploy.resources.limits.pids"),
            ("    healthcheck:\n      test: [\"NONE\"]\n      start_interval: 1s\n", 6, "services.web.healthcheck.start_interval"),
            ("    x-ployz:\n      replicas: 2\n", 5, "services.web.x-ployz.replicas"),
            ("    expose: [80]\n    x-ployz:\n      routes:\n        - host: a.test\n          port: 80\n          tls: true\n", 9,
             "services.web.x-ployz.routes[0].tls"),
            ("    x-ployz:\n      placement:\n        zones: [a]\n", 6, "services.web.x-ployz.placement.zones"),
        ]
        for (lines, line, path) in cases {
            let error = composeError(webService(lines))
            #expect(error?.kind == .unsupported, "\(path)")
            #expect(error?.line == line, "\(path)")
            #expect(error?.path == path)
        }
    }

    @Test func topLevelKeys() {
        let services = "services:\n  web:\n    image: a:1\n"
        #expect(composeError(services + "volumes:\n  data: {}\n")?.description
            == "compose.yaml:4: volumes: not supported yet (named volumes come with the volumes issue)")
        #expect(composeError(services + "networks:\n  front: {}\n")?.line == 4)
        #expect(composeError(services + "secrets: {}\n")?.kind == .unsupported)
        #expect(composeError(services + "include: [other.yaml]\n")?.path == "include")
        #expect(composeError(services + "x-ployz:\n  routes: []\n")?.description
            == "compose.yaml:4: x-ployz: x-ployz belongs under a service (services.NAME.x-ployz), not at the top")
        #expect(composeError("version: '3'\nx-anything: {a: 1}\n" + services) == nil)
    }

    @Test func serviceWithoutImage() {
        #expect(composeError("services:\n  web:\n    command: [a]\n")?.description
            == "compose.yaml:2: services.web: service web has no image; add image: NAME:TAG")
        #expect(composeError("services:\n  web:\n    image:\n")?.line == 3)
    }

    @Test func names() {
        #expect(composeError("services:\n  Web_1:\n    image: a:1\n")?.description
            == "compose.yaml:2: services.Web_1: service name \"Web_1\" is not allowed; use 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'")
        #expect(composeError("name: My.Shop\n" + webService(""))?.description
            == "compose.yaml:1: name: namespace \"My.Shop\" is not allowed; use 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'")
        #expect(composeError(webService(""), namespace: "-x")?.description
            == "namespace \"-x\" is not allowed; use 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'")
    }

    @Test func ports() {
        #expect(composeError(webService("    expose:\n      - 8080\n      - 70000\n"))?.description
            == "compose.yaml:6: services.web.expose[1]: port 70000 is not allowed; use 1-65535")
        #expect(composeError(webService("    expose: [0]\n"))?.line == 4)
        #expect(composeError(webService("    expose: [\"8000-8010\"]\n"))?.description
            == "compose.yaml:4: services.web.expose[0]: \"8000-8010\" is not allowed; write a port like 8080, \"8080/tcp\" or \"53/udp\" (ranges are not supported)")
        #expect(composeError(webService("    expose: [\"80/sctp\"]\n"))?.kind == .invalid)
        #expect(composeError(webService("    expose: [80, \"80/tcp\"]\n"))?.description
            == "compose.yaml:4: services.web.expose[1]: 80/tcp is listed twice")
    }

    @Test func durations() {
        #expect(composeError(webService("    stop_grace_period: 10\n"))?.description
            == "compose.yaml:4: services.web.stop_grace_period: duration \"10\" is not allowed; use a number with a unit, like 10s, 1m30s or 500ms")
        #expect(composeError(webService("    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 5x\n"))?.line == 6)
        #expect(composeError(webService("    healthcheck:\n      test: [\"CMD\", \"true\"]\n      timeout: 0s\n"))?.description
            == "compose.yaml:6: services.web.healthcheck.timeout: must be longer than 0s")
    }

    @Test func deploy() {
        #expect(composeError(webService("    deploy:\n      replicas: 2\n      mode: global\n"))?.description
            == "compose.yaml:6: services.web.deploy.mode: global runs one instance on every machine, so it cannot go with replicas (line 5); keep one of them")
        #expect(composeError(webService("    deploy:\n      replicas: 0\n"))?.description
            == "compose.yaml:5: services.web.deploy.replicas: \"0\" is not allowed; use a whole number from 1 to 1000")
        #expect(composeError(webService("    deploy:\n      replicas: 1001\n"))?.line == 5)
        #expect(composeError(webService("    deploy:\n      mode: swarm\n"))?.kind == .invalid)
        #expect(composeError(webService("    deploy:\n      update_config:\n        order: random\n"))?.line == 6)
        #expect(composeError(webService("    deploy:\n      resources:\n        limits:\n          memory: 12 apples\n"))?.line == 7)
        #expect(composeError(webService("    deploy:\n      resources:\n        limits:\n          memory: 1k\n"))?.description
            == "compose.yaml:7: services.web.deploy.resources.limits.memory: \"1k\" is not allowed; use a size of at least 6M, like 512M or 1g (or bytes)")
        #expect(composeError(webService("    deploy:\n      resources:\n        limits:\n          cpus: -1\n"))?.line == 7)
    }

    @Test func healthchecks() {
        #expect(composeError(webService("    healthcheck:\n      test: [\"CMD-SHELL\", \"a\", \"b\"]\n"))?.line == 5)
        #expect(composeError(webService("    healthcheck:\n      interval: 5s\n"))?.description
            == "compose.yaml:4: services.web.healthcheck: has no test; add test: [\"CMD\", ...] or a shell line")
        #expect(composeError(webService("    healthcheck:\n      test: [\"CMD\", \"true\"]\n      disable: true\n"))?.line == 6)
    }

    @Test func otherValues() {
        #expect(composeError(webService("    restart: sometimes\n"))?.description
            == "compose.yaml:4: services.web.restart: \"sometimes\" is not allowed; use no, always, on-failure or unless-stopped")
        #expect(composeError(webService("    environment:\n      - A=1\n      - HOME\n"))?.description
            == "compose.yaml:6: services.web.environment[1]: \"HOME\" has no value; write HOME=VALUE (Ployz does not take values from the deploying shell)")
        #expect(composeError(webService("    environment:\n      HOME:\n"))?.line == 5)
        #expect(composeError(webService("    environment: [A=1, A=2]\n"))?.kind == .invalid)
        #expect(composeError(webService("    command: echo 'open\n"))?.line == 4)
        #expect(composeError(webService("    environment:\n      TAG: ${TAG}\n"))?.description
            == "compose.yaml:5: services.web.environment.TAG: variable interpolation is not supported by Ployz; write the value itself, or $$ for a literal $")
        #expect(composeError(webService("    labels: [ployz.service=x]\n"))?.kind == .invalid)
        #expect(composeError(webService("    command: {a: b}\n"))?.description
            == "compose.yaml:4: services.web.command: must be a single value, found a mapping")
        #expect(composeError(webService("    x-ployz:\n      placement: [Bad_Name]\n"))?.line == 5)
        #expect(composeError(webService("    x-ployz:\n      placement: everywhere\n"))?.line == 5)
    }

    @Test func routes() {
        #expect(composeError(webService("    expose: [8080]\n    x-ployz:\n      routes:\n        - host: web.test\n          port: 9090\n"))?.description
            == "compose.yaml:8: services.web.x-ployz.routes[0].port: port 9090 is not exposed over tcp (expose: 8080); add it to expose, or route to an exposed port")
        #expect(composeError(webService("    x-ployz:\n      routes:\n        - host: web.test\n          port: 80\n"))?.description
            == "compose.yaml:7: services.web.x-ployz.routes[0].port: port 80 is not exposed over tcp (expose: none); add it to expose, or route to an exposed port")
        #expect(composeError(webService("    expose: [80]\n    x-ployz:\n      routes:\n        - host: web.test\n"))?.description
            == "compose.yaml:7: services.web.x-ployz.routes[0]: route has no port; add port: with a port from expose")
        #expect(composeError(webService("    expose: [80]\n    x-ployz:\n      routes:\n        - host: http://web.test\n          port: 80\n"))?.line == 7)
        #expect(composeError(webService("    expose: [80]\n    x-ployz:\n      routes:\n        - host: web.test\n          path: api\n          port: 80\n"))?.line == 8)
    }

    @Test func duplicateRouteInTheFile() {
        let text = """
        services:
          web:
            image: a:1
            expose: [80]
            x-ployz:
              routes:
                - host: [www.shop.test, Shop.Test]
                  port: 80
          api:
            image: b:1
            expose: [80]
            x-ployz:
              routes:
                - host: shop.test
                  path: /api
                  port: 80
                - host: shop.test
                  port: 80
        """
        let error = composeError(text)
        #expect(error?.kind == .conflict)
        #expect(error?.description
            == "compose.yaml:17: services.api.x-ployz.routes[1]: route shop.test/ is also claimed by service web (line 7); each host and path goes to one service")
        let own = webService("    expose: [80]\n    x-ployz:\n      routes:\n        - {host: a.test, port: 80}\n        - {host: a.test, port: 80}\n")
        #expect(composeError(own)?.description.contains("also claimed by another route of this service (line 7)") == true)
    }
}
