#!/usr/bin/env bash
# `make bench-mesh`: the single-node mesh's figures, with release builds, in a network namespace.
#   - ployzctl mesh status round trip (p50, p99 over 200 calls, each a new ployzctl process)
#   - time from `ployzctl mesh init` to `ployzctl mesh ready` exiting 0
#   - ployzd's idle RSS
# Targets (issue 3): status p50 < 20 ms, init to ready < 3 s, idle RSS < 40 MiB.
set -euo pipefail
# Never two benchmarks at once: each takes /tmp/ployz-bench.lock (PLOYZ_BENCH_LOCKED=1 when the
# caller holds it already).
if [ -z "${PLOYZ_BENCH_LOCKED:-}" ]; then
  exec env PLOYZ_BENCH_LOCKED=1 flock -o /tmp/ployz-bench.lock "$0" "$@"
fi
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-mesh: run as root (network namespaces)" >&2; exit 1; }
scripts/deps.sh
# ployzd starts its sidecars from its own folder, so they are built too.
for product in ployzd ployzctl ployz-dns ployz-gateway; do
  swift build -c release --product "$product" >/dev/null
done
bin=$(swift build -c release --show-bin-path)

ns=pzbench$$
dir=$(mktemp -d /tmp/ployz-bench-mesh.XXXXXX)
cleanup() {
  pkill -f -- "--config $dir/config.toml" 2>/dev/null || true
  for f in $(find "$dir/run" -name '*.json' 2>/dev/null); do
    pid=$(sed -n 's/.*"pid" *: *\([0-9]*\).*/\1/p' "$f"); [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  sleep 0.3
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "$dir/data" "$dir/run"
printf 'data_dir = "%s/data"\nruntime_dir = "%s/run"\nlog_level = "warning"\n' "$dir" "$dir" > "$dir/config.toml"
scripts/netns-node.sh "$ns" "$dir" setsid "$bin/ployzd" --config "$dir/config.toml" > "$dir/ployzd.log" 2>&1 < /dev/null &
sock="$dir/run/ployzd.sock"
for _ in $(seq 1 100); do "$bin/ployzctl" --socket "$sock" mesh list >/dev/null 2>&1 && break; sleep 0.1; done

python3 - "$bin/ployzctl" "$sock" "$dir" <<'PY'
import subprocess, sys, time, os, glob
ctl, sock, d = sys.argv[1:4]
def run(*args, check=True):
    done = subprocess.run([ctl, "--socket", sock, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if check and done.returncode != 0:
        sys.exit(f"bench-mesh: ployzctl {' '.join(args)}: {done.stderr.decode().strip()}")
    return done

t0 = time.perf_counter()
run("mesh", "init", "bench")
deadline = t0 + 30
while run("mesh", "ready", check=False).returncode != 0:
    if time.perf_counter() > deadline:
        sys.exit("bench-mesh: mesh never became ready")
    time.sleep(0.01)
init_to_ready = time.perf_counter() - t0

samples = []
for _ in range(200):
    s = time.perf_counter()
    run("mesh", "status", "bench")
    samples.append((time.perf_counter() - s) * 1000)
samples.sort()
p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]

time.sleep(3)
pid = subprocess.run(["pgrep", "-f", "--", f"--config {d}/config.toml"], capture_output=True, text=True).stdout.split()
rss = None
for candidate in pid:
    try:
        with open(f"/proc/{candidate}/status") as f:
            for line in f:
                if line.startswith("VmRSS:") and open(f"/proc/{candidate}/comm").read().strip() == "ployzd":
                    rss = int(line.split()[1]) / 1024
    except OSError:
        pass

print(f"{'figure':<34}{'measured':>12}{'target':>12}")
print(f"{'mesh status round trip p50':<34}{p(0.50):>10.1f}ms{'< 20 ms':>12}")
print(f"{'mesh status round trip p99':<34}{p(0.99):>10.1f}ms{'':>12}")
print(f"{'mesh init to ready':<34}{init_to_ready:>11.2f}s{'< 3 s':>12}")
print(f"{'ployzd idle RSS':<34}{(rss or float('nan')):>8.1f} MiB{'< 40 MiB':>12}")
PY
