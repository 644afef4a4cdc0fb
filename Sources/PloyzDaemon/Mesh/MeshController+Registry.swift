import Foundation
import PloyzModel

extension MeshController {
    /// The registry of the running network's store; the commands need a running network.
    func registry() throws -> Registry {
        guard let store, let name = liveNetwork, phase(of: name) == .running else {
            throw ControlError(.usage, "no network is running; start one with `ployzctl mesh start NAME` or `ployzctl mesh init NAME`")
        }
        return Registry(store: store.store)
    }

    /// `instance set`: an instance without a machine runs on this node.
    func setInstance(_ instance: InstanceRecord) async throws -> InstanceRecord {
        let registry = try registry()
        var instance = instance
        if instance.machine.isEmpty, let name = liveNetwork { instance.machine = (try? networks.record(name).machineID) ?? "" }
        return try await registry.setInstance(instance)
    }
}
