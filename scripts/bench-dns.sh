#!/usr/bin/env bash
# DNS benchmark: dnsperf against ployz-dns, knotd and dnsmasq serving the same 1,000 names
# (10% of queries are NXDOMAIN), one after the other on 127.0.0.1, with the same CPU pinning.
#
#   scripts/bench-dns.sh
#
# Knobs (environment): DURATION (s, default 10), SERVER_CPUS (taskset list for the servers,
# default "1"), CLIENT_CPUS (for dnsperf, default "0"), THREADS (ployz-dns event loops and knotd
# udp-workers, default 2; dnsmasq is single-threaded by design), CLIENTS (dnsperf sockets, default
# 8: SO_REUSEPORT spreads sockets, not packets, over worker threads), PLOYZ_DNS_BIN (skip the build),
# PROFILE=1 (perf profile of ployz-dns during its run: where its CPU time goes).
set -euo pipefail

if [ -z "${PLOYZ_BENCH_LOCKED:-}" ]; then
    exec env PLOYZ_BENCH_LOCKED=1 flock -o /tmp/ployz-bench.lock "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
SERVER_CPUS=${SERVER_CPUS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
THREADS=${THREADS:-2}
CLIENTS=${CLIENTS:-8}
P99_DURATION=${P99_DURATION:-5}

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need dnsperf || missing+=(dnsperf)
need knotd || missing+=(knot)
# dnsmasq-base is the daemon without the system service, so installing it starts nothing.
need dnsmasq || missing+=(dnsmasq-base)
need dig || missing+=(bind9-dnsutils)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -z "${PLOYZ_DNS_BIN:-}" ]; then
    (cd "$ROOT" && swift build -c release --product ployz-dns >&2)
    PLOYZ_DNS_BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/ployz-dns"
fi

WORK=$(mktemp -d /tmp/ployz-bench-dns.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

python3 "$ROOT/scripts/bench/dns/generate.py" "$WORK"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() { # port
    for _ in $(seq 1 100); do
        if [ "$(dig @127.0.0.1 -p "$1" svc0001.ployz.internal A +short +tries=1 +time=1 2>/dev/null)" = "10.101.0.4" ]; then return 0; fi
        sleep 0.2
    done
    echo "server on port $1 did not answer" >&2
    return 1
}

# Runs dnsperf twice: a plain run for QPS and average latency, then a verbose run whose
# per-query latencies give the p99 (dnsperf 2.10 prints no percentiles itself).
measure() { # name port
    local name=$1 port=$2
    taskset -c "$CLIENT_CPUS" dnsperf -s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$DURATION" -c "$CLIENTS" -q 200 \
        >"$WORK/$name.perf" 2>&1
    taskset -c "$CLIENT_CPUS" dnsperf -s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$P99_DURATION" -c "$CLIENTS" -q 200 -v \
        >"$WORK/$name.verbose" 2>&1
    local qps avg lost p99 nx
    qps=$(awk '/Queries per second:/ {print $4}' "$WORK/$name.perf")
    avg=$(awk '/Average Latency \(s\):/ {printf "%.3f", $4 * 1000}' "$WORK/$name.perf")
    lost=$(awk '/Queries lost:/ {print $3}' "$WORK/$name.perf")
    nx=$(awk '/NXDOMAIN/ && /Response codes:/ {for (i=1;i<=NF;i++) if ($i ~ /NXDOMAIN/) print $(i+2)}' "$WORK/$name.perf" | tr -d '(%),')
    p99=$(awk '$1 == ">" && $NF ~ /^[0-9.]+$/ {print $NF}' "$WORK/$name.verbose" | sort -g |
        awk '{v[NR]=$1} END {if (NR == 0) {print "n/a"} else {i=int(NR*0.99); if (i<1) i=1; printf "%.3f", v[i]*1000}}')
    printf '%-10s %12s %10s %10s %8s %8s\n' "$name" "$qps" "$avg" "$p99" "$lost" "${nx:-?}"
    echo "$name $qps" >>"$WORK/qps"
}

echo "DNS benchmark: ${DURATION}s per server, servers on CPUs $SERVER_CPUS, dnsperf on CPUs $CLIENT_CPUS (-c $CLIENTS -q 200)" >&2
echo "threads: ployz-dns $THREADS event loops, knotd $THREADS udp-workers, dnsmasq 1 (single-threaded)" >&2
printf '%-10s %12s %10s %10s %8s %8s\n' server QPS avg_ms p99_ms lost NXDOMAIN

# ployz-dns
port=$(free_port)
taskset -c "$SERVER_CPUS" "$PLOYZ_DNS_BIN" --snapshot "$WORK/snapshot.json" --listen "127.0.0.1:$port" --threads "$THREADS" \
    >"$WORK/ployz-dns.log" 2>&1 &
PIDS+=($!)
wait_ready "$port"
if [ "${PROFILE:-0}" = 1 ] && need perf; then
    perf record -F 999 -g -p "${PIDS[-1]}" -o "$WORK/perf.data" -- sleep $((DURATION > 3 ? DURATION - 2 : 1)) >/dev/null 2>&1 &
    PERF_PID=$!
fi
measure ployz-dns "$port"
if [ -n "${PERF_PID:-}" ]; then
    wait "$PERF_PID" || true
    perf report -i "$WORK/perf.data" --no-children --percent-limit 1.5 --stdio 2>/dev/null | grep -E '^ +[0-9]' >"$WORK/profile.txt" || true
fi
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# knotd
port=$(free_port)
mkdir -p "$WORK/knot/db" "$WORK/knot/run"
cat >"$WORK/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$port
    udp-workers: $THREADS
    tcp-workers: 1
    background-workers: 1
    rundir: $WORK/knot/run
database:
    storage: $WORK/knot/db
log:
  - target: stderr
    any: error
zone:
  - domain: ployz.internal
    storage: $WORK
    file: ployz.internal.zone
    journal-content: none
    zonefile-sync: -1
CONF
taskset -c "$SERVER_CPUS" knotd -c "$WORK/knot.conf" >"$WORK/knotd.log" 2>&1 &
PIDS+=($!)
wait_ready "$port"
measure knotd "$port"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# dnsmasq
port=$(free_port)
taskset -c "$SERVER_CPUS" dnsmasq --keep-in-foreground --conf-file="$WORK/dnsmasq.conf" --port="$port" \
    --listen-address=127.0.0.1 --bind-interfaces --user=root --pid-file="$WORK/dnsmasq.pid" --cache-size=10000 \
    >"$WORK/dnsmasq.log" 2>&1 &
PIDS+=($!)
wait_ready "$port"
measure dnsmasq "$port"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

awk '{q[$1]=$2} END {
    printf "ployz-dns / dnsmasq QPS: %.2fx (target >= 1.0x)\n", q["ployz-dns"] / q["dnsmasq"];
    printf "ployz-dns / knotd   QPS: %.2fx (target >= 0.8x)\n", q["ployz-dns"] / q["knotd"];
}' "$WORK/qps"
if [ -s "$WORK/profile.txt" ]; then
    echo "ployz-dns profile (self time, top symbols):"
    head -30 "$WORK/profile.txt"
fi
