#!/usr/bin/env bash
# Gateway benchmark: wrk -t2 -c64 -d10s against one upstream, side by side in one run:
#   direct to the upstream (the limit), through ployz-gateway (gateway_threads = 2),
#   through nginx (2 workers, upstream keep-alive) and through Caddy reverse_proxy.
# Prints requests/s and p99 for each, the ratios to nginx, and each proxy's own CPU time per request
# (user + system, from /proc): on a shared 2-core machine where other work competes for the cores,
# CPU per request is the steadier measure of a proxy's cost.
#
# Usage: scripts/bench-gateway.sh [--profile | --http2]
#   --profile  also record ployz-gateway with perf during its run and print the hottest symbols.
#   --http2    instead: HTTP/2 over TLS, h2load -c16 -m10 (160 streams at once) through ployz-gateway
#              and through nginx (http2, same self-signed certificate, same upstream).
# Takes /tmp/ployz-bench.lock itself, so two benchmarks never run at once. When wrapping it in flock
# yourself, set PLOYZ_BENCH_LOCKED=1 (a nested flock on the same file would wait forever):
#   PLOYZ_BENCH_LOCKED=1 flock /tmp/ployz-bench.lock scripts/bench-gateway.sh
# BENCH_DURATION=30s lengthens the measured runs; BENCH_KEEP=1 keeps the temp dir (configs, logs).
set -euo pipefail

if [[ "${PLOYZ_BENCH_LOCKED:-}" != 1 ]]; then
    export PLOYZ_BENCH_LOCKED=1
    exec flock -o /tmp/ployz-bench.lock "$0" "$@"
fi

PROFILE=0
HTTP2=0
case "${1:-}" in
    --profile) PROFILE=1 ;;
    --http2) HTTP2=1 ;;
    "") ;;
    *) echo "bench-gateway: unknown option $1 (allowed: --profile, --http2)" >&2; exit 2 ;;
esac
DURATION="${BENCH_DURATION:-10s}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TEMPLATES="$ROOT/scripts/bench/gateway"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
command -v caddy >/dev/null || need+=(caddy)
((PROFILE)) && { command -v perf >/dev/null || need+=(linux-perf); }
((HTTP2)) && { command -v h2load >/dev/null || need+=(nghttp2-client); }
if ((${#need[@]})); then
    echo "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

echo "building ployz-gateway (release)"
# Other engineers edit the shared tree while this builds; a "modified during the build" race is retried.
for attempt in 1 2 3 4 5; do
    if (cd "$ROOT" && swift build -c release --product ployz-gateway >"/tmp/ployz-bench-gateway-build.log" 2>&1); then break; fi
    grep -q "modified during the build" /tmp/ployz-bench-gateway-build.log && ((attempt < 5)) && continue
    grep -E "error" /tmp/ployz-bench-gateway-build.log | head -20 >&2
    exit 1
done
GATEWAY="$(cd "$ROOT" && swift build -c release --show-bin-path)/ployz-gateway"

WORK="$(mktemp -d /tmp/ployz-bench-gateway.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for conf in "$WORK"/nginx-*.conf; do
        [[ -f "$conf" ]] && "$NGINX" -c "$conf" -s stop 2>/dev/null || true
    done
    [[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
render() { sed -e "s|@WORK@|$WORK|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" -e "s|@PORT@|$2|g" "$TEMPLATES/$1"; }
# Waits (10 s at most) until `curl ARGS... URL` gets a 2xx answer.
wait_for() {
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "$@" && return 0
        sleep 0.1
    done
    echo "nothing answers: ${*: -1}" >&2
    return 1
}
wait_http() { wait_for "http://127.0.0.1:$1/"; }

UPSTREAM_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
NGINX_PORT=$(free_port)
CADDY_PORT=$(free_port)

# Upstream: nginx answering a small static body (fast enough to be the limit, not the bottleneck).
render nginx-upstream.conf "$UPSTREAM_PORT" > "$WORK/nginx-upstream.conf"
"$NGINX" -c "$WORK/nginx-upstream.conf"
wait_http "$UPSTREAM_PORT"

# ployz-gateway: one route for any host to the upstream.
render snapshot.json "$UPSTREAM_PORT" > "$WORK/snapshot.json"

if ((HTTP2)); then
    H2_GATEWAY_PORT=$(free_port)
    H2_NGINX_PORT=$(free_port)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=bench.test \
        -keyout "$WORK/bench.key" -out "$WORK/bench.crt" 2>/dev/null
    PLOYZ_GATEWAY_TLS_CERT_PATH="$WORK/bench.crt" PLOYZ_GATEWAY_TLS_KEY_PATH="$WORK/bench.key" \
        "$GATEWAY" --snapshot "$WORK/snapshot.json" --listen "127.0.0.1:$GATEWAY_PORT" \
        --https-listen "127.0.0.1:$H2_GATEWAY_PORT" --threads 2 >"$WORK/gateway.log" 2>&1 &
    PIDS+=("$!")
    render nginx-proxy-h2.conf "$H2_NGINX_PORT" > "$WORK/nginx-proxy-h2.conf"
    "$NGINX" -c "$WORK/nginx-proxy-h2.conf"
    for port in "$H2_GATEWAY_PORT" "$H2_NGINX_PORT"; do wait_for -k --http2 "https://127.0.0.1:$port/"; done
    declare -A H2RPS H2MEAN H2MAX
    for target in "ployz-gateway:$H2_GATEWAY_PORT" "nginx:$H2_NGINX_PORT"; do
        name=${target%%:*} port=${target#*:}
        h2load -n 20000 -c 16 -m 10 -t 2 "https://127.0.0.1:$port/" >/dev/null 2>&1 # warm up
        out=$(h2load -n "${BENCH_H2_REQUESTS:-200000}" -c 16 -m 10 -t 2 "https://127.0.0.1:$port/" 2>&1)
        failed=$(awk '/^requests:/ { print $10 + $12 + $14 }' <<<"$out")
        [[ "$failed" != 0 ]] && echo "  $name: $(grep '^requests:' <<<"$out")"
        H2RPS[$name]=$(awk '/^finished in/ { print $4 }' <<<"$out")
        H2MEAN[$name]=$(awk '/^time for request:/ { print $6 }' <<<"$out")
        H2MAX[$name]=$(awk '/^time for request:/ { print $5 }' <<<"$out")
    done
    echo "h2load -c16 -m10 -t2 over TLS, upstream nginx on 127.0.0.1:$UPSTREAM_PORT, $(nproc) cores"
    printf "\n%-15s %12s %12s %12s %12s\n" target "requests/s" "mean" "max" "rps/nginx"
    for name in ployz-gateway nginx; do
        printf "%-15s %12.0f %12s %12s %12s\n" "$name" "${H2RPS[$name]}" "${H2MEAN[$name]}" "${H2MAX[$name]}" \
            "$(awk -v a="${H2RPS[$name]}" -v b="${H2RPS[nginx]}" 'BEGIN { printf "%.2fx", a / b }')"
    done
    exit 0
fi
"$GATEWAY" --snapshot "$WORK/snapshot.json" --listen "127.0.0.1:$GATEWAY_PORT" --threads 2 >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_http "$GATEWAY_PORT"

render nginx-proxy.conf "$NGINX_PORT" > "$WORK/nginx-proxy.conf"
"$NGINX" -c "$WORK/nginx-proxy.conf"
wait_http "$NGINX_PORT"

render Caddyfile "$CADDY_PORT" > "$WORK/Caddyfile"
XDG_DATA_HOME="$WORK" XDG_CONFIG_HOME="$WORK" caddy run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/caddy.log" 2>&1 &
CADDY_PID=$!
PIDS+=("$CADDY_PID")
wait_http "$CADDY_PORT"

# "1.23ms" / "850.00us" / "1.02s" -> milliseconds
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000
        printf "%.3f", n }'
}

# Clock ticks (user + system) used so far by the processes in $@.
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
    echo "$total"
}

# The processes doing each target's work: nginx's workers, the gateway, Caddy.
nginx_workers() { pgrep -P "$(cat "$1")" | tr '\n' ' '; }

declare -A RPS P99 CPU
run() {
    local name=$1 port=$2
    local procs
    case "$name" in
        direct) procs=$(nginx_workers "$WORK/nginx-upstream.pid") ;;
        ployz-gateway) procs=$GATEWAY_PID ;;
        nginx) procs=$(nginx_workers "$WORK/nginx-proxy.pid") ;;
        caddy) procs=$CADDY_PID ;;
    esac
    wrk -t2 -c64 -d2s "http://127.0.0.1:$port/" >/dev/null # warm up pools and caches
    local profile_pid=""
    if ((PROFILE)) && [[ "$name" == ployz-gateway ]]; then
        perf record -F 999 -g -p "$GATEWAY_PID" -o "$WORK/perf.data" -- sleep 8 >/dev/null 2>&1 &
        profile_pid=$!
    fi
    local out before after
    # shellcheck disable=SC2086 # $procs is a list of pids
    before=$(cpu_ticks $procs)
    out=$(wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$port/")
    # shellcheck disable=SC2086
    after=$(cpu_ticks $procs)
    [[ -n "$profile_pid" ]] && wait "$profile_pid" || true
    local errors
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
    [[ -n "$errors" ]] && echo "  $name: $errors"
    RPS[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    local requests
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    CPU[$name]=$(awk -v t=$((after - before)) -v r="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t * 1e6 / hz / r }')
}

echo "wrk -t2 -c64 -d$DURATION, upstream nginx on 127.0.0.1:$UPSTREAM_PORT, $(nproc) cores"
run direct "$UPSTREAM_PORT"
run ployz-gateway "$GATEWAY_PORT"
run nginx "$NGINX_PORT"
run caddy "$CADDY_PORT"

printf "\n%-15s %12s %10s %12s %12s %12s\n" target "requests/s" "p99 ms" "rps/nginx" "p99/nginx" "cpu us/req"
for name in direct ployz-gateway nginx caddy; do
    printf "%-15s %12.0f %10.3f %12s %12s %12s\n" "$name" "${RPS[$name]}" "${P99[$name]}" \
        "$(awk -v a="${RPS[$name]}" -v b="${RPS[nginx]}" 'BEGIN { printf "%.2fx", a / b }')" \
        "$(awk -v a="${P99[$name]}" -v b="${P99[nginx]}" 'BEGIN { printf "%.2fx", a / b }')" \
        "${CPU[$name]}"
done
echo "(cpu us/req: the target's own processes; for direct, the upstream's)"

if ((PROFILE)) && [[ -f "$WORK/perf.data" ]]; then
    echo
    echo "ployz-gateway profile (self time by library: kernel, Swift runtime, the binary with NIO):"
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -6
    echo "ployz-gateway profile (self time, top symbols):"
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --percent-limit 1.5 --stdio 2>/dev/null \
        | grep -E "^ +[0-9]" | head -40
fi
