#!/usr/bin/env bash
# Benchmarks the Swift NATS client (nats-bench) against nats-py on the same workload and server:
# publish throughput (128-byte payloads), request/reply p50/p99, sequential KV put/get ops/s.
# Each client runs ROUNDS times, alternating, and the table shows each metric's median (the
# machine is shared, so single runs are noisy).
# Environment: MESSAGES, REQUESTS, KV_OPS, SIZE, ROUNDS override the workload; NATS_SERVER the binary.
set -euo pipefail
# Never two benchmarks at once: each takes /tmp/ployz-bench.lock (PLOYZ_BENCH_LOCKED=1 when the
# caller holds it already).
if [ -z "${PLOYZ_BENCH_LOCKED:-}" ]; then
  exec env PLOYZ_BENCH_LOCKED=1 flock -o /tmp/ployz-bench.lock "$0" "$@"
fi

cd "$(dirname "$0")/.."
MESSAGES=${MESSAGES:-1000000}
REQUESTS=${REQUESTS:-10000}
KV_OPS=${KV_OPS:-5000}
SIZE=${SIZE:-128}
ROUNDS=${ROUNDS:-3}
NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}

swift build -c release --product nats-bench >/tmp/bench-nats-build.log 2>&1 || {
    tail -30 /tmp/bench-nats-build.log; exit 1; }
BIN="$(swift build -c release --product nats-bench --show-bin-path)/nats-bench"

python3 -c 'import nats' 2>/dev/null || python3 -m pip install --quiet nats-py

WORK=$(mktemp -d /tmp/bench-nats.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$NATS_SERVER" -a 127.0.0.1 -p "$PORT" -js -sd "$WORK/js" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
cleanup() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
    sleep 0.1
done

ARGS=(--server "nats://127.0.0.1:$PORT" --messages "$MESSAGES" --requests "$REQUESTS" --kv-ops "$KV_OPS" --size "$SIZE")
: >"$WORK/swift.jsonl"
: >"$WORK/py.jsonl"
for round in $(seq "$ROUNDS"); do
    "$BIN" "${ARGS[@]}" >>"$WORK/swift.jsonl"
    python3 scripts/bench_nats_py.py "${ARGS[@]}" >>"$WORK/py.jsonl"
done

python3 - "$WORK/swift.jsonl" "$WORK/py.jsonl" "$ROUNDS" <<'PY'
import json, statistics, sys
def medians(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
swift, py = medians(sys.argv[1]), medians(sys.argv[2])
print(f"median of {sys.argv[3]} rounds per client")
rows = [
    ("publish msgs/s (128 B)", "pub_msgs_per_s", True),
    ("request p50 us", "req_p50_us", False),
    ("request p99 us", "req_p99_us", False),
    ("KV put ops/s", "kv_put_ops_per_s", True),
    ("KV get ops/s", "kv_get_ops_per_s", True),
]
print(f"{'metric':<24}{'swift':>14}{'nats-py':>14}{'swift/py':>10}  better")
for name, key, higher in rows:
    s, p = swift[key], py[key]
    ratio = s / p if p else float("nan")
    print(f"{name:<24}{s:>14,.1f}{p:>14,.1f}{ratio:>10.2f}  {'higher' if higher else 'lower'}")
PY
