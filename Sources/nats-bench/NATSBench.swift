import ArgumentParser
import Foundation
import NATSClient
import NIOCore
import NIOPosix

/// Measures the NATS client: publish throughput, request/reply latency, KV put/get rates.
/// Prints one JSON object so scripts/bench-nats.sh can compare it with nats-py.
@main
struct NATSBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nats-bench",
        abstract: "Benchmark the Swift NATS client against a running nats-server (with JetStream).")

    @Option(help: "Server URL.")
    var server = "nats://127.0.0.1:4222"

    @Option(help: "Messages to publish for the throughput test.")
    var messages = 1_000_000

    @Option(help: "Payload size in bytes.")
    var size = 128

    @Option(help: "Sequential request/reply round trips.")
    var requests = 10_000

    @Option(help: "Sequential KV puts, then as many KV gets.")
    var kvOps = 5_000

    @Flag(inversion: .prefixedNo, help: "Run Swift concurrency on NIO's event loops (no thread hop between I/O and tasks).")
    var nioExecutor = true

    mutating func run() async throws {
        if nioExecutor {
            // The executable's choice, as any NIO server may make: tasks resumed by a reply keep
            // running on the event loop that read it.
            guard NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() else {
                throw ValidationError("could not install the NIO event loops as the global executor")
            }
        }
        let options = NATSOptions(servers: [server])
        let nc = try await NATSConnection.connect(options)
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: size)

        // Publish throughput: fire-and-forget publishes, then one flush (server has them all).
        for _ in 0..<10_000 { try nc.publish("bench.warmup", payload: payload) }
        try await nc.flush()
        let pubStart = ContinuousClock.now
        for _ in 0..<messages { try nc.publish("bench.pub", payload: payload) }
        try await nc.flush(timeout: .seconds(120))
        let pubSeconds = (ContinuousClock.now - pubStart).seconds
        let pubRate = Double(messages) / pubSeconds

        // Request/reply round trip against a responder on its own connection, then KV ops.
        let (latencies, putRate, getRate) = try await Self.measure(nc: nc, options: options, payload: payload,
                                                                   requests: requests, kvOps: kvOps)
        await nc.close()

        let result: [String: Double] = [
            "pub_msgs_per_s": pubRate.rounded(),
            "req_p50_us": Self.percentile(latencies, 0.50),
            "req_p99_us": Self.percentile(latencies, 0.99),
            "kv_put_ops_per_s": putRate.rounded(),
            "kv_get_ops_per_s": getRate.rounded(),
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Sequential request/reply round trips, then sequential KV puts and gets.
    static func measure(nc: NATSConnection, options: NATSOptions, payload: ByteBuffer,
                        requests: Int, kvOps: Int) async throws -> ([Double], Double, Double) {
        let responderConnection = try await NATSConnection.connect(options)
        let service = try await responderConnection.subscribe("bench.req")
        let responder = Task {
            for await m in service {
                if let reply = m.reply { try? responderConnection.publish(reply, payload: m.payload) }
            }
        }
        try await responderConnection.flush()
        for _ in 0..<200 { _ = try await nc.request("bench.req", payload: payload, timeout: .seconds(5)) }
        var latencies: [Double] = []
        latencies.reserveCapacity(requests)
        for _ in 0..<requests {
            let t = ContinuousClock.now
            _ = try await nc.request("bench.req", payload: payload, timeout: .seconds(5))
            latencies.append((ContinuousClock.now - t).seconds * 1e6)
        }
        latencies.sort()
        responder.cancel()
        await responderConnection.close()

        // KV: sequential awaited puts, then gets, over 100 keys.
        let js = nc.jetStream()
        try? await js.deleteKeyValue("bench")
        let kv = try await js.createKeyValue(bucket: "bench", history: 1)
        let keys = (0..<100).map { "key\($0)" }
        for k in keys { try await kv.put(k, payload) }
        let putStart = ContinuousClock.now
        for i in 0..<kvOps { try await kv.put(keys[i % keys.count], payload) }
        let putRate = Double(kvOps) / (ContinuousClock.now - putStart).seconds
        let getStart = ContinuousClock.now
        for i in 0..<kvOps {
            guard try await kv.get(keys[i % keys.count]) != nil else { throw NATSError.invalidResponse("missing key") }
        }
        let getRate = Double(kvOps) / (ContinuousClock.now - getStart).seconds
        try? await js.deleteKeyValue("bench")
        return (latencies, putRate, getRate)
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let i = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))
        return (sorted[i] * 10).rounded() / 10
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
