#!/usr/bin/env python3
"""nats-py doing the same workload as `nats-bench` (publish throughput, request/reply latency,
sequential KV put/get); prints one JSON object with the same keys."""
import argparse
import asyncio
import json
import time

import nats


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, int(len(sorted_values) * p))
    return round(sorted_values[i], 1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="nats://127.0.0.1:4222")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--kv-ops", type=int, default=5_000)
    args = ap.parse_args()

    nc = await nats.connect(args.server, pending_size=64 * 1024 * 1024)
    payload = b"x" * args.size

    for _ in range(10_000):
        await nc.publish("bench.warmup", payload)
    await nc.flush()
    start = time.perf_counter()
    for _ in range(args.messages):
        await nc.publish("bench.pub", payload)
    await nc.flush(timeout=120)
    pub_rate = args.messages / (time.perf_counter() - start)

    responder = await nats.connect(args.server)

    async def echo(msg):
        await responder.publish(msg.reply, msg.data)

    await responder.subscribe("bench.req", cb=echo)
    await responder.flush()
    for _ in range(200):
        await nc.request("bench.req", payload, timeout=5)
    latencies = []
    for _ in range(args.requests):
        t = time.perf_counter()
        await nc.request("bench.req", payload, timeout=5)
        latencies.append((time.perf_counter() - t) * 1e6)
    latencies.sort()
    await responder.close()

    js = nc.jetstream()
    try:
        await js.delete_key_value("bench")
    except Exception:
        pass
    kv = await js.create_key_value(bucket="bench", history=1)
    keys = [f"key{i}" for i in range(100)]
    for k in keys:
        await kv.put(k, payload)
    start = time.perf_counter()
    for i in range(args.kv_ops):
        await kv.put(keys[i % len(keys)], payload)
    put_rate = args.kv_ops / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(args.kv_ops):
        await kv.get(keys[i % len(keys)])
    get_rate = args.kv_ops / (time.perf_counter() - start)
    await js.delete_key_value("bench")
    await nc.close()

    print(json.dumps({
        "kv_get_ops_per_s": round(get_rate),
        "kv_put_ops_per_s": round(put_rate),
        "pub_msgs_per_s": round(pub_rate),
        "req_p50_us": percentile(latencies, 0.50),
        "req_p99_us": percentile(latencies, 0.99),
    }, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
