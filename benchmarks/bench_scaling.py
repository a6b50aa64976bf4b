"""Scaling of jcomp's compiled step in the worker count n and the dimension d.

For each algorithm (GD; MARINA-P + PermK; MARINA + RandK; EF21 + TopK, each at its ``*_theory``
step size and p; K = 1 % of d for RandK and TopK, ``--k-frac``) on the seed 004 Alg. 3
quadratics (``marina_p_quadratic(n, d)``, stored in O(nd)), float32 (``--dtype``), over the grid

    n ∈ {10, 100, 1000, 10⁴, 10⁵} at d = 300     and     d ∈ {10², 10³, 10⁴, 10⁵} at n = 100,

it measures, each (algorithm, n, d) point in a fresh subprocess (so the process's peak RSS is that
configuration's peak memory):

* compile time of ``jcomp.run``'s program (``trace.meta["compile_time_s"]``) and of one step;
* time per step: median over repeated ``jcomp.run`` calls of one compiled program (the first,
  compiling call is not timed); the step count of a point is chosen from a one-step calibration
  so a run takes about ``--target-run`` seconds (at least 1 step), and runs repeat until
  ``--min-timed`` seconds were timed (at least 3, at most 30 runs; a run's time is
  ``trace.meta["run_time_s"]``, which includes the one host call of the compiled chunk, about
  0.1 ms, so the few-µs GD step is slightly overestimated);
* memory: the theoretical bytes of the problem data and the algorithm state (array shapes from
  ``jax.eval_shape``), the peak RSS of the process (``_common.peak_rss_bytes``) and its RSS after
  starting JAX (the baseline), XLA's compiled-memory analysis of one step, and the device's own
  memory statistics where the backend has them (GPU; the CPU backend reports none);
* memory traffic, two estimates per step, each divided by the time per step:
  ``model`` = itemsize × n·d × (the (n, d) arrays the step must read or write, each counted once;
  O(d) terms ignored): MARINA-P reads w and b and writes w (3); MARINA reads b, the stored
  gradients and g and writes both (5); EF21 reads b and g and writes g (3); GD's average gradient
  is closed form (b̄, O(d)), so its model is 3·d (x, b̄ read, x written) and GD does not grow with
  n. ``xla`` = the "bytes accessed" of XLA's cost analysis of one compiled step (every fused
  kernel's inputs and outputs; it counts loop bodies, e.g. PermK's rejection loop, once).

Points whose estimated peak memory (:func:`estimate_peak_bytes`) exceeds ``--mem-limit-gib``
(default 8) are skipped and recorded with the estimate. ``--extend`` continues both grids by
factors of 10 up to n = 10⁷ and d = 10⁷ (points past the limit are recorded as skipped).

    python benchmarks/bench_scaling.py              # 36 points: about 6 min on a quiet 2-core CPU
    python benchmarks/bench_scaling.py --quick      # 3 n × 2 d points, shorter timing (~2 min)
    python benchmarks/bench_scaling.py --smoke --out /tmp/x   # one process, ~15 s; for the tests
    python benchmarks/bench_scaling.py --algorithms marina_p_permk --n-grid 1e6 --d-grid
    python benchmarks/bench_scaling.py --algorithms marina_p_permk --dtype float64 --extend

Each point costs about 2 s of interpreter start plus 2-8 s of compiling; the slowest is
MARINA + RandK at d = 10⁵ (K = 1000 > 256 draws each worker's subset with a top_k of d random
integers: about 4 s per step on this CPU).

Prints markdown tables and writes ``scaling.md`` and ``scaling.json`` (with the environment and
the command) to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common  # noqa: E402

ALGORITHMS = ("gd", "marina_p_permk", "marina_randk", "ef21_topk")
LABELS = {
    "gd": "GD",
    "marina_p_permk": "MARINA-P + PermK",
    "marina_randk": "MARINA + RandK",
    "ef21_topk": "EF21 + TopK",
}

#: (n, d) arrays each step must read or write (the ``model`` traffic; see the module docstring).
TRAFFIC_ND = {"gd": 0, "marina_p_permk": 3, "marina_randk": 5, "ef21_topk": 3}
#: O(d) vectors of GD's traffic model (x and b̄ read, x written).
TRAFFIC_D_GD = 3

#: (n, d) arrays alive at the peak of a run (problem b, the state carried into and out of the
#: compiled chunk, which is not donated, and the step's temporaries): the measured peak RSS
#: minus RSS after JAX start and compilation, at n·d = 10⁷ and 3·10⁷ in float32, rounded up.
PEAK_ND = {"gd": 1, "marina_p_permk": 6, "marina_randk": 10, "ef21_topk": 6}
#: Bytes per n·d element at the peak of ``marina_p_quadratic`` (it draws b in float64 on the
#: host, then stores it; measured 19.4 B in float32 mode).
BUILD_BYTES_PER_ND = 20
#: RSS of a child after starting JAX (about 200 MiB) and compiling (about 150 MiB).
BASELINE_BYTES = 400 * 2**20

N_GRID = (10, 100, 1_000, 10_000, 100_000)
D_GRID = (100, 1_000, 10_000, 100_000)
D_FOR_N = 300
N_FOR_D = 100
MARKER = "@@BENCH_SCALING_RESULT@@"


# --------------------------------------------------------------------------- estimates
def rand_k_size(d: int, frac: float) -> int:
    """K of RandK and TopK: ``max(1, round(frac·d))`` (1% of the coordinates by default)."""
    return max(1, min(d, int(round(frac * d))))


def estimate_peak_bytes(alg: str, n: int, d: int, itemsize: int) -> int:
    """Estimated peak RSS of one point: the baseline plus the larger of the problem build and
    the run (``PEAK_ND[alg]`` arrays of n·d elements)."""
    nd = n * d
    run = PEAK_ND[alg] * nd * itemsize
    build = BUILD_BYTES_PER_ND * nd
    return int(BASELINE_BYTES + max(run, build))


def state_bytes_formula(alg: str, n: int, d: int, itemsize: int) -> int:
    """Problem data (b, c, b̄, x*) plus algorithm state, from the shapes (no arrays built)."""
    nd_arrays = {"gd": 0, "marina_p_permk": 1, "marina_randk": 2, "ef21_topk": 1}[alg]
    return int(itemsize * (n * d * (1 + nd_arrays) + n + 4 * d))


def traffic_model_bytes(alg: str, n: int, d: int, itemsize: int) -> int:
    """Bytes the step must move at least (see the module docstring)."""
    if alg == "gd":
        return TRAFFIC_D_GD * d * itemsize
    return TRAFFIC_ND[alg] * n * d * itemsize


# --------------------------------------------------------------------------- child
def build_algorithm(alg: str, problem, k_frac: float = 0.01):
    """The algorithm at its theory parameters; returns ``(Algorithm, params dict)``."""
    from jcomp.algorithms import (
        ef21,
        ef21_theory,
        gd,
        gd_theory,
        marina,
        marina_p,
        marina_p_theory,
        marina_theory,
    )
    from jcomp.compressors import perm_k, rand_k, top_k

    d = problem.d
    if alg == "gd":
        th = gd_theory(problem)
        return gd(th["step_size"]), {"step_size": th["step_size"]}
    if alg == "marina_p_permk":
        comp = perm_k()
        th = marina_p_theory(problem, comp)
        a = marina_p(comp, step_size=th["step_size"], p=th["p"])
        return a, {"step_size": th["step_size"], "p": th["p"]}
    k = rand_k_size(d, k_frac)
    if alg == "marina_randk":
        comp = rand_k(k)
        th = marina_theory(problem, comp)
        return marina(comp, **th), {"step_size": th["step_size"], "p": th["p"], "K": k}
    if alg == "ef21_topk":
        comp = top_k(k)
        th = ef21_theory(problem, comp)
        return ef21(comp, step_size=th["step_size"]), {"step_size": th["step_size"], "K": k}
    raise ValueError(f"unknown algorithm {alg!r}; expected one of {ALGORITHMS}")


def step_function(alg):
    """``(key, state, problem) -> (state, info)``: one step of ``alg``, to jit and analyse."""
    return lambda k, s, p: alg.step(k, s, p)


def _nbytes(tree) -> int:
    import jax

    return int(sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(tree)))


def _cost_dict(compiled) -> dict:
    try:
        ca = compiled.cost_analysis()
    except Exception as e:  # a backend without cost analysis
        return {"error": f"{type(e).__name__}: {e}"}
    if isinstance(ca, (list, tuple)):
        ca = ca[0] if ca else {}
    ca = ca or {}
    return {k: float(ca[k]) for k in ("bytes accessed", "flops") if k in ca}


def _memory_dict(compiled) -> dict:
    try:
        ma = compiled.memory_analysis()
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    if ma is None:
        return {}
    keys = ("argument_size_in_bytes", "output_size_in_bytes", "temp_size_in_bytes")
    return {k: int(getattr(ma, k)) for k in keys if hasattr(ma, k)}


def _device_memory() -> dict | None:
    import jax

    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:
        return None
    if not stats:
        return None
    keys = ("peak_bytes_in_use", "bytes_in_use", "bytes_limit")
    return {k: int(stats[k]) for k in keys if k in stats}


def _nice(x: float) -> int:
    """Round up to 1, 2 or 5 × 10^k."""
    if x <= 1:
        return 1
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return int(m * e)
    return int(10 * e)


def time_steps(alg, problem, x0, spec: dict, out: dict):
    """Compile one step (XLA's cost and memory analysis into ``out``), calibrate a step count
    for ``spec["target_run_s"]``, then time ``jcomp.run`` over repeats; returns the last trace.
    """
    import jax
    import numpy as np

    import jcomp

    key = jax.random.key(0)
    # one compiled step: XLA's cost and memory analysis, and a calibration of the step count
    state = jax.jit(alg.init)(key, problem, x0)
    t0 = time.perf_counter()
    step = jax.jit(step_function(alg)).lower(key, state, problem).compile()
    out["step_compile_s"] = time.perf_counter() - t0
    out["xla_cost"] = _cost_dict(step)
    out["xla_memory"] = _memory_dict(step)
    cal = []
    while len(cal) < 3 and sum(cal) < 0.5:  # up to 3 calls, fewer for slow steps
        t0 = time.perf_counter()
        jax.block_until_ready(step(key, state, problem))
        cal.append(time.perf_counter() - t0)
    out["calibration_s_per_step"] = min(cal)
    del state, step

    steps = _nice(spec["target_run_s"] / max(min(cal), 1e-7))
    steps = int(min(max(steps, spec["min_steps"]), spec["max_steps"]))
    out["steps"] = steps
    kw = dict(steps=steps, log_every=steps, chunks=1, divergence=None, progress=False)
    tr = jcomp.run(alg, problem, x0, key=0, **kw)
    out["compile_s"] = tr.meta["compile_time_s"]
    out["first_run_s_per_step"] = tr.meta["run_time_s"] / steps
    times: list[float] = []
    while len(times) < spec["max_repeats"] and (
        len(times) < spec["min_repeats"] or sum(times) * steps < spec["min_timed_s"]
    ):
        tr = jcomp.run(alg, problem, x0, key=len(times) + 1, **kw)
        times.append(tr.meta["run_time_s"] / steps)
    out["repeats"] = len(times)
    out["s_per_step_all"] = times
    out["s_per_step"] = float(np.median(times))
    out["s_per_step_min"] = float(np.min(times))
    out["final_grad_norm_sq"] = float(tr.grad_norm_sq[-1])
    out["diverged"] = bool(tr.diverged)
    return tr


def run_point(spec: dict) -> dict:
    """One (algorithm, n, d) point, in this process. ``spec`` keys: alg, n, d, dtype, k_frac,
    target_run_s, min_timed_s, min_repeats, max_repeats, min_steps, max_steps."""
    import jax

    if spec["dtype"] == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from jcomp.problems import marina_p_quadratic

    alg_name, n, d = spec["alg"], spec["n"], spec["d"]
    jax.devices()
    jnp.zeros(1).block_until_ready()
    out: dict = {"alg": alg_name, "label": LABELS[alg_name], "n": n, "d": d}
    out["rss_baseline_bytes"] = _common.peak_rss_bytes()

    t0 = time.perf_counter()
    problem = marina_p_quadratic(n, d=d, seed=0)
    jax.block_until_ready(problem)
    out["build_s"] = time.perf_counter() - t0
    out["rss_after_build_bytes"] = _common.peak_rss_bytes()
    dtype = problem.b.dtype
    out["dtype"] = str(dtype)
    itemsize = dtype.itemsize

    alg, params = build_algorithm(alg_name, problem, spec["k_frac"])
    out["params"] = params
    x0 = jnp.zeros(d, dtype)
    key = jax.random.key(0)
    state_shapes = jax.eval_shape(alg.init, key, problem, x0)
    out["problem_bytes"] = _nbytes(problem)
    out["state_bytes"] = _nbytes(state_shapes)
    out["theory_bytes"] = out["problem_bytes"] + out["state_bytes"]

    time_steps(alg, problem, x0, spec, out)

    out["peak_rss_bytes"] = _common.peak_rss_bytes()
    out["device_memory"] = _device_memory()
    t = out["s_per_step"]
    model = traffic_model_bytes(alg_name, n, d, itemsize)
    out["traffic_model_bytes"] = model
    out["bandwidth_model_Bps"] = model / t
    xla_bytes = out["xla_cost"].get("bytes accessed")
    out["bandwidth_xla_Bps"] = None if xla_bytes is None else xla_bytes / t
    if spec.get("record_env"):  # once per benchmark: it imports torch to read its version
        out["env"] = _common.environment()
    return out


# --------------------------------------------------------------------------- parent
def grid(args) -> list[tuple[int, int]]:
    """(n, d) points: the n grid at d = ``--d-for-n``, then the d grid at n = ``--n-for-d``."""
    if args.smoke:  # one point per algorithm, and one past any memory limit (skipped)
        return [(8, 64), (10**6, 10**6)]
    elif args.quick:
        ns, ds, d_for_n, n_for_d = (10, 1_000, 100_000), (100, 10_000), args.d_for_n, args.n_for_d
    else:
        ns, ds, d_for_n, n_for_d = N_GRID, D_GRID, args.d_for_n, args.n_for_d
    ns = args.n_grid if args.n_grid is not None else ns
    ds = args.d_grid if args.d_grid is not None else ds
    if args.extend:
        ns = tuple(ns) + tuple(v for v in (10**6, 10**7) if v > max(ns))
        ds = tuple(ds) + tuple(v for v in (10**6, 10**7) if v > max(ds))
    pts = [(n, d_for_n) for n in ns] + [(n_for_d, d) for d in ds]
    seen, out = set(), []
    for p in pts:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def timing_spec(args) -> dict:
    if args.smoke:
        t = dict(target_run_s=0.01, min_timed_s=0.0, min_repeats=1, max_repeats=2)
        t.update(min_steps=2, max_steps=20)
    elif args.quick:
        t = dict(target_run_s=0.1, min_timed_s=0.3, min_repeats=3, max_repeats=20)
        t.update(min_steps=1, max_steps=20_000)
    else:
        t = dict(target_run_s=0.25, min_timed_s=1.0, min_repeats=3, max_repeats=30)
        t.update(min_steps=1, max_steps=50_000)
    if args.target_run is not None:
        t["target_run_s"] = args.target_run
    if args.min_timed is not None:
        t["min_timed_s"] = args.min_timed
    return t


def run_child(specs: list[dict], timeout: float) -> list[dict]:
    """Run points in one fresh interpreter (one point per process, except in ``--smoke``);
    returns one result or error record per point."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(specs)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * len(specs))
    except subprocess.TimeoutExpired:
        return [{"error": f"timed out after {timeout * len(specs):.0f} s"} for _ in specs]
    wall = time.perf_counter() - t0
    done = []
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            res = json.loads(line[len(MARKER) :])
            res["process_wall_s"] = wall
            res["shared_process"] = len(specs) > 1
            done.append(res)
    tail = (proc.stderr or proc.stdout)[-1500:]
    err = {"error": f"exit code {proc.returncode}", "stderr_tail": tail, "process_wall_s": wall}
    return done + [dict(err) for _ in specs[len(done) :]]


def _fmt_bytes(b) -> str:
    if b is None:
        return "–"
    for unit, s in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= s:
            return f"{b / s:.3g} {unit}"
    return f"{int(b)} B"


def _fmt_time(s) -> str:
    if s is None:
        return "–"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def _fmt_bw(bps) -> str:
    return "–" if bps is None else f"{bps / 1e9:.3g}"


def _ok(r: dict) -> bool:
    return not r.get("skipped") and "error" not in r


def _cell(r: dict | None, key: str, fmt) -> str:
    if r is None:
        return ""
    if r.get("skipped"):
        return f"skipped (est. {_fmt_bytes(r['estimated_peak_bytes'])})"
    if "error" in r:
        return "error"
    return fmt(r[key])


def pivot(results: list[dict], axis: str, fixed: int, key: str, fmt, title: str) -> list[str]:
    """A table with one row per value of ``axis`` ("n" or "d") at the other fixed, one column
    per algorithm."""
    other = "d" if axis == "n" else "n"
    rows = [r for r in results if r[other] == fixed]
    algs = [a for a in ALGORITHMS if any(r["alg"] == a for r in rows)]
    vals = sorted({r[axis] for r in rows})
    if not rows or len(vals) < 2:
        return []
    out = [f"{title} ({axis} grid, {other} = {fixed})", ""]
    out.append(f"| {axis} | " + " | ".join(LABELS[a] for a in algs) + " |")
    out.append("|---|" + "---|" * len(algs))
    for v in vals:
        cells = []
        for a in algs:
            r = next((r for r in rows if r["alg"] == a and r[axis] == v), None)
            cells.append(_cell(r, key, fmt))
        out.append(f"| {v:g} | " + " | ".join(cells) + " |")
    return out + [""]


def markdown(results: list[dict], header: str, d_for_n: int, n_for_d: int) -> str:
    lines = [header, ""]
    for key, fmt, title in (
        ("s_per_step", _fmt_time, "Time per step (median)"),
        ("peak_rss_bytes", _fmt_bytes, "Peak RSS of the process"),
        ("bandwidth_model_Bps", _fmt_bw, "Effective bandwidth, traffic model (GB/s)"),
    ):
        lines += pivot(results, "n", d_for_n, key, fmt, title)
        lines += pivot(results, "d", n_for_d, key, fmt, title)
    algs = [a for a in ALGORITHMS if any(r["alg"] == a and _ok(r) for r in results)]
    if algs:
        lines += ["Compile time per algorithm over the points (median, min–max)", ""]
        lines += ["| algorithm | jcomp.run program | one step |", "|---|---|---|"]
        for a in algs:
            rs = [r for r in results if r["alg"] == a and _ok(r)]
            c = sorted(r["compile_s"] for r in rs)
            sc = sorted(r["step_compile_s"] for r in rs)
            med = lambda v: v[len(v) // 2]
            lines.append(
                f"| {LABELS[a]} | {med(c):.2f} s ({c[0]:.2f}–{c[-1]:.2f}) "
                f"| {med(sc):.2f} s ({sc[0]:.2f}–{sc[-1]:.2f}) |"
            )
        lines.append("")
    lines += ["All points", ""]
    lines += [
        "| algorithm | n | d | steps × runs | time/step | compile (run / step) | "
        "state+data | peak RSS (− baseline) | traffic model / XLA per step | "
        "GB/s model / XLA |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lab, n, d = LABELS[r["alg"]], r["n"], r["d"]
        if r.get("skipped"):
            lines.append(
                f"| {lab} | {n} | {d} | skipped: estimated peak "
                f"{_fmt_bytes(r['estimated_peak_bytes'])} > limit | | | "
                f"{_fmt_bytes(r['estimated_theory_bytes'])} | | | |"
            )
            continue
        if "error" in r:
            lines.append(f"| {lab} | {n} | {d} | error: {r['error']} | | | | | | |")
            continue
        xla = r["xla_cost"].get("bytes accessed")
        lines.append(
            f"| {lab} | {n} | {d} | {r['steps']} × {r['repeats']} | {_fmt_time(r['s_per_step'])} "
            f"| {r['compile_s']:.2f} s / {r['step_compile_s']:.2f} s "
            f"| {_fmt_bytes(r['theory_bytes'])} "
            f"| {_fmt_bytes(r['peak_rss_bytes'])} "
            f"({_fmt_bytes(r['peak_rss_bytes'] - r['rss_baseline_bytes'])}) "
            f"| {_fmt_bytes(r['traffic_model_bytes'])} / {_fmt_bytes(xla)} "
            f"| {_fmt_bw(r['bandwidth_model_Bps'])} / {_fmt_bw(r['bandwidth_xla_Bps'])} |"
        )
    return "\n".join(lines)


def _int(text: str) -> int:
    return int(float(text))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--n-grid", type=_int, nargs="*", default=None, help="n values (1e3 ...)")
    ap.add_argument("--d-grid", type=_int, nargs="*", default=None, help="d values")
    ap.add_argument("--d-for-n", type=int, default=D_FOR_N, help="d of the n grid (300)")
    ap.add_argument("--n-for-d", type=int, default=N_FOR_D, help="n of the d grid (100)")
    ap.add_argument("--k-frac", type=float, default=0.01, help="K/d of RandK and TopK")
    ap.add_argument("--mem-limit-gib", type=float, default=8.0)
    ap.add_argument("--target-run", type=float, default=None, help="seconds per timed run")
    ap.add_argument("--min-timed", type=float, default=None, help="timed seconds per point")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per point")
    ap.add_argument("--quick", action="store_true", help="3 n × 2 d points, shorter timing")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (for the tests)")
    ap.add_argument("--extend", action="store_true", help="grids up to n = d = 10^7")
    ap.add_argument("--out", default=_common.RESULTS_DIR)
    args = ap.parse_args(argv)

    if args.child:
        for spec in json.loads(args.child):
            res = run_point(spec)
            print(MARKER + json.dumps(res, default=_common._default), flush=True)
        return None

    itemsize = 8 if args.dtype == "float64" else 4
    limit = args.mem_limit_gib * 2**30
    timing = timing_spec(args)
    points = grid(args)
    t_start = time.perf_counter()
    results: list[dict] = []
    queue: list[tuple[dict, dict]] = []  # (record, child spec) of the points to run
    for n, d in points:
        for alg in args.algorithms:
            est = estimate_peak_bytes(alg, n, d, itemsize)
            rec = {
                "alg": alg,
                "n": n,
                "d": d,
                "estimated_peak_bytes": est,
                "estimated_theory_bytes": state_bytes_formula(alg, n, d, itemsize),
            }
            results.append(rec)
            if est > limit:
                rec["skipped"] = True
                print(f"  skip {LABELS[alg]:<17s} n={n:<8d} d={d:<8d} est. {_fmt_bytes(est)}")
            else:
                spec = dict(alg=alg, n=n, d=d, dtype=args.dtype, k_frac=args.k_frac, **timing)
                queue.append((rec, spec))
    if queue:
        queue[0][1]["record_env"] = True
    # one process per point (its peak RSS is the point's); --smoke shares one process
    batches = [queue] if args.smoke else [[q] for q in queue]
    for batch in batches:
        if not batch:
            continue
        for (rec, _), res in zip(
            batch, run_child([s for _, s in batch], args.timeout), strict=True
        ):
            rec.update(res)
            lab, n, d = LABELS[rec["alg"]], rec["n"], rec["d"]
            if "error" in res:
                print(f"  FAIL {lab:<17s} n={n:<8d} d={d:<8d} {res['error']}")
                continue
            print(
                f"  {lab:<17s} n={n:<8d} d={d:<8d} {_fmt_time(res['s_per_step']):>9s}/step  "
                f"compile {res['compile_s']:.2f}s  peak RSS {_fmt_bytes(res['peak_rss_bytes'])}"
                f"  ({res['process_wall_s']:.1f}s)",
                flush=True,
            )
    total = time.perf_counter() - t_start

    env = next((r["env"] for r in results if "env" in r), None)
    for r in results:
        r.pop("env", None)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    payload = {
        "benchmark": "scaling",
        "mode": mode,
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "dtype": args.dtype,
        "k_frac": args.k_frac,
        "mem_limit_bytes": int(limit),
        "timing": timing,
        "grid": [list(p) for p in points],
        "total_wall_s": total,
        "traffic_model": (
            "bytes = itemsize × n·d × {marina_p_permk: 3, marina_randk: 5, ef21_topk: 3}; "
            "gd: itemsize × 3·d; bandwidth = bytes / median time per step"
        ),
        "env": env,
        "results": results,
    }
    dev = env["device_kind"] if env else "?"
    header = (
        f"## jcomp scaling ({mode}, {args.dtype}, K = {args.k_frac:g}·d for RandK/TopK)\n\n"
        f"Device: {dev}; jax {env['jax'] if env else '?'}; {env['cpu'] if env else ''}; "
        f"{env['cpu_count'] if env else '?'} CPUs; {payload['command']}; total "
        f"{total:.0f} s. Traffic model: {payload['traffic_model']}; XLA: 'bytes accessed' of "
        "one compiled step. Peak RSS includes JAX and the compiler (baseline in parentheses "
        "subtracted)."
    )
    md = markdown(results, header, args.d_for_n, args.n_for_d)
    print()
    print(md)
    _common.save_json("scaling.json", payload, args.out)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "scaling.md"), "w") as f:
        f.write(md + "\n")
    print(f"\nsaved {os.path.join(args.out, 'scaling.json')} and scaling.md ({total:.0f} s)")
    return payload


if __name__ == "__main__":
    main()
