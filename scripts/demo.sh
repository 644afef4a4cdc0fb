#!/usr/bin/env bash
# `make demo`: Ployz nodes in network namespaces on this machine.
#   scripts/demo.sh up     start the demo (PLOYZ_DEMO_NODES nodes, default 3): node 1 runs `mesh init`,
#                          every other node joins with a token from `mesh invite`; prints mesh status
#   scripts/demo.sh down   stop every process the demo started and delete its namespaces and files
# Each node also runs its own dockerd (Debian's docker.io) in its namespace, so workloads deploy
# across the mesh: a two-replica web service from examples/web/compose.yaml, deployed from node 1.
# The nodes share a LAN: macvlan links on one parent in the namespace ployz-demo-lan, addresses
# 192.168.77.11, .12, ... (inside the namespaces only; nothing on the host's own network changes).
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${PLOYZ_DEMO_NODES:-3}
state=/var/lib/ployz-demo
lan=ployz-demo-lan

die() { echo "demo: $*" >&2; exit 1; }
bin_dir() { swift build --show-bin-path 2>/dev/null; }

node_ns() { echo "ployz-demo-$1"; }
node_dir() { echo "$state/node$1"; }
node_socket() { echo "$(node_dir "$1")/run/ployzd.sock"; }
ctl() { local i=$1; shift; "$(bin_dir)/ployzctl" --socket "$(node_socket "$i")" "$@"; }

make_lan() {
  ip netns add "$lan"
  ip netns exec "$lan" ip link add lan0 type veth peer name lan1
  ip netns exec "$lan" ip link set lan0 up
  ip netns exec "$lan" ip link set lan1 up
}

make_node() {
  local i=$1 ns dir
  ns=$(node_ns "$i")
  dir=$(node_dir "$i")
  ip netns add "$ns"
  ip netns exec "$lan" ip link add name "mv$i" link lan0 type macvlan mode bridge
  ip netns exec "$lan" ip link set "mv$i" netns "$ns"
  ip -n "$ns" link set "mv$i" name eth0
  ip -n "$ns" addr add "192.168.77.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  mkdir -p "$dir/data" "$dir/run"
  cat > "$dir/config.toml" <<TOML
data_dir = "$dir/data"
runtime_dir = "$dir/run"
log_level = "info"
machine_name = "node$i"
docker_socket = "$dir/docker.sock"
TOML
  if [ "${with_docker:-1}" = 1 ]; then start_dockerd "$i"; fi
  scripts/netns-node.sh "$ns" "$dir" setsid "$(bin_dir)/ployzd" --config "$dir/config.toml" \
    > "$dir/ployzd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 100); do
    [ -S "$(node_socket "$i")" ] && ctl "$i" mesh list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -5 "$dir/ployzd.log" >&2
  die "node $i: ployzd did not start (log: $dir/ployzd.log)"
}

# A private dockerd in the node's namespace (nsenter, not `ip netns exec`, which remounts /sys and
# hides the cgroup mounts dockerd needs); no iptables, no default bridge: Ployz makes the network.
start_dockerd() {
  local i=$1 dir
  dir=$(node_dir "$i")
  mkdir -p "$dir/docker" "$dir/docker-exec"
  rm -f "$dir/docker.pid"
  nsenter --net="/var/run/netns/$(node_ns "$i")" setsid dockerd --data-root "$dir/docker" --exec-root "$dir/docker-exec" \
    -H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" --iptables=false --ip6tables=false --bridge=none \
    --live-restore > "$dir/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 300); do
    curl -s -m 1 --unix-socket "$dir/docker.sock" http://docker/_ping 2>/dev/null | grep -q OK && return 0
    sleep 0.1
  done
  tail -5 "$dir/dockerd.log" >&2
  die "node $i: dockerd did not start (log: $dir/dockerd.log)"
}

# The demo image: a root filesystem of Debian's busybox-static (sh, httpd, wget), imported into
# every node's dockerd as ployz-demo:1 (no registry is needed).
import_image() {
  local rootfs=$state/rootfs i
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/etc"
  cp /bin/busybox "$rootfs/bin/busybox"
  for tool in sh httpd wget hostname echo cat mkdir sleep; do ln -sf busybox "$rootfs/bin/$tool"; done
  tar -C "$rootfs" -cf "$state/rootfs.tar" .
  for i in $(seq 1 "$nodes"); do
    curl -s -m 60 --unix-socket "$(node_dir "$i")/docker.sock" -X POST -H 'Content-Type: application/x-tar' \
      --data-binary "@$state/rootfs.tar" "http://docker/images/create?fromSrc=-&repo=ployz-demo&tag=1" > /dev/null \
      || die "node $i: importing the demo image failed"
  done
}

up() {
  [ "$(id -u)" -eq 0 ] || die "run as root: the demo makes network namespaces"
  ip netns list | grep -q "^ployz-demo" && die "a demo is already running; remove it with 'make demo-down'"
  [ -x "$(bin_dir)/ployzd" ] || die "ployzd is not built; run 'make demo' (it builds first)"
  make_lan
  for i in $(seq 1 "$nodes"); do make_node "$i"; done
  echo "== ployzctl mesh init demo (node 1)"
  ctl 1 mesh init demo
  echo
  for i in $(seq 2 "$nodes"); do
    echo "== node $i: ployzctl mesh invite (node 1) | ployzctl mesh join --token-stdin (node $i)"
    ctl 1 mesh invite --ttl 5m | ctl "$i" mesh join --token-stdin
    echo
  done
  echo "== ployzctl mesh status demo (node 1)"
  ctl 1 mesh status demo || true
  echo
  echo "== ployzctl mesh ready (each node)"
  for i in $(seq 1 "$nodes"); do ctl "$i" mesh ready >/dev/null && echo "node $i: ready" || echo "node $i: NOT ready"; done
  echo
  if [ "$nodes" -ge 3 ]; then showcase; fi
  echo "The demo keeps running. Try, as root:"
  echo "  $(bin_dir)/ployzctl --socket $(node_socket 1) mesh status demo"
  echo "  ip netns exec $(node_ns 1) ip addr show wg0"
  echo "Remove it with: make demo-down (or scripts/demo.sh down)"
}

# A two-replica web service deployed from node 1 onto nodes 2 and 3 (examples/web/compose.yaml),
# named by node 1's DNS and reached through node 1's gateway: workloads, store, overlay, gateway
# and DNS working together.
showcase() {
  local overlay
  overlay=$(ctl 1 mesh status demo | awk '/^overlay/ { print $2 }')
  import_image
  echo "== ployzctl deploy -f examples/web/compose.yaml (node 1)"
  ctl 1 deploy -f examples/web/compose.yaml
  echo
  echo "== ployzctl service status web (node 1)"
  ctl 1 service status web
  echo
  echo "== dig web.default.ployz.internal (on node 1, its DNS at $overlay)"
  ip netns exec "$(node_ns 1)" dig +short +time=2 +tries=3 @"$overlay" web.default.ployz.internal A | sort || echo "no answer"
  echo
  echo "== curl -H 'Host: web.demo.test' http://127.0.0.1/ (on node 1: its gateway, over the overlay to nodes 2 and 3), four times"
  for _ in 1 2 3 4; do
    ip netns exec "$(node_ns 1)" curl -s -m 2 -H 'Host: web.demo.test' http://127.0.0.1/ || echo "no answer"
  done
  echo
}

down() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
  # Sidecars are detached from ployzd by design, so stop each one by its pid file too.
  for dir in "$state"/node*; do
    [ -d "$dir" ] || continue
    pkill -f -- "--config $dir/config.toml" 2>/dev/null || true
    # Containers first (their dockerd stops them), then the dockerd itself.
    if [ -S "$dir/docker.sock" ]; then
      for id in $(curl -s -m 5 --unix-socket "$dir/docker.sock" "http://docker/containers/json?all=1" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
        curl -s -m 20 --unix-socket "$dir/docker.sock" -X DELETE "http://docker/containers/$id?force=1" > /dev/null || true
      done
    fi
    [ -f "$dir/docker.pid" ] && kill "$(cat "$dir/docker.pid")" 2>/dev/null || true
    for pidfile in $(find "$dir/run" -name '*.json' 2>/dev/null); do
      pid=$(sed -n 's/.*"pid" *: *\([0-9]*\).*/\1/p' "$pidfile")
      [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
  done
  sleep 0.5
  for dir in "$state"/node*; do
    [ -f "$dir/docker.pid" ] || continue
    pid=$(cat "$dir/docker.pid")
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # Anything dockerd left mounted under the demo's folder (overlay layers, netns files).
  awk -v s="$state" '$2 ~ "^"s { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for ns in $(ip netns list | awk '/^ployz-demo/ {print $1}'); do ip netns del "$ns"; done
  rm -rf "$state"
  echo "demo removed"
}

# Sourced (scripts/bench-cluster.sh reuses make_lan and make_node): define the functions only.
[[ "${BASH_SOURCE[0]}" != "$0" ]] && return 0

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) die "usage: scripts/demo.sh up|down" ;;
esac
