import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT for the processes that end on their own terms (`ployzd` leaves the data plane
/// running; `ployz-gateway` drains): the signals no longer end the process, `handler` hears each
/// one by name. Keep the returned sources alive as long as the handler is wanted.
public func handleTerminationSignals(_ handler: @escaping @Sendable (String) -> Void) -> [DispatchSourceSignal] {
    [(SIGTERM, "TERM"), (SIGINT, "INT")].map { number, name in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { handler(name) }
        source.resume()
        return source
    }
}

/// Waits for the first SIGTERM or SIGINT (see `handleTerminationSignals`); returns its name.
public func firstTerminationSignal() async -> String {
    let (signals, continuation) = AsyncStream.makeStream(of: String.self)
    let sources = handleTerminationSignals { continuation.yield($0) }
    defer { sources.forEach { $0.cancel() } }
    var next = signals.makeAsyncIterator()
    return await next.next() ?? "TERM" // the stream never finishes
}
