import Foundation
import PloyzModel
import Testing
@testable import PloyzDaemon

@Suite struct AgentPlanTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    func desired(slot: Int = 0, revision: String = "new", order: UpdateOrder = .startFirst, restart: RestartPolicy = .unlessStopped) -> AgentPlan.Desired {
        AgentPlan.Desired(namespace: "default", service: "web", slot: slot, revision: revision,
                          template: ContainerTemplate(image: "web:1", restart: restart), updateOrder: order)
    }

    func running(_ id: String, slot: Int = 0, revision: String = "new", state: String = "running", health: String = "healthy") -> AgentPlan.Running {
        AgentPlan.Running(id: id, namespace: "default", service: "web", slot: slot, revision: revision, state: state, health: health)
    }

    func plan(_ desired: [AgentPlan.Desired], _ running: [AgentPlan.Running], ready: [String: Date] = [:],
              withdrawn: [String: Date] = [:]) -> [AgentPlan.Action] {
        AgentPlan.actions(desired: desired, running: running, readySince: ready, withdrawnAt: withdrawn, now: now, settle: 2, drain: 2)
    }

    @Test func aMissingSlotIsCreatedAndARunningOneLeftAlone() {
        #expect(plan([desired()], []) == [.create(desired())])
        #expect(plan([desired()], [running("c1")], ready: ["c1": now.addingTimeInterval(-60)]).isEmpty)
    }

    @Test func startFirstWithdrawsTheOldOnlyAfterTheNewHasSettled() {
        let old = running("old", revision: "old")
        #expect(plan([desired()], [old]) == [.create(desired())])
        let new = running("new")
        #expect(plan([desired()], [old, new], ready: ["new": now.addingTimeInterval(-1)]).isEmpty)
        #expect(plan([desired()], [old, new], ready: ["new": now.addingTimeInterval(-2)]) == [.withdraw(containerID: "old")])
        #expect(plan([desired()], [old, new], ready: ["new": now.addingTimeInterval(-5)], withdrawn: ["old": now.addingTimeInterval(-1)]).isEmpty)
        #expect(plan([desired()], [old, new], ready: ["new": now.addingTimeInterval(-5)], withdrawn: ["old": now.addingTimeInterval(-2)])
                == [.remove(containerID: "old")])
    }

    @Test func stopFirstRemovesTheOldBeforeCreating() {
        let old = running("old", revision: "old")
        let slot = desired(order: .stopFirst)
        #expect(plan([slot], [old]) == [.withdraw(containerID: "old")])
        #expect(plan([slot], [old], withdrawn: ["old": now.addingTimeInterval(-3)]) == [.remove(containerID: "old")])
        #expect(plan([slot], []) == [.create(slot)])
    }

    @Test func stoppedContainersStartAgainUnlessRestartIsNo() {
        #expect(plan([desired()], [running("c1", state: "exited", health: "unhealthy")]) == [.start(containerID: "c1")])
        #expect(plan([desired(restart: .no)], [running("c1", state: "exited")]).isEmpty)
        #expect(plan([desired(restart: .no)], [running("c1", state: "created", health: "none")]) == [.start(containerID: "c1")])
    }

    @Test func containersOfNoDesiredSlotAreWithdrawnThenRemoved() {
        let orphan = running("c9", slot: 3)
        #expect(plan([desired()], [orphan]) == [.create(desired()), .withdraw(containerID: "c9")])
        #expect(plan([], [orphan], withdrawn: ["c9": now.addingTimeInterval(-10)]) == [.remove(containerID: "c9")])
    }

    @Test func desiredSlotsComeFromTheRecordsOfThisMachine() {
        let template = ContainerTemplate(image: "web:2")
        let record = WorkloadRecord(spec: WorkloadSpec(name: "web", template: template, mode: .replicated(2)),
                                    templates: [template.revision: template],
                                    slots: [WorkloadSlot(index: 0, machine: "m1", revision: template.revision),
                                            WorkloadSlot(index: 1, machine: "m2", revision: template.revision)])
        let mine = WorkloadAgent.desiredSlots([record], machine: "m2")
        #expect(mine.map(\.slot) == [1])
        #expect(mine.first?.instanceID == "default.web.1.\(template.revision)")
    }
}
