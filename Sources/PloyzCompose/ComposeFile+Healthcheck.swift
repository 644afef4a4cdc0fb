import PloyzModel

extension ComposeFile {
    /// A service's `healthcheck`; nil when it is disabled (`disable: true` or test `["NONE"]`).
    static func healthcheck(_ node: ComposeNode) throws -> HealthCheck? {
        var check = HealthCheck(test: [])
        var test: ComposeNode?
        var disabled: ComposeNode?
        for (key, value) in try node.entries() {
            switch key {
            case "test":
                check.test = try healthTest(value)
                test = value
            case "interval": check.interval = try positiveDuration(value)
            case "timeout": check.timeout = try positiveDuration(value)
            case "start_period": check.startPeriod = try value.duration()
            case "retries": check.retries = try value.int(in: 1...1000)
            case "disable":
                if try value.bool() { disabled = value }
            default:
                throw value.unsupported("healthcheck may have test, interval, timeout, retries, start_period and disable")
            }
        }
        if let disabled {
            if let test { throw disabled.error(.invalid, "disable: true cannot go with test (line \(test.line)); keep one of them") }
            return nil
        }
        guard test != nil else { throw node.error(.missing, "has no test; add test: [\"CMD\", ...] or a shell line") }
        return check.test == ["NONE"] ? nil : check
    }

    /// Docker's test form: `["CMD", prog, args...]`, `["CMD-SHELL", line]` or `["NONE"]`; a plain
    /// string is a shell line.
    static func healthTest(_ node: ComposeNode) throws -> [String] {
        guard node.isSequence else { return ["CMD-SHELL", try node.text()] }
        let words = try node.items().map { try $0.text() }
        switch words.first {
        case "CMD" where words.count > 1, "CMD-SHELL" where words.count == 2, "NONE" where words.count == 1:
            return words
        default:
            throw node.error(.invalid, "must be [\"CMD\", program, args...], [\"CMD-SHELL\", \"one shell line\"], [\"NONE\"] or a shell line")
        }
    }

    static func positiveDuration(_ node: ComposeNode) throws -> Double {
        let seconds = try node.duration()
        guard seconds > 0 else { throw node.error(.invalid, "must be longer than 0s") }
        return seconds
    }
}
