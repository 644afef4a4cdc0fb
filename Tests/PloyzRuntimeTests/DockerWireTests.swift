import Foundation
import PloyzModel
@testable import PloyzRuntime
import Testing

/// Translations between the runtime's types and Docker's JSON, without a daemon.
struct DockerWireTests {
    @Test func createBodyCarriesTemplateAndPloyzFields() throws {
        let template = ContainerTemplate(
            image: "web:1", command: ["httpd", "-f"], entrypoint: ["/bin/sh", "-c"], environment: ["B": "2", "A": "1"],
            labels: ["app": "web", "ployz.service": "user-set"],
            healthcheck: HealthCheck(test: ["CMD-SHELL", "true"], interval: 1.5, timeout: 2, retries: 4, startPeriod: 0.25),
            restart: .unlessStopped, stopGracePeriod: 7.2, limits: ResourceLimits(cpus: 0.5, memoryBytes: 64 << 20))
        let spec = ContainerCreateSpec(name: "c", template: template, labels: ["ployz.service": "web"], network: "ployz",
                                       dnsServers: ["10.101.5.2"], ipv4Address: "10.101.5.9", binds: ["/data:/var/data:ro"])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(DockerWire.containerCreate(spec))) as! [String: Any]
        #expect(json["Image"] as? String == "web:1")
        #expect(json["Cmd"] as? [String] == ["httpd", "-f"])
        #expect(json["Entrypoint"] as? [String] == ["/bin/sh", "-c"])
        #expect(json["Env"] as? [String] == ["A=1", "B=2"])
        #expect(json["Labels"] as? [String: String] == ["app": "web", "ployz.service": "web"])
        #expect(json["StopTimeout"] as? Int == 8)
        let health = try #require(json["Healthcheck"] as? [String: Any])
        #expect(health["Test"] as? [String] == ["CMD-SHELL", "true"])
        #expect(health["Interval"] as? Int64 == 1_500_000_000)
        #expect(health["Timeout"] as? Int64 == 2_000_000_000)
        #expect(health["StartPeriod"] as? Int64 == 250_000_000)
        #expect(health["Retries"] as? Int == 4)
        let host = try #require(json["HostConfig"] as? [String: Any])
        #expect(host["NetworkMode"] as? String == "ployz")
        #expect(host["Dns"] as? [String] == ["10.101.5.2"])
        #expect((host["RestartPolicy"] as? [String: Any])?["Name"] as? String == "unless-stopped")
        #expect(host["NanoCpus"] as? Int64 == 500_000_000)
        #expect(host["Memory"] as? Int64 == 64 << 20)
        #expect(host["Binds"] as? [String] == ["/data:/var/data:ro"])
        let endpoints = (json["NetworkingConfig"] as? [String: Any])?["EndpointsConfig"] as? [String: Any]
        let ipam = (endpoints?["ployz"] as? [String: Any])?["IPAMConfig"] as? [String: Any]
        #expect(ipam?["IPv4Address"] as? String == "10.101.5.9")
    }

    @Test func createBodyLeavesOutWhatIsNotSet() throws {
        let spec = ContainerCreateSpec(name: "c", template: ContainerTemplate(image: "x", restart: .no))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(DockerWire.containerCreate(spec))) as! [String: Any]
        #expect(json["Cmd"] == nil && json["Healthcheck"] == nil && json["NetworkingConfig"] == nil)
        let host = try #require(json["HostConfig"] as? [String: Any])
        #expect(host["Dns"] == nil && host["NanoCpus"] == nil && host["Memory"] == nil && host["NetworkMode"] == nil)
    }

    @Test func networkBodyNamesBridgeMTUAndReservedAddresses() throws {
        let spec = NetworkSpec(name: "ployz", subnet: "10.101.5.0/24", gateway: "10.101.5.1", reservedAddresses: ["dns": "10.101.5.2"],
                               mtu: 1420, bridgeName: "ployz0", labels: ["ployz.network": "n"])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(DockerWire.networkCreate(spec))) as! [String: Any]
        #expect(json["Driver"] as? String == "bridge")
        #expect(json["Options"] as? [String: String] == ["com.docker.network.driver.mtu": "1420",
                                                         "com.docker.network.bridge.name": "ployz0"])
        let pool = try #require(((json["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]])?.first)
        #expect(pool["Subnet"] as? String == "10.101.5.0/24")
        #expect(pool["Gateway"] as? String == "10.101.5.1")
        #expect(pool["AuxiliaryAddresses"] as? [String: String] == ["dns": "10.101.5.2"])
    }

    @Test func inspectBecomesContainerInfo() throws {
        let json = """
        {"Id":"abc","Name":"/web-1","RestartCount":2,
         "State":{"Status":"running","Pid":42,"ExitCode":0,"StartedAt":"2026-12-07T22:56:53.551376439Z",
                  "FinishedAt":"0001-01-01T00:00:00Z","Health":{"Status":"healthy"}},
         "Config":{"Image":"ployz-test:1","Labels":{"ployz.service":"web"}},
         "HostConfig":{"NetworkMode":"ployz"},
         "NetworkSettings":{"Networks":{"other":{"IPAddress":"172.17.0.2"},"ployz":{"IPAddress":"10.101.5.3"}}}}
        """
        let inspect = try JSONDecoder().decode(DockerWire.ContainerInspect.self, from: Data(json.utf8))
        let info = DockerWire.containerInfo(inspect)
        #expect(info.name == "web-1" && info.state == .running && info.health == .healthy && info.pid == 42)
        #expect(info.ipv4Address == "10.101.5.3" && info.network == "ployz")
        #expect(info.exitCode == nil && info.finishedAt == nil && info.restartCount == 2)
        let started = try #require(info.startedAt)
        #expect(abs(started.timeIntervalSince1970 - 1_796_684_213.551376) < 0.001)
    }

    @Test func eventsBecomeContainerEvents() throws {
        func event(_ action: String, _ attributes: [String: String]) throws -> ContainerEvent? {
            let json: [String: Any] = ["Type": "container", "Action": action, "timeNano": 1_000_000_000_500_000_000,
                                       "Actor": ["ID": "abc", "Attributes": attributes]]
            let data = try JSONSerialization.data(withJSONObject: json)
            return DockerWire.containerEvent(try JSONDecoder().decode(DockerWire.Event.self, from: data))
        }
        let die = try #require(try event("die", ["exitCode": "137", "name": "web-1", "image": "x", "ployz.service": "web"]))
        #expect(die.kind == .die(exitCode: 137) && die.name == "web-1" && die.labels == ["ployz.service": "web"])
        #expect(die.time == Date(timeIntervalSince1970: 1_000_000_000.5))
        #expect(try event("health_status: unhealthy", [:])?.kind == .health(.unhealthy))
        #expect(try event("start", [:])?.kind == .start)
        #expect(try event("destroy", [:])?.kind == .destroy)
        #expect(try event("exec_start: sh", [:]) == nil)
    }

    @Test func referencesSplitIntoRepositoryAndTag() {
        #expect(DockerWire.splitReference("busybox") == ("busybox", "latest"))
        #expect(DockerWire.splitReference("ployz-test:1") == ("ployz-test", "1"))
        #expect(DockerWire.splitReference("registry:5000/team/web") == ("registry:5000/team/web", "latest"))
        #expect(DockerWire.splitReference("registry:5000/team/web:2.1") == ("registry:5000/team/web", "2.1"))
        #expect(DockerWire.splitReference("web@sha256:ab") == ("web", "sha256:ab"))
    }

    @Test func filtersAreDockersJSON() {
        #expect(DockerWire.filters(labels: ["b": "2", "a": "1"], extra: ["type": ["container"]])
            == #"{"label":["a=1","b=2"],"type":["container"]}"#)
    }

    @Test func queryValuesArePercentEncoded() {
        #expect(DockerEngine.percentEncoded(#"{"label":["a=1"]}"#) == "%7B%22label%22%3A%5B%22a%3D1%22%5D%7D")
    }
}

/// Docker's multiplexed log stream, fed in pieces as the network splits it.
struct LogDemultiplexerTests {
    static func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let size = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(size >> 24), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)] + payload
    }

    @Test func framesBecomeLinesOfTheirStream() {
        var demultiplexer = LogDemultiplexer()
        let bytes = Self.frame(1, "out-1\nout-") + Self.frame(2, "err-1\r\n") + Self.frame(1, "2\n")
        let lines = demultiplexer.feed(bytes)
        #expect(lines == [LogLine(stream: .stdout, text: "out-1"), LogLine(stream: .stderr, text: "err-1"),
                          LogLine(stream: .stdout, text: "out-2")])
    }

    @Test func chunksSplitAnywhere() {
        let bytes = Self.frame(1, "a\nbb\n") + Self.frame(2, "c\n") + Self.frame(1, "tail")
        for chunkSize in 1...bytes.count {
            var demultiplexer = LogDemultiplexer()
            var lines: [LogLine] = []
            for start in stride(from: 0, to: bytes.count, by: chunkSize) {
                lines += demultiplexer.feed(bytes[start..<min(start + chunkSize, bytes.count)])
            }
            lines += demultiplexer.finish()
            #expect(lines.map(\.text) == ["a", "bb", "c", "tail"], "chunk size \(chunkSize)")
        }
    }

    @Test func timestampsBecomeTheLinesTime() throws {
        var demultiplexer = LogDemultiplexer(timestamps: true)
        let lines = demultiplexer.feed(Self.frame(1, "2026-12-07T23:59:58.250000000Z hello world\nno-time-here\n"))
        #expect(lines.map(\.text) == ["hello world", "no-time-here"])
        let time = try #require(lines.first?.time)
        #expect(abs(time.timeIntervalSince1970 - 1_796_687_998.25) < 0.001, "\(time.timeIntervalSince1970)")
        #expect(lines.last?.time == nil)
        #expect(LogLine.parseTime("2026-12-07T23:59:58Z") != nil)
        #expect(LogLine.parseTime("2026-12-07T23:59:58.x5Z") == nil)
    }

    @Test func lineSplitterKeepsPartialLines() {
        var splitter = LineSplitter()
        #expect(splitter.feed(Array("{\"a\":1}\n{\"b\"".utf8)) == [Array("{\"a\":1}".utf8)])
        #expect(splitter.feed(Array(":2}\n".utf8)) == [Array("{\"b\":2}".utf8)])
        #expect(splitter.finish() == nil)
    }
}
