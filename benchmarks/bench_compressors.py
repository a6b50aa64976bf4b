"""Messages per second of every registered compressor on an (n, d) batch of worker vectors.

One jitted call compresses all n rows (n messages); the time is the median of ``--repeat``
calls after a warm-up, so compile time is excluded and reported separately.

    python benchmarks/bench_compressors.py [--n 1000] [--d 300 10000] [--repeat 20]

Prints a table per d and writes benchmarks/results/compressors.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from jcomp.compressors import catalog, example_compressors


def time_compressor(comp, X, repeat):
    fn = jax.jit(lambda key, X: comp(key, X))
    t0 = time.perf_counter()
    jax.block_until_ready(fn(jax.random.key(0), X))
    compile_s = time.perf_counter() - t0
    times = []
    for r in range(repeat):
        key = jax.random.key(r + 1)
        t0 = time.perf_counter()
        jax.block_until_ready(fn(key, X))
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), compile_s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--d", type=int, nargs="+", default=[300, 10_000])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    results = {
        "n": args.n,
        "env": {
            "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()],
            "dtype": str(jnp.result_type(float)),
            "machine": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "by_d": {},
    }
    for d in args.d:
        X = jnp.asarray(rng.normal(size=(args.n, d)), jnp.result_type(float))
        rows = []
        comps = example_compressors(d, args.n)
        labels = [r["label"] for r in catalog(d, args.n, comps)]
        for comp, label in zip(comps, labels, strict=True):
            try:
                comp.validate(d, args.n)
            except ValueError as e:
                rows.append({"compressor": label, "skipped": str(e)})
                continue
            sec, compile_s = time_compressor(comp, X, args.repeat)
            rows.append(
                {
                    "compressor": label,
                    "seconds_per_call": sec,
                    "messages_per_second": args.n / sec,
                    "compile_s": compile_s,
                }
            )
        results["by_d"][str(d)] = rows
        print(f"\nn={args.n}, d={d} ({results['env']['devices'][0]}, {results['env']['dtype']})")
        print(f"  {'compressor':<52s} {'msgs/s':>12s} {'ms/call':>9s} {'compile s':>9s}")
        timed = [r for r in rows if "seconds_per_call" in r]
        for r in sorted(timed, key=lambda r: -r["messages_per_second"]):
            print(
                f"  {r['compressor']:<52s} {r['messages_per_second']:12.4g} "
                f"{r['seconds_per_call'] * 1e3:9.3f} {r['compile_s']:9.2f}"
            )
        for r in rows:
            if "skipped" in r:
                print(f"  {r['compressor']:<52s} skipped: {r['skipped']}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"compressors_n{args.n}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nsaved {path}")
    return results


if __name__ == "__main__":
    main()
