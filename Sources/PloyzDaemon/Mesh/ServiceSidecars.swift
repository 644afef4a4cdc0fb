import Foundation
import Logging
import PloyzModel

/// The gateway and DNS sidecars of a network: started in the `sidecars` phase, after the store,
/// because they serve from it.
struct ServiceSidecars: Sendable {
    let config: PloyzConfig
    let paths: DaemonPaths
    let supervisor: Supervisor
    let logger: Logger

    func bringUp(_ record: NetworkRecord, overlay: IPv6Address, rollback: Rollback) async throws {}

    func tearDown(network: String) async {}
}

extension MeshController {
    var serviceSidecars: ServiceSidecars { ServiceSidecars(config: config, paths: paths, supervisor: supervisor, logger: logger) }
}
