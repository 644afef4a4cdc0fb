import CoreMetrics
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// Query counters by type and rcode and an answer-latency histogram, recorded through
/// swift-metrics into a Prometheus registry of our own (no global bootstrap, so several servers
/// in one process, as in tests, keep separate counts).
public final class DNSMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let counters = NIOLockedValueBox<[CounterKey: CoreMetrics.Counter]>([:])
    private let latency: Metrics.Timer

    private struct CounterKey: Hashable {
        var type: UInt16
        var rcode: UInt16
    }

    /// Latency buckets from 10 µs to 2.5 s: local answers take microseconds, forwarded ones up to the timeout.
    static let latencyBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
        .milliseconds(500), .milliseconds(2500),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["dns_answer_duration_seconds"] = Self.latencyBuckets
        self.factory = factory
        latency = Metrics.Timer(label: "dns_answer_duration_seconds", dimensions: [], factory: factory)
    }

    /// Counts one answered (or dropped, rcode nil) query and its latency.
    public func record(type: DNSType?, rcode: DNSRcode?, nanoseconds: Int64) {
        let key = CounterKey(type: type?.rawValue ?? 0, rcode: rcode.map { $0.rawValue } ?? UInt16.max)
        let counter = counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: "dns_queries_total",
                                              dimensions: [("type", Self.typeLabel(type)), ("rcode", Self.rcodeLabel(rcode))],
                                              factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
        latency.recordNanoseconds(nanoseconds)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// Known mnemonics, `OTHER` for the rest so a scanner cannot blow up the label cardinality.
    static func typeLabel(_ type: DNSType?) -> String {
        guard let type else { return "NONE" }
        let known: Set<DNSType> = [.a, .ns, .cname, .soa, .ptr, .mx, .txt, .aaaa, .srv, .opt, .ixfr, .axfr, .any, DNSType(rawValue: 65)]
        return known.contains(type) ? type.description : "OTHER"
    }

    static func rcodeLabel(_ rcode: DNSRcode?) -> String {
        guard let rcode else { return "DROPPED" }
        return rcode.rawValue <= 5 || rcode == .badVersion ? rcode.description : "OTHER"
    }
}
