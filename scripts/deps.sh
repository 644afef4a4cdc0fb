#!/usr/bin/env bash
# Installs the Debian packages Ployz needs, only those missing; one `apt-get update` at most.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

# package:command-that-proves-it-is-installed
required=(
  nats-server:nats-server
  wireguard-go:wireguard-go
  wireguard-tools:wg
  iproute2:ip
  iputils-ping:ping
  dnsutils:dig
  openssl:openssl
  procps:ps
  util-linux:unshare
  curl:curl
  python3:/usr/bin/python3
  coturn:turnserver
  docker.io:dockerd
  busybox-static:busybox
)
for extra in "$@"; do required+=("$extra"); done

missing=()
for entry in "${required[@]}"; do
  pkg=${entry%%:*}
  cmd=${entry#*:}
  [ "$cmd" = "$entry" ] && cmd=$pkg
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
