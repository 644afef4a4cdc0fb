#!/usr/bin/env bash
# `make demo`: Ployz nodes in network namespaces on this machine.
#   scripts/demo.sh up     start the demo (PLOYZ_DEMO_NODES nodes, default 3): node 1 runs `mesh init`,
#                          every other node joins with a token from `mesh invite`; prints mesh status
#   scripts/demo.sh down   stop every process the demo started and delete its namespaces and files
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
TOML
  scripts/netns-node.sh "$ns" "$dir" setsid "$(bin_dir)/ployzd" --config "$dir/config.toml" \
    > "$dir/ployzd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 100); do
    [ -S "$(node_socket "$i")" ] && ctl "$i" mesh list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -5 "$dir/ployzd.log" >&2
  die "node $i: ployzd did not start (log: $dir/ployzd.log)"
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
  [ "$nodes" -ge 2 ] && showcase
  echo "The demo keeps running. Try, as root:"
  echo "  $(bin_dir)/ployzctl --socket $(node_socket 1) mesh status demo"
  echo "  ip netns exec $(node_ns 1) ip addr show wg0"
  echo "Remove it with: make demo-down (or scripts/demo.sh down)"
}

# A web server on the last node, published through it, reached through node 1's gateway and named
# by node 1's DNS: the store, the overlay, the gateway and DNS working together.
showcase() {
  local web=$nodes dir address overlay answer
  dir=$(node_dir "$web")
  address=$(ctl "$web" mesh status demo | awk '/^subnet/ { print $4 }')
  overlay=$(ctl 1 mesh status demo | awk '/^overlay/ { print $2 }')
  mkdir -p "$dir/site"
  echo "hello from node$web" > "$dir/site/index.html"
  ip netns exec "$(node_ns "$web")" setsid python3 -m http.server --bind "$address" --directory "$dir/site" 8080 \
    > "$dir/web.log" 2>&1 < /dev/null &
  echo "{\"pid\": $!}" > "$dir/run/demo-web.json"
  echo "== a web server on node $web ($address:8080), published through node $web"
  ctl "$web" route set web --host web.demo.test --port 8080
  ctl "$web" instance set web "$address" --id web-node$web
  echo
  echo "== curl -H 'Host: web.demo.test' http://127.0.0.1/ (on node 1: its gateway, over the overlay to node $web)"
  answer=""
  for _ in $(seq 1 100); do
    answer=$(ip netns exec "$(node_ns 1)" curl -s -m 2 -H 'Host: web.demo.test' http://127.0.0.1/ || true)
    [ "$answer" = "hello from node$web" ] && break
    sleep 0.2
  done
  echo "${answer:-no answer}"
  echo
  echo "== dig web.default.ployz.internal (on node 1, its DNS at $overlay)"
  ip netns exec "$(node_ns 1)" dig +short +time=2 +tries=3 @"$overlay" web.default.ployz.internal A || echo "no answer"
  echo
}

down() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
  # Sidecars are detached from ployzd by design, so stop each one by its pid file too.
  for dir in "$state"/node*; do
    [ -d "$dir" ] || continue
    pkill -f -- "--config $dir/config.toml" 2>/dev/null || true
    for pidfile in $(find "$dir/run" -name '*.json' 2>/dev/null); do
      pid=$(sed -n 's/.*"pid" *: *\([0-9]*\).*/\1/p' "$pidfile")
      [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
  done
  sleep 0.5
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
