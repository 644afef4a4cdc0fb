#!/usr/bin/env bash
# Runs a command as a Ployz test/demo node: inside network namespace NS, in a private mount
# namespace where NODE_DIR/wireguard is bound on /run/wireguard, so every node can name its
# interface wg0 and a restarted ployzd finds its wireguard-go UAPI socket again.
# Usage: scripts/netns-node.sh NS NODE_DIR COMMAND [ARG...]
set -euo pipefail
ns=$1 node_dir=$2
shift 2
mkdir -p "$node_dir/wireguard" /run/wireguard
exec ip netns exec "$ns" unshare --mount --propagation private \
  sh -c 'mount --bind "$0/wireguard" /run/wireguard && exec "$@"' "$node_dir" "$@"
