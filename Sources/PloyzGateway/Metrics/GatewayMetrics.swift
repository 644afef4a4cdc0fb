import Prometheus

/// The gateway's Prometheus metrics: requests by route and status class, upstream latency by route.
public final class GatewayMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// For requests that matched no route (404) or failed before routing (400, 431).
    let unrouted: RouteMetrics

    private static let requests = MetricNameDescriptor(
        namespace: "ployz_gateway", metricName: "requests", unitName: "total",
        helpText: "HTTP requests answered, by route and status class")
    private static let latency = MetricNameDescriptor(
        namespace: "ployz_gateway", metricName: "upstream_latency", unitName: "seconds",
        helpText: "Time from sending a request upstream to its response head, by route")
    private static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// Metrics registered in `registry` (a fresh one by default).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.unrouted = RouteMetrics(registry: registry, route: "none")
    }

    /// The counters and histogram of one route (the registry returns the same ones for the same label).
    func routeMetrics(label: String) -> RouteMetrics {
        RouteMetrics(registry: registry, route: label)
    }

    /// The text exposition format.
    public func render() -> String {
        registry.emitToString()
    }

    /// One route's metrics, created once per route table so a request only touches atomics.
    final class RouteMetrics: Sendable {
        /// Index: status / 100 - 1 (1xx...5xx).
        private let byClass: [Counter]
        private let upstreamLatency: DurationHistogram

        init(registry: PrometheusCollectorRegistry, route: String) {
            byClass = (1...5).map { registry.makeCounter(descriptor: GatewayMetrics.requests, labels: [("route", route), ("status", "\($0)xx")]) }
            upstreamLatency = registry.makeDurationHistogram(descriptor: GatewayMetrics.latency, labels: [("route", route)], buckets: GatewayMetrics.buckets)
        }

        func countResponse(status: Int) {
            let index = min(max(status / 100, 1), 5) - 1
            byClass[index].increment()
        }

        func recordUpstreamLatency(nanoseconds: Int64) {
            upstreamLatency.recordNanoseconds(nanoseconds)
        }
    }
}
