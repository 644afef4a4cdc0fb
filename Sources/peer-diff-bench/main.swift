import WireGuard

// `peer-diff-bench [PEERS ...]`: the median time of the pure peer diff (`PeerPlan.diff`) for a
// device with PEERS peers (default 1000) and a desired set with churn, one line per size. Used
// by scripts/bench-cluster.sh; build it in release mode.
let sizes = CommandLine.arguments.dropFirst().compactMap { Int($0) }.filter { $0 > 0 }
for peers in sizes.isEmpty ? [1000] : sizes {
    let micros = PeerPlanBenchmark.medianDiffMicroseconds(peers: peers, iterations: 200)
    print("peer diff for \(peers) peers: median \(String(format: "%.2f", micros / 1000)) ms over 200 runs")
}
