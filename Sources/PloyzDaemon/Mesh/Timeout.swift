import NATSClient

/// An operation ran past its time limit.
struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    let limit: Duration
    var description: String { "\(what) did not finish within \(limit)" }
}

/// Runs `body`, failing with `TimeoutError` when it takes longer than `limit` (the body is cancelled).
func withTimeout<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError(what: what, limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Whether a store error may pass by itself: a timeout, no responders yet (a new server's routes
/// are still exchanging interest), JetStream temporarily unavailable (an election), a connection
/// being re-established, a stream a just-joined server does not know yet. Only for steps that a
/// caller bounds in time.
func isTransientStoreError(_ error: Error) -> Bool {
    if error is TimeoutError { return true }
    guard let nats = error as? NATSError else { return false }
    switch nats {
    case .timeout, .noResponders, .connectionClosed, .connectionFailed: return true
    // A server that has just joined the cluster can answer before it has the cluster's streams.
    case .streamNotFound, .bucketNotFound: return true
    case .jetStream(let api): return api.code == 503 || api.code == 408 || api.code == 504 || api.errCode == 10059
    default: return false
    }
}

/// Runs a store step with `attempt` as the limit of each try, trying again while it fails with a
/// transient error and `within` has not passed; other errors fail at once.
func retryingStore<T: Sendable>(_ what: String, within: Duration, attempt: Duration = .seconds(5),
                                _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let deadline = ContinuousClock.now + within
    while true {
        do {
            return try await withTimeout(attempt, what, body)
        } catch {
            guard isTransientStoreError(error), ContinuousClock.now + .milliseconds(250) < deadline else { throw error }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}
