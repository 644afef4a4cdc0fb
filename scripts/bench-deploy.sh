#!/usr/bin/env bash
# `scripts/bench-deploy.sh`: how long Ployz takes to deploy and to roll a service, beside the same
# containers started directly through the Docker Engine API (the limit), release builds.
#   - one node in a network namespace with its own dockerd (Debian's docker.io), `mesh init`
#   - deploy: `ployzctl deploy -f compose.yaml` of a 2-replica busybox httpd with a 1 s
#     healthcheck, from the command to its exit (every instance healthy and published), against
#     a Python script that creates and starts the same two containers through the Engine API and
#     waits until Docker says both are healthy
#   - rolling update: the same with a changed environment (start-first: new healthy, old removed),
#     against the script starting two new containers, waiting for health, removing the old two
#   - 5 rounds each, medians; target (issue 12): deploy within 1.5x the direct start plus the
#     healthcheck's interval
set -euo pipefail
if [ -z "${PLOYZ_BENCH_LOCKED:-}" ]; then
  exec env PLOYZ_BENCH_LOCKED=1 flock -o /tmp/ployz-bench.lock "$0" "$@"
fi
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-deploy: run as root (network namespaces, dockerd)" >&2; exit 1; }
scripts/deps.sh
for product in ployzd ployzctl ployz-dns ployz-gateway; do
  swift build -c release --product "$product" >/dev/null
done
bin=$(swift build -c release --show-bin-path)
rounds=${PLOYZ_BENCH_ROUNDS:-5}

tag=$$
dir=$(mktemp -d /tmp/pzbd.XXXXXX)
bench_lan=pzbl$tag
cleanup() {
  d=$dir/node1
  pkill -f -- "--config $d/config.toml" 2>/dev/null || true
  for f in $(find "$d/run" -name '*.json' 2>/dev/null); do
    pid=$(sed -n 's/.*"pid" *: *\([0-9]*\).*/\1/p' "$f"); [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  if [ -S "$d/docker.sock" ]; then
    for id in $(curl -s -m 5 --unix-socket "$d/docker.sock" "http://docker/containers/json?all=1" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
      curl -s -m 20 --unix-socket "$d/docker.sock" -X DELETE "http://docker/containers/$id?force=1" > /dev/null || true
    done
  fi
  if [ -f "$d/docker.pid" ]; then
    pid=$(cat "$d/docker.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  awk -v s="$dir" '$2 ~ "^"s { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  ip netns del "pzbn$tag-1" 2>/dev/null || true
  ip netns del "$bench_lan" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# The demo's LAN, node (with its dockerd) and image, with this run's names and release binaries.
source scripts/demo.sh
state=$dir lan=$bench_lan nodes=1
bin_dir() { echo "$bin"; }
node_ns() { echo "pzbn$tag-$1"; }
make_lan
make_node 1
import_image
"$bin/ployzctl" --socket "$dir/node1/run/ployzd.sock" mesh init bench > /dev/null
subnet=$("$bin/ployzctl" --socket "$dir/node1/run/ployzd.sock" mesh status bench | awk '/^subnet/ { print $2 }')

python3 - "$bin/ployzctl" "$dir" "$rounds" "$subnet" <<'PY'
import http.client, json, socket, statistics, subprocess, sys, time
ctl, d, rounds, subnet = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
docker_sock, ployz_sock = f"{d}/node1/docker.sock", f"{d}/node1/run/ployzd.sock"
network = "direct"
dns = subnet.rsplit(".", 1)[0] + ".2"

class UnixHTTP(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(docker_sock)

def api(method, path, body=None):
    c = UnixHTTP("docker", timeout=60)
    c.request(method, path, body=None if body is None else json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"bench-deploy: {method} {path}: {r.status} {data[:200]}")
    return json.loads(data) if data else None

HEALTH = ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/"]
COMMAND = ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"]

def direct_start(tag, env):
    """Create and start two containers like Ployz's, wait until Docker says both are healthy."""
    ids = []
    for i in range(2):
        body = {"Image": "ployz-demo:1", "Cmd": COMMAND, "Env": [f"VERSION={env}"],
                "Healthcheck": {"Test": HEALTH, "Interval": 1_000_000_000, "Timeout": 2_000_000_000, "Retries": 3},
                "HostConfig": {"NetworkMode": network, "Dns": [dns], "RestartPolicy": {"Name": "unless-stopped"}},
                "Labels": {"bench": "direct"}}
        ids.append(api("POST", f"/containers/create?name=direct-{tag}-{i}", body)["Id"])
        api("POST", f"/containers/{ids[-1]}/start")
    while not all(api("GET", f"/containers/{i}/json")["State"].get("Health", {}).get("Status") == "healthy" for i in ids):
        time.sleep(0.05)
    return ids

def remove(ids):
    for i in ids:
        api("DELETE", f"/containers/{i}?force=1")

def compose(env):
    path = f"{d}/compose.yaml"
    with open(path, "w") as f:
        f.write(f"""name: bench
services:
  web:
    image: ployz-demo:1
    command: {json.dumps(COMMAND)}
    environment:
      VERSION: "{env}"
    expose: ["8080"]
    healthcheck:
      test: {json.dumps(HEALTH)}
      interval: 1s
      timeout: 2s
      retries: 3
    deploy:
      replicas: 2
""")
    return path

def ployz(*args):
    r = subprocess.run([ctl, "--socket", ployz_sock, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench-deploy: ployzctl {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")

def timed(f):
    t = time.monotonic(); f(); return time.monotonic() - t

api("POST", "/networks/create", {"Name": network, "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "172.31.250.0/24"}]},
                                 "Options": {"com.docker.network.driver.mtu": "1420"}})
results = {"direct deploy": [], "ployz deploy": [], "direct update": [], "ployz update": []}
for r in range(rounds):
    old = []
    results["direct deploy"].append(timed(lambda: old.extend(direct_start(f"{r}a", "1"))))
    new = []
    def direct_update():
        new.extend(direct_start(f"{r}b", "2")); remove(old)
    results["direct update"].append(timed(direct_update))
    remove(new)
    results["ployz deploy"].append(timed(lambda: ployz("deploy", "-f", compose(f"{r}-1"))))
    results["ployz update"].append(timed(lambda: ployz("deploy", "-f", compose(f"{r}-2"))))
    ployz("service", "rm", "web", "-n", "bench")

med = {k: statistics.median(v) for k, v in results.items()}
print(f"rounds {rounds}, 2 replicas, healthcheck interval 1 s; seconds, median (min-max)")
for k, v in results.items():
    print(f"  {k:14s} {med[k]:6.2f}  ({min(v):.2f}-{max(v):.2f})")
print(f"deploy: ployz / direct = {med['ployz deploy'] / med['direct deploy']:.2f}x "
      f"(target: ployz <= 1.5 x direct + 1 s = {1.5 * med['direct deploy'] + 1:.2f} s: "
      f"{'met' if med['ployz deploy'] <= 1.5 * med['direct deploy'] + 1 else 'NOT met'})")
print(f"rolling update: ployz / direct = {med['ployz update'] / med['direct update']:.2f}x")
PY
