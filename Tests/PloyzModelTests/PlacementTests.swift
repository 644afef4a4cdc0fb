import Testing
@testable import PloyzModel

@Suite struct PlacementTests {
    let template = ContainerTemplate(image: "web:1")
    let machines = [Placement.Machine(id: "m1", name: "node1"), Placement.Machine(id: "m2", name: "node2"),
                    Placement.Machine(id: "m3", name: "node3")]

    func spec(_ mode: WorkloadMode, _ placement: PlacementRule = .spread) -> WorkloadSpec {
        WorkloadSpec(name: "web", template: template, mode: mode, placement: placement)
    }

    @Test func replicasSpreadOverTheLeastLoadedMachines() throws {
        var loaded = machines
        loaded[0].load = 5
        let slots = try Placement.slots(for: spec(.replicated(2)), current: [], machines: loaded, revision: "r1")
        #expect(slots == [WorkloadSlot(index: 0, machine: "m2", revision: "r1"), WorkloadSlot(index: 1, machine: "m3", revision: "r1")])
    }

    @Test func moreReplicasThanMachinesDoubleUpEvenly() throws {
        let slots = try Placement.slots(for: spec(.replicated(5)), current: [], machines: machines, revision: "r1")
        let counts = Dictionary(grouping: slots, by: \.machine).mapValues(\.count)
        #expect(counts == ["m1": 2, "m2": 2, "m3": 1])
        #expect(slots.map(\.index) == [0, 1, 2, 3, 4])
    }

    @Test func namedMachinesOnly() throws {
        let slots = try Placement.slots(for: spec(.replicated(2), .machines(["node2", "node3"])), current: [], machines: machines, revision: "r1")
        #expect(Set(slots.map(\.machine)) == ["m2", "m3"])
    }

    @Test func slotsOnLiveMachinesStayWithTheirRevision() throws {
        let current = [WorkloadSlot(index: 0, machine: "m3", revision: "old"), WorkloadSlot(index: 1, machine: "m1", revision: "old")]
        let slots = try Placement.slots(for: spec(.replicated(3)), current: current, machines: machines, revision: "new")
        #expect(slots == [WorkloadSlot(index: 0, machine: "m3", revision: "old"), WorkloadSlot(index: 1, machine: "m1", revision: "old"),
                          WorkloadSlot(index: 2, machine: "m2", revision: "new")])
    }

    @Test func aDeadMachinesSlotMovesAndScalingDownDropsTheHighestSlots() throws {
        let current = [WorkloadSlot(index: 0, machine: "gone", revision: "r1"), WorkloadSlot(index: 1, machine: "m2", revision: "r1"),
                       WorkloadSlot(index: 2, machine: "m3", revision: "r1")]
        let moved = try Placement.slots(for: spec(.replicated(3)), current: current, machines: machines, revision: "r1")
        #expect(moved.first == WorkloadSlot(index: 0, machine: "m1", revision: "r1"))
        let down = try Placement.slots(for: spec(.replicated(1)), current: Array(current.dropFirst()), machines: machines, revision: "r1")
        #expect(down == [WorkloadSlot(index: 0, machine: "m1", revision: "r1")])
    }

    @Test func globalGivesEveryMachineOneSlotAndKeepsIndexes() throws {
        let current = [WorkloadSlot(index: 0, machine: "m2", revision: "r1")]
        let slots = try Placement.slots(for: spec(.global), current: current, machines: machines, revision: "r2")
        #expect(slots == [WorkloadSlot(index: 0, machine: "m2", revision: "r1"), WorkloadSlot(index: 1, machine: "m1", revision: "r2"),
                          WorkloadSlot(index: 2, machine: "m3", revision: "r2")])
    }

    @Test func failuresNameWhatIsMissing() {
        #expect(throws: Placement.Failure.self) { try Placement.slots(for: spec(.replicated(1)), current: [], machines: [], revision: "r") }
        do {
            _ = try Placement.slots(for: spec(.replicated(1), .machines(["node9"])), current: [], machines: machines, revision: "r")
            Issue.record("placement on an unknown machine succeeded")
        } catch {
            #expect(error.description.contains("node9"))
            #expect(error.description.contains("node1, node2, node3"))
        }
        let full = [Placement.Machine(id: "m1", name: "node1", freeAddresses: 2)]
        do {
            _ = try Placement.slots(for: spec(.replicated(3)), current: [], machines: full, revision: "r")
            Issue.record("three replicas fit in two addresses")
        } catch {
            #expect(error.description.contains("no free instance address"))
        }
    }

    @Test func revisionIsStableAndFollowsEveryField() {
        let a = ContainerTemplate(image: "web:1", environment: ["A": "1", "B": "2"])
        let b = ContainerTemplate(image: "web:1", environment: ["B": "2", "A": "1"])
        #expect(a.revision == b.revision)
        #expect(a.revision.count == 12)
        var c = a
        c.environment["A"] = "3"
        #expect(c.revision != a.revision)
    }

    @Test func instanceCapacityLeavesNodeAndDNSAddresses() throws {
        #expect(try IPv4CIDR.parse("10.101.3.0/24").instanceCapacity == 252)
        #expect(try IPv4CIDR.parse("10.101.3.0/30").instanceCapacity == 0)
    }

    @Test func routeConflictNamesTheOwner() {
        let other = ServiceRecord(namespace: "shop", name: "api", routes: [HTTPRoute(hostnames: ["app.example.com"], pathPrefix: "/api", port: 80)])
        var mine = spec(.replicated(1))
        mine.routes = [HTTPRoute(hostnames: ["APP.example.com"], pathPrefix: "/api", port: 8080)]
        #expect(mine.routeConflict(with: [other])?.contains("shop/api") == true)
        mine.routes[0].pathPrefix = "/"
        #expect(mine.routeConflict(with: [other]) == nil)
        let itself = ServiceRecord(namespace: "default", name: "web", routes: [HTTPRoute(hostnames: ["app.example.com"], pathPrefix: "/", port: 80)])
        #expect(mine.routeConflict(with: [itself]) == nil)
    }
}
