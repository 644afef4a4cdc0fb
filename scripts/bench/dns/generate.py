#!/usr/bin/env python3
"""Writes the same 1,000 names for every server in the DNS benchmark, and the dnsperf query file.

Outputs into the directory given as the only argument:
  snapshot.json          ClusterSnapshot for ployz-dns (1,000 services, one ready instance each)
  ployz.internal.zone    zone file for knotd
  dnsmasq.conf           host-record lines for dnsmasq (authoritative for ployz.internal via local=)
  queries.txt            dnsperf input: 90% existing names, 10% NXDOMAIN names, shuffled (seeded)
"""
import json
import random
import sys

COUNT = 1000
QUERIES = 10000


def address(i):
    return f"10.101.{i // 250}.{i % 250 + 3}"


def main(out):
    names = [f"svc{i:04d}" for i in range(COUNT)]
    services = {f"default.{n}": {"namespace": "default", "name": n, "ports": [], "routes": []} for n in names}
    instances = {
        f"{n}-0": {"id": f"{n}-0", "namespace": "default", "service": n, "machine": "m1", "address": address(i), "ready": True}
        for i, n in enumerate(names)
    }
    with open(f"{out}/snapshot.json", "w") as f:
        json.dump({"machines": {}, "services": services, "instances": instances, "certificates": {}}, f, sort_keys=True)

    with open(f"{out}/ployz.internal.zone", "w") as f:
        f.write("$ORIGIN ployz.internal.\n$TTL 5\n")
        f.write("@ SOA ns.ployz.internal. hostmaster.ployz.internal. 1 60 10 3600 5\n@ NS ns\nns A 127.0.0.1\n")
        for i, n in enumerate(names):
            f.write(f"{n} A {address(i)}\n")

    with open(f"{out}/dnsmasq.conf", "w") as f:
        f.write("no-resolv\nno-hosts\nlocal=/ployz.internal/\nauth-ttl=5\nlocal-ttl=5\n")
        for i, n in enumerate(names):
            f.write(f"host-record={n}.ployz.internal,{address(i)}\n")

    rng = random.Random(6)
    hits = [f"{names[rng.randrange(COUNT)]}.ployz.internal A" for _ in range(QUERIES * 9 // 10)]
    misses = [f"missing{rng.randrange(100000):05d}.ployz.internal A" for _ in range(QUERIES // 10)]
    lines = hits + misses
    rng.shuffle(lines)
    with open(f"{out}/queries.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
