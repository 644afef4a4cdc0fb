import PloyzModel

extension ComposeFile {
    /// What a service's `deploy` says.
    struct Deploy {
        var mode = WorkloadMode.replicated(1)
        var updateOrder = UpdateOrder.startFirst
        var limits = ResourceLimits()
    }

    static let maxReplicas = 1000

    static func deploy(_ node: ComposeNode) throws -> Deploy {
        var deploy = Deploy()
        var replicas: ComposeNode?
        var global: ComposeNode?
        for (key, value) in try node.entries() {
            switch key {
            case "replicas":
                deploy.mode = .replicated(try value.int(in: 1...maxReplicas))
                replicas = value
            case "mode":
                switch try value.text() {
                case "replicated": continue
                case "global": global = value
                case let other: throw value.error(.invalid, "\"\(other)\" is not allowed; use replicated or global")
                }
            case "update_config": deploy.updateOrder = try updateOrder(value)
            case "resources": deploy.limits = try limits(value)
            case "placement": throw value.unsupported("use x-ployz.placement: spread, or a list of machine names")
            case "restart_policy": throw value.unsupported("use the service's restart")
            default: throw value.unsupported("deploy may have replicas, mode, update_config and resources")
            }
        }
        if let global {
            if let replicas {
                throw global.error(.invalid, "global runs one instance on every machine, so it cannot go with replicas (line \(replicas.line)); keep one of them")
            }
            deploy.mode = .global
        }
        return deploy
    }

    static func updateOrder(_ node: ComposeNode) throws -> UpdateOrder {
        var order = UpdateOrder.startFirst
        for (key, value) in try node.entries() {
            guard key == "order" else { throw value.unsupported("update_config may have order") }
            let text = try value.text()
            guard let parsed = UpdateOrder(rawValue: text) else {
                throw value.error(.invalid, "\"\(text)\" is not allowed; use start-first or stop-first")
            }
            order = parsed
        }
        return order
    }

    /// Docker refuses a memory limit under 6 MiB.
    static let minimumMemory: Int64 = 6 << 20

    static func limits(_ node: ComposeNode) throws -> ResourceLimits {
        var limits = ResourceLimits()
        for (key, value) in try node.entries() {
            guard key == "limits" else { throw value.unsupported("resources may have limits") }
            for (limit, amount) in try value.entries() {
                switch limit {
                case "cpus":
                    let text = try amount.text()
                    guard let cpus = Double(text), cpus > 0, cpus.isFinite else {
                        throw amount.error(.invalid, "\"\(text)\" is not allowed; use a number of CPUs above 0, like 0.5 or 2")
                    }
                    limits.cpus = cpus
                case "memory":
                    let text = try amount.text()
                    guard let bytes = ComposeValues.byteSize(text), bytes >= minimumMemory else {
                        throw amount.error(.invalid, "\"\(text)\" is not allowed; use a size of at least 6M, like 512M or 1g (or bytes)")
                    }
                    limits.memoryBytes = bytes
                default:
                    throw amount.unsupported("limits may have cpus and memory")
                }
            }
        }
        return limits
    }
}
