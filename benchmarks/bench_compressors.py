"""Messages per second of every registered compressor on an (n, d) batch of worker vectors,
and of NumPy references for the slowest ones.

One jitted call compresses all n rows (n messages); the time is the median of ``--repeat``
calls after a warm-up, so compile time is excluded and reported separately. Then, for each d,
the ``--slowest`` (default 5) slowest compressors are timed again as NumPy references
(``benchmarks/numpy_compressors.py``: a Python loop over workers with NumPy per worker and a
``np.random.Generator``, the way papers' code runs; median of ``--np-repeat`` calls after one
warm-up call) and the speed ratio jcomp/NumPy is reported. A slowest compressor without a
reference is reported loudly (``!!! NO NUMPY REFERENCE``), never skipped silently.

    python benchmarks/bench_compressors.py [--n 1000] [--d 300 10000] [--repeat 20]
        [--slowest 5] [--np-repeat 3] [--only NAME ...] [--out DIR]

Prints a table per d (with the device and versions) and writes
``benchmarks/results/compressors_n{n}.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from jcomp.compressors import catalog, example_compressors

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_compressors import has_reference, reference  # noqa: E402


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


def time_numpy(comp, X, repeat, seed=0):
    """Median seconds per call of the NumPy reference (one warm-up call first)."""
    f = reference(comp)
    rng = np.random.default_rng(seed)
    Xn = np.asarray(X)
    f(rng, Xn)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(rng, Xn)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def environment() -> dict:
    return {
        "jax": jax.__version__,
        "jaxlib": getattr(jax.lib, "__version__", None) or _jaxlib_version(),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "devices": [str(d) for d in jax.devices()],
        "backend": jax.default_backend(),
        "dtype": str(jnp.result_type(float)),
        "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def _jaxlib_version():
    try:
        import jaxlib

        return jaxlib.__version__
    except ImportError:  # pragma: no cover
        return None


def _selected(comps, labels, only):
    if not only:
        return list(zip(comps, labels, strict=True))
    return [(c, lab) for c, lab in zip(comps, labels, strict=True) if c.name in only]


def compare_slowest(rows, objs, X, k, np_repeat) -> list[dict]:
    """Time NumPy references of the k slowest timed rows; loud about missing references."""
    timed = [r for r in rows if "seconds_per_call" in r]
    slow = sorted(timed, key=lambda r: -r["seconds_per_call"])[:k]
    n = X.shape[0]
    out = []
    for r in slow:
        comp = objs[r["compressor"]]
        entry = {
            "compressor": r["compressor"],
            "jcomp_messages_per_second": r["messages_per_second"],
        }
        if not has_reference(comp):
            msg = f"!!! NO NUMPY REFERENCE for slowest compressor {r['compressor']} !!!"
            print(msg, file=sys.stderr)
            print(msg)
            entry["numpy"] = "MISSING"
        else:
            sec = time_numpy(comp, X, np_repeat)
            entry.update(
                numpy_seconds_per_call=sec,
                numpy_messages_per_second=n / sec,
                speedup=r["messages_per_second"] / (n / sec),
            )
        out.append(entry)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--d", type=int, nargs="+", default=[300, 10_000])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--slowest", type=int, default=5, help="how many slowest to compare to NumPy")
    ap.add_argument("--np-repeat", type=int, default=3, help="timed calls per NumPy reference")
    ap.add_argument("--only", nargs="+", default=None, help="registered names to time (all)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    env = environment()
    results = {"n": args.n, "repeat": args.repeat, "np_repeat": args.np_repeat, "env": env}
    results["by_d"], results["numpy_by_d"] = {}, {}
    print(
        f"jax {env['jax']} (jaxlib {env['jaxlib']}), numpy {env['numpy']}, python {env['python']}"
        f"; device {env['devices'][0]} ({env['backend']}); {env['machine']}, "
        f"{env['cpu_count']} CPUs; dtype {env['dtype']}"
    )
    for d in args.d:
        X = jnp.asarray(rng.normal(size=(args.n, d)), jnp.result_type(float))
        rows, objs = [], {}
        comps = example_compressors(d, args.n)
        labels = [r["label"] for r in catalog(d, args.n, comps)]
        for comp, label in _selected(comps, labels, args.only):
            objs[label] = comp
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
        print(f"\nn={args.n}, d={d} ({env['devices'][0]}, {env['dtype']})")
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
        cmp_rows = compare_slowest(rows, objs, X, args.slowest, args.np_repeat)
        results["numpy_by_d"][str(d)] = cmp_rows
        print(
            f"\n  {len(cmp_rows)} slowest vs NumPy reference (loop over workers, "
            f"np.random.Generator; median of {args.np_repeat}), n={args.n}, d={d}"
        )
        print(
            f"  {'compressor':<52s} {'jcomp msgs/s':>12s} {'NumPy msgs/s':>12s} "
            f"{'jcomp/NumPy':>11s}"
        )
        for r in cmp_rows:
            if r.get("numpy") == "MISSING":
                print(
                    f"  {r['compressor']:<52s} {r['jcomp_messages_per_second']:12.4g} !!! MISSING"
                )
                continue
            print(
                f"  {r['compressor']:<52s} {r['jcomp_messages_per_second']:12.4g} "
                f"{r['numpy_messages_per_second']:12.4g} {r['speedup']:10.3g}x"
            )
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"compressors_n{args.n}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nsaved {path}")
    return results


if __name__ == "__main__":
    main()
