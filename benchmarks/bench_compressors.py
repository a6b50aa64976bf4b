"""Messages per second of every registered compressor on an (n, d) batch of worker vectors,
and of NumPy references for the slowest ones.

One jitted call compresses all n rows (n messages); the time is the median of ``--repeat``
calls after a warm-up, so compile time is excluded and reported separately. Then, for each d,
the ``--slowest`` (default 5) slowest compressors are timed again as NumPy references
(``benchmarks/numpy_compressors.py``: a Python loop over workers with NumPy per worker and a
``np.random.Generator``, the way papers' code runs; median of ``--np-repeat`` calls after one
warm-up call) and the speed ratio jcomp/NumPy is reported. A slowest compressor without a
reference is reported loudly (``!!! NO NUMPY REFERENCE``), never skipped silently.

Both sides stop timing a compressor once ``--budget`` seconds of calls are spent (at least one
call; the ``calls`` columns say how many). A compressor whose compiled program needs more
memory than the limit (``--max-gib``; default half the host RAM, or the device's limit) is not
run and is listed, loudly, as not timed (DRIVE-Haar at d = 10⁴: n·d² floats).

    python benchmarks/bench_compressors.py [--n 1000] [--d 300 10000] [--repeat 20]
        [--slowest 5] [--np-repeat 3] [--budget 10] [--max-gib G] [--only NAME ...]
        [--out DIR]

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


class TooLarge(Exception):
    """The compiled program needs more memory than the benchmark allows."""


def memory_limit_bytes() -> int:
    """Device memory limit if the backend reports one, else half of the host's physical memory."""
    stats = jax.devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def time_compressor(comp, X, repeat, budget_s=10.0, max_bytes=None):
    """``(median seconds per call, compile seconds, calls timed)``: compile, one warm-up call,
    then up to ``repeat`` timed calls (fewer, at least one, once ``budget_s`` is spent).
    Raises :class:`TooLarge` before running if XLA's memory analysis exceeds ``max_bytes``."""
    t0 = time.perf_counter()
    fn = jax.jit(lambda key, X: comp(key, X)).lower(jax.random.key(0), X).compile()
    compile_s = time.perf_counter() - t0
    mem = fn.memory_analysis()
    if max_bytes is not None and mem is not None:
        need = mem.temp_size_in_bytes + mem.output_size_in_bytes + mem.argument_size_in_bytes
        if need > max_bytes:
            raise TooLarge(f"needs {need / 2**30:.3g} GiB > limit {max_bytes / 2**30:.3g} GiB")
    jax.block_until_ready(fn(jax.random.key(0), X))
    times = []
    for r in range(repeat):
        key = jax.random.key(r + 1)
        t0 = time.perf_counter()
        jax.block_until_ready(fn(key, X))
        times.append(time.perf_counter() - t0)
        if sum(times) > budget_s:
            break
    return float(np.median(times)), compile_s, len(times)


def time_numpy(comp, X, repeat, seed=0, budget_s=10.0):
    """``(median seconds per call, calls timed)`` of the NumPy reference: one warm-up call,
    then up to ``repeat`` timed calls (fewer once ``budget_s`` is spent; if the warm-up call
    alone exceeds the budget, it is the one sample)."""
    f = reference(comp)
    rng = np.random.default_rng(seed)
    Xn = np.asarray(X)
    t0 = time.perf_counter()
    f(rng, Xn)
    warm = time.perf_counter() - t0
    if warm > budget_s:
        return warm, 1
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(rng, Xn)
        times.append(time.perf_counter() - t0)
        if warm + sum(times) > budget_s:
            break
    return float(np.median(times)), len(times)


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


def compare_slowest(rows, objs, X, k, np_repeat, budget_s=10.0) -> list[dict]:
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
            sec, calls = time_numpy(comp, X, np_repeat, budget_s=budget_s)
            entry.update(
                numpy_seconds_per_call=sec,
                numpy_calls=calls,
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
    ap.add_argument(
        "--budget", type=float, default=10.0, help="seconds of timed calls per compressor at most"
    )
    ap.add_argument(
        "--max-gib", type=float, default=None, help="skip programs needing more memory (GiB)"
    )
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    env = environment()
    max_bytes = int(args.max_gib * 2**30) if args.max_gib else memory_limit_bytes()
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
            try:
                sec, compile_s, calls = time_compressor(
                    comp, X, args.repeat, budget_s=args.budget, max_bytes=max_bytes
                )
            except (TooLarge, jax.errors.JaxRuntimeError) as e:
                reason = str(e).splitlines()[0][:160]
                print(f"!!! {label} not timed at n={args.n}, d={d}: {reason}")
                rows.append({"compressor": label, "skipped": reason})
                continue
            rows.append(
                {
                    "compressor": label,
                    "seconds_per_call": sec,
                    "messages_per_second": args.n / sec,
                    "compile_s": compile_s,
                    "calls": calls,
                }
            )
        results["by_d"][str(d)] = rows
        print(f"\nn={args.n}, d={d} ({env['devices'][0]}, {env['dtype']})")
        print(
            f"  {'compressor':<52s} {'msgs/s':>12s} {'ms/call':>9s} {'compile s':>9s} {'calls':>5s}"
        )
        timed = [r for r in rows if "seconds_per_call" in r]
        for r in sorted(timed, key=lambda r: -r["messages_per_second"]):
            print(
                f"  {r['compressor']:<52s} {r['messages_per_second']:12.4g} "
                f"{r['seconds_per_call'] * 1e3:9.3f} {r['compile_s']:9.2f} {r['calls']:5d}"
            )
        for r in rows:
            if "skipped" in r:
                print(f"  {r['compressor']:<52s} skipped: {r['skipped']}")
        cmp_rows = compare_slowest(rows, objs, X, args.slowest, args.np_repeat, args.budget)
        results["numpy_by_d"][str(d)] = cmp_rows
        print(
            f"\n  {len(cmp_rows)} slowest vs NumPy reference (loop over workers, "
            f"np.random.Generator; median of up to {args.np_repeat}), n={args.n}, d={d}"
        )
        print(
            f"  {'compressor':<52s} {'jcomp msgs/s':>12s} {'NumPy msgs/s':>12s} "
            f"{'jcomp/NumPy':>11s} {'calls':>5s}"
        )
        for r in cmp_rows:
            if r.get("numpy") == "MISSING":
                print(
                    f"  {r['compressor']:<52s} {r['jcomp_messages_per_second']:12.4g} !!! MISSING"
                )
                continue
            print(
                f"  {r['compressor']:<52s} {r['jcomp_messages_per_second']:12.4g} "
                f"{r['numpy_messages_per_second']:12.4g} {r['speedup']:10.3g}x "
                f"{r['numpy_calls']:5d}"
            )
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"compressors_n{args.n}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nsaved {path}")
    return results


if __name__ == "__main__":
    main()
