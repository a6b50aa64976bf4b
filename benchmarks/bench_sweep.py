"""A 64-point step-size × seed sweep as one compiled program vs 64 separate runs.

Problem: seed 004 Alg. 3 quadratics (``marina_p_quadratic(n, d)``, structured, float64 by
default). Algorithms: MARINA-P + PermK (the main case), GD, MARINA + RandK(K = max(1, d // n)).
Grid: 16 step sizes ``theory × 2^i`` (i = −4..11, the tuning grid of the marina-p experiment
plus one) × 4 seeds = 64 points; a few of the large steps diverge, as in real tuning.

For every size (n, d) and algorithm, in one process:

(a) one run at the theory step (``jcomp.run``): compile time and run time, cold (first call)
    and warm (median of 5 calls; the median of the 64 separate runs is recorded as a check);
(b) the 64 grid points as 64 separate ``jcomp.run`` calls in a Python loop: total time, and a
    check that none of them compiles (``compile_cache_size()`` unchanged, every
    ``meta["compile_time_s"]`` tiny);
(c) the 64 points as one ``jcomp.sweep``: compile and run time for the default ``batch_chunk``
    (the library's cache-sized choice on CPU) and for other chunks (``all`` = 64 at once), each
    trace compared with the separate runs (same key → same run: the max differences are
    recorded); then a second default sweep with other step sizes and seeds, which must not
    compile anything.

Ratios: sweep / one run, 64 runs / one run, 64 runs / sweep, with and without compile time.
Runs use ``chunks=1`` (one call of the compiled program per run or per batch chunk) so every
run does all its steps on both sides: with more host chunks a diverged separate run stops
early while a sweep chunk stops only when all its runs diverged, and the work would differ.

Where the time goes: time per step of one run against n·d (fixed cost vs cost per element),
time per run-step in each sweep configuration, bytes moved per step (XLA's cost analysis of one
step) and the achieved GB/s, against this machine's single-core copy bandwidth at working sets
from L2 to DRAM (NumPy ``copyto``); the compressor alone per step (one run and batched; PermK's
permutation of [d] is per-run work a sweep cannot amortize); the time per run-step the 10×
target needs against the bandwidth floor.

Prototypes of library changes (jcomp itself is not modified): ``balanced``, ``state`` and
``state4`` batch chunks (see below), passed as ``batch_chunk``; and the sweep's independent
runs split over 2 host CPU devices in threads (a child process with
``XLA_FLAGS=--xla_force_host_platform_device_count=2``), so whole runs proceed concurrently
(``cpu/wall`` in the tables shows how many cores one device already keeps busy), traces
compared with the one-device sweep.

    python benchmarks/bench_sweep.py [--sizes 10x300,100x300,1000x300] [--steps 100]
        [--algs marina-p,gd,marina] [--batch-chunks default,balanced,state,state4,all,4,16]
        [--dtype float64] [--prototype-devices 2] [--prototype-sizes 1000x300] [--smoke]
        [--out DIR]

``--batch-chunks`` applies to the first algorithm, the others get ``default,state,state4,all``:
``default`` the library's choice (``batch_chunk=None``: on CPU at most ``CPU_BATCH_ELEMENTS``
n·d elements per chunk); ``balanced`` that cap spread evenly over as many chunks (the last
chunk is not mostly padding); ``state`` the proposed default (the same element budget counted
on the algorithm's largest carried state array, (d,) for GD, not on n·d; balanced);
``state4`` the same with 4× the budget (L3- rather than L2-sized); ``all`` 64 at once;
or a number. Specs giving the same chunk run once. ``--smoke``: MARINA-P only, n = 4, d = 32,
20 steps, an 8-point grid (4 step sizes × 2 seeds), no compressor timing or prototype, a few
seconds. The default run takes about 5 minutes on a quiet 2-core CPU (mostly n = 1000 and
compiling); ``--sizes 100x10000 --steps 20`` adds the large-d case separately. Prints markdown
tables and writes ``sweep.md`` and ``sweep.json`` to ``--out`` (default benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jcomp  # noqa: E402
from jcomp.algorithms import (  # noqa: E402
    gd,
    gd_theory,
    marina,
    marina_p,
    marina_p_theory,
    marina_theory,
)
from jcomp.compressors import perm_k, rand_k  # noqa: E402
from jcomp.problems import marina_p_quadratic  # noqa: E402
from jcomp.run import CPU_BATCH_ELEMENTS, compile_cache_size  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS_DIR, environment, save_json  # noqa: E402

EXPONENTS = tuple(range(-4, 12))  # 16 step sizes theory × 2^i
SEEDS = (0, 1, 2, 3)
SMOKE_EXPONENTS = (-2, -1, 0, 1)
SMOKE_SEEDS = (0, 1)
WARM_SHIFT = 1.5  # the no-recompilation sweep uses step sizes × 1.5 and new seeds


# --------------------------------------------------------------------------- algorithms
def algorithm_case(name: str, problem):
    """``(factory, fixed kwargs, theory step size, label)`` of a benchmarked algorithm."""
    n, d = problem.n, problem.d
    if name == "marina-p":
        comp = perm_k()
        th = marina_p_theory(problem, comp)
        return marina_p, {"compressor": comp, "p": th["p"]}, th["step_size"], "MARINA-P + PermK"
    if name == "gd":
        return gd, {}, gd_theory(problem)["step_size"], "GD"
    if name == "marina":
        k = max(1, d // n)
        comp = rand_k(k)
        th = marina_theory(problem, comp)
        return marina, {"compressor": comp, "p": th["p"]}, th["step_size"], f"MARINA + RandK({k})"
    raise ValueError(f"unknown algorithm {name!r}: expected marina-p, gd or marina")


def make_problem(n: int, d: int, dtype: str):
    problem = marina_p_quadratic(n, d=d, seed=0)
    if dtype != "float64":
        problem = jax.tree.map(lambda a: a.astype(dtype) if a.dtype == jnp.float64 else a, problem)
    return problem


def default_batch_chunk(problem, B: int) -> int:
    """The chunk ``jcomp.sweep`` picks for ``batch_chunk=None`` (mirrors jcomp.run)."""
    try:
        from jcomp.run import _default_batch_chunk
    except ImportError:  # pragma: no cover - the library renamed it
        if jax.default_backend() != "cpu":
            return B
        return max(1, min(B, CPU_BATCH_ELEMENTS // (problem.n * problem.d)))
    return int(_default_batch_chunk(problem, B))


# --------------------------------------------------------------------------- trace checks
def compare_traces(sweep_trace, runs, shape) -> dict:
    """Max differences between a sweep's trace and the separate runs (same grid order)."""
    fields = [k for k in sweep_trace.arrays() if k != "wall_time"]
    a = {k: np.asarray(getattr(sweep_trace, k)) for k in fields}
    b = {k: np.stack([np.asarray(getattr(r, k)) for r in runs]).reshape(a[k].shape) for k in fields}
    out = compare_arrays(a, b)
    out["diverged_points"] = int(np.sum(sweep_trace.diverged))
    out["shape"] = list(shape)
    return out


def compare_arrays(a: dict, b: dict) -> dict:
    """Max absolute and relative differences over same-shaped fields. Integer and boolean
    fields must be equal; non-finite entries (diverged runs: +inf) must be non-finite at the
    same places and equal there: ``nonfinite_or_flag_mismatches`` counts the exceptions."""
    max_abs, max_rel, mismatched = 0.0, 0.0, 0
    for k in a:
        x, y = a[k], b[k]
        if x.dtype == bool or np.issubdtype(x.dtype, np.integer):
            mismatched += int(np.sum(x != y))
            continue
        fx, fy = np.isfinite(x), np.isfinite(y)
        both = fx & fy
        mismatched += int(np.sum(fx != fy))
        nonfinite = ~fx & ~fy
        mismatched += int(np.sum(nonfinite & ~((x == y) | (np.isnan(x) & np.isnan(y)))))
        if both.any():
            u, v = x[both].astype(np.float64), y[both].astype(np.float64)
            diff = np.abs(u - v)
            scale = np.maximum(np.maximum(np.abs(u), np.abs(v)), np.finfo(np.float64).tiny)
            max_abs = max(max_abs, float(diff.max()))
            max_rel = max(max_rel, float((diff / scale).max()))
    return {
        "max_abs_diff": max_abs,
        "max_rel_diff": max_rel,
        "nonfinite_or_flag_mismatches": mismatched,
        "identical": max_abs == 0.0 and mismatched == 0,
    }


# --------------------------------------------------------------------------- machine
def memory_bandwidth(sizes_bytes, budget_s: float = 0.4) -> list[dict]:
    """Single-thread copy bandwidth (NumPy ``copyto``; read + write bytes per second) at each
    working-set size (the two arrays together)."""
    out = []
    for size in sizes_bytes:
        n = max(1, size // 16)
        a = np.ones(n)
        b = np.empty_like(a)
        np.copyto(b, a)
        reps, times = 1, []
        while True:
            t0 = time.perf_counter()
            for _ in range(reps):
                np.copyto(b, a)
            dt = time.perf_counter() - t0
            if dt > 0.02:
                times.append(dt / reps)
                if sum(times) * reps > budget_s or len(times) >= 5:
                    break
            else:
                reps *= 4
        best = min(times)
        out.append({"working_set_bytes": 16 * n, "GBps": 16 * n / best / 1e9})
    return out


def cache_sizes() -> dict:
    """Per-core cache sizes from sysfs (bytes), e.g. ``{"L1d": ..., "L2": ..., "L3": ...}``."""
    out = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for idx in sorted(os.listdir(base)):
            if not idx.startswith("index"):
                continue

            def rd(f, idx=idx):
                with open(os.path.join(base, idx, f)) as fh:
                    return fh.read().strip()

            kind = rd("type")
            if kind == "Instruction":
                continue
            name = f"L{rd('level')}" + ("d" if kind == "Data" else "")
            size = rd("size")
            mult = {"K": 2**10, "M": 2**20, "G": 2**30}.get(size[-1], 1)
            out[name] = int(size.rstrip("KMG")) * mult
    except OSError:
        pass
    return out


def step_cost(factory, fixed, gamma, problem, x0) -> dict:
    """Bytes and flops of one step of one run, from XLA's cost analysis of the compiled step."""
    alg = factory(step_size=gamma, **fixed)
    state = alg.init(jax.random.key(0), problem, x0)
    fn = jax.jit(lambda a, k, s, pr: a.step(k, s, pr))
    fn = fn.lower(alg, jax.random.key(1), state, problem).compile()
    ca = fn.cost_analysis()
    ca = ca[0] if isinstance(ca, (list, tuple)) else (ca or {})
    return {
        "bytes_per_step": float(ca.get("bytes accessed", float("nan"))),
        "flops_per_step": float(ca.get("flops", float("nan"))),
    }


def compressor_cost(comp, problem, dtype, steps: int, batch: int) -> dict:
    """Time per step of the compressor alone on an (n, d) input inside one compiled loop of
    ``steps`` steps (as in a run: a new key per step, the decoded values summed): one run, and
    per run-step when ``batch`` runs are vmapped (different keys). Median of 3 calls."""
    X = jnp.ones((problem.n, problem.d), dtype)

    def loop(key):
        def body(t, acc):
            m = comp(jax.random.fold_in(key, t), X)
            return acc + jnp.sum(m.values) + jnp.sum(m.bits)

        return jax.lax.fori_loop(0, steps, body, jnp.zeros((), dtype))

    one = jax.jit(loop)
    many = jax.jit(jax.vmap(loop))
    keys = jax.vmap(jax.random.key)(jnp.arange(batch))

    def timed(fn, arg):
        jax.block_until_ready(fn(arg))
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(arg))
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    return {
        "compressor": comp.describe() if hasattr(comp, "describe") else str(comp),
        "s_per_step_one_run": timed(one, jax.random.key(0)) / steps,
        "batch": batch,
        "s_per_run_step_batched": timed(many, keys) / (batch * steps),
    }


# --------------------------------------------------------------------------- one case
class Timer:
    def __enter__(self):
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0


def state_elements(factory, fixed, gamma, problem, x0) -> tuple[int, int]:
    """``(total, largest)``: elements of one run's carried algorithm state (``alg.init``'s
    output, by shape only) and of its largest array (n·d for MARINA-P and MARINA, d for GD)."""
    alg = factory(step_size=gamma, **fixed)
    shapes = jax.eval_shape(lambda k: alg.init(k, problem, x0), jax.random.key(0))
    sizes = [int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(shapes)]
    return sum(sizes), max(sizes)


def balanced(cap: int, B: int) -> int:
    """At most ``cap`` runs per chunk, spread evenly: ``ceil(B / ceil(B / cap))``."""
    cap = max(1, min(B, cap))
    return math.ceil(B / math.ceil(B / cap))


def proposed_batch_chunk(largest: int, B: int, budget: int = CPU_BATCH_ELEMENTS) -> int:
    """The proposed CPU default: the element budget (the library's ``CPU_BATCH_ELEMENTS``, or
    ``budget``) counted on the algorithm's largest carried state array instead of n·d (the
    same chunk for MARINA-P and MARINA, all points at once for GD, whose state is (d,)),
    spread evenly over the chunks."""
    return balanced(budget // max(1, largest), B)


def resolve_chunks(specs, problem, B, largest) -> list[tuple[str, int | None, int]]:
    """``[(label, batch_chunk argument, chunk used)]``, ``default`` first; specs that give the
    same chunk are run once, under the joined label (e.g. ``state=all``).

    ``default``: the library's choice (``batch_chunk=None``); ``balanced``: the default's cap
    spread evenly; ``state``: :func:`proposed_batch_chunk`; ``state4``: the same with 4× the
    element budget (an L3-sized chunk instead of an L2-sized one); ``all``: ``B``; a number."""
    specs = ["default"] + [x for x in specs if x != "default"]
    out: list[list] = []
    for spec in specs:
        if spec == "default":
            arg, used = None, default_batch_chunk(problem, B)
        elif spec == "balanced":
            arg = used = balanced(default_batch_chunk(problem, B), B)
        elif spec == "state":
            arg = used = proposed_batch_chunk(largest, B)
        elif spec == "state4":
            arg = used = proposed_batch_chunk(largest, B, 4 * CPU_BATCH_ELEMENTS)
        elif spec == "all":
            arg, used = B, B
        else:
            arg = int(spec)
            used = min(B, arg)
        same = [e for e in out if e[2] == used]
        if same:
            same[0][0] += f"={spec}"
            continue
        out.append([spec, arg, used])
    return [tuple(e) for e in out]


def bench_case(n, d, alg_name, chunk_specs, cfg) -> dict:
    problem = make_problem(n, d, cfg.dtype)
    x0 = jnp.zeros(d, cfg.dtype)
    factory, fixed, gamma, label = algorithm_case(alg_name, problem)
    exps, seeds = np.asarray(cfg.exponents, float), list(cfg.seeds)
    gammas = gamma * 2.0**exps
    B = len(gammas) * len(seeds)
    kw = dict(steps=cfg.steps, log_every=cfg.log_every, chunks=cfg.chunks, progress=False)
    res = {
        "n": n,
        "d": d,
        "alg": alg_name,
        "label": label,
        "theory_step_size": gamma,
        "fixed": {k: (v.describe() if hasattr(v, "describe") else v) for k, v in fixed.items()},
        "points": B,
    }
    print(f"[{label}, n={n}, d={d}] one run ...", file=sys.stderr, flush=True)

    # (a) one run at the theory step: cold, then warm (median of 5)
    c0 = compile_cache_size()
    with Timer() as t:
        tr = jcomp.run(factory(step_size=gamma, **fixed), problem, x0, key=0, **kw)
    one = {
        "compile_s": tr.meta["compile_time_s"],
        "run_s_cold": tr.meta["run_time_s"],
        "wall_s_cold": t.wall,
        "new_programs": compile_cache_size() - c0,
    }
    walls, runs_s, cpus = [], [], []
    for key in range(1, 6):
        with Timer() as t:
            tr = jcomp.run(factory(step_size=gamma, **fixed), problem, x0, key=key, **kw)
        walls.append(t.wall)
        cpus.append(t.cpu)
        runs_s.append(tr.meta["run_time_s"])
    one["wall_s"] = float(np.median(walls))
    one["run_s"] = float(np.median(runs_s))
    one["s_per_step"] = one["run_s"] / cfg.steps
    one["cpu_per_wall"] = float(np.sum(cpus) / np.sum(walls))
    res["one_run"] = one

    # (b) the 64 grid points as separate runs (grid order: step size major, seed minor)
    print(f"[{label}, n={n}, d={d}] {B} separate runs ...", file=sys.stderr, flush=True)
    c0 = compile_cache_size()
    runs, walls = [], []
    with Timer() as t:
        for g in gammas:
            for s in seeds:
                t0 = time.perf_counter()
                runs.append(
                    jcomp.run(factory(step_size=float(g), **fixed), problem, x0, key=s, **kw)
                )
                walls.append(time.perf_counter() - t0)
    res["separate_runs"] = {
        "wall_s": t.wall,
        "median_wall_s_per_run": float(np.median(walls)),
        "median_run_s_per_run": float(np.median([r.meta["run_time_s"] for r in runs])),
        "run_s": float(sum(r.meta["run_time_s"] for r in runs)),
        "cpu_per_wall": t.cpu / t.wall,
        "new_programs": compile_cache_size() - c0,
        "max_compile_s": float(max(r.meta["compile_time_s"] for r in runs)),
        "diverged_points": int(sum(bool(r.diverged) for r in runs)),
        "s_per_run_step": float(sum(r.meta["run_time_s"] for r in runs)) / (B * cfg.steps),
    }

    # (c) the sweep, one compiled program per batch chunk size
    sweeps = []
    shape = (len(gammas), len(seeds))
    state_elems, largest = state_elements(factory, fixed, gamma, problem, x0)
    itemsize = np.dtype(cfg.dtype).itemsize
    res["state_bytes_per_run"] = state_elems * itemsize
    res["largest_state_array_elements"] = largest
    res["proposed_chunk"] = proposed_batch_chunk(largest, B)
    res["proposed_chunk_4x"] = proposed_batch_chunk(largest, B, 4 * CPU_BATCH_ELEMENTS)
    for spec, arg, used in resolve_chunks(chunk_specs, problem, B, largest):
        print(
            f"[{label}, n={n}, d={d}] sweep batch_chunk={spec} ({used}) ...",
            file=sys.stderr,
            flush=True,
        )
        c0 = compile_cache_size()
        with Timer() as t:
            sw = jcomp.sweep(
                factory,
                problem,
                x0,
                grid={"step_size": gammas},
                seeds=seeds,
                batch_chunk=arg,
                **fixed,
                **kw,
            )
        computed = math.ceil(B / used) * used
        entry = {
            "batch_chunk": spec,
            "chunk": used,
            "chunks_run": math.ceil(B / used),
            "runs_computed": computed,
            "chunk_state_bytes": used * state_elems * itemsize,
            "compile_s": sw.meta["compile_time_s"],
            "run_s": sw.meta["run_time_s"],
            "wall_s": t.wall,
            "cpu_per_wall": t.cpu / t.wall,
            "new_programs": compile_cache_size() - c0,
            "s_per_run_step": sw.meta["run_time_s"] / (B * cfg.steps),
            "s_per_computed_run_step": sw.meta["run_time_s"] / (computed * cfg.steps),
            "vs_separate_runs": compare_traces(sw, runs, shape),
        }
        if arg is None or "state" in spec.split("="):
            # same shapes, other step sizes and seeds: nothing may compile (the default and
            # the proposed chunk are timed warm too)
            c1 = compile_cache_size()
            new_seeds = [s + len(seeds) for s in seeds]
            with Timer() as t:
                sw2 = jcomp.sweep(
                    factory,
                    problem,
                    x0,
                    grid={"step_size": gammas * WARM_SHIFT},
                    seeds=new_seeds,
                    batch_chunk=arg,
                    **fixed,
                    **kw,
                )
            entry["warm"] = {
                "wall_s": t.wall,
                "run_s": sw2.meta["run_time_s"],
                "compile_s": sw2.meta["compile_time_s"],
                "new_programs": compile_cache_size() - c1,
                "step_size_factor": WARM_SHIFT,
                "seeds": new_seeds,
            }
        sweeps.append(entry)
    res["sweeps"] = sweeps

    # ratios (default sweep)
    sr, dflt = res["separate_runs"], sweeps[0]
    warm = dflt["warm"]
    res["ratios"] = {
        "sweep_over_one_run": warm["wall_s"] / one["wall_s"],
        "sweep_over_one_run_with_compile": dflt["wall_s"] / one["wall_s_cold"],
        "runs_over_one_run": sr["wall_s"] / one["wall_s"],
        "runs_over_one_run_with_compile": (sr["wall_s"] + one["compile_s"]) / one["wall_s_cold"],
        "runs_over_sweep": sr["wall_s"] / warm["wall_s"],
        "runs_over_sweep_with_compile": (sr["wall_s"] + one["compile_s"]) / dflt["wall_s"],
    }
    for e in sweeps:
        e["run_over_one_run"] = e["run_s"] / one["run_s"]
        e["wall_over_one_run_cold"] = e["wall_s"] / one["wall_s_cold"]
    best = min(sweeps, key=lambda e: e["run_s"])
    res["best_chunk"] = {"batch_chunk": best["batch_chunk"], "chunk": best["chunk"]}
    for key in ("proposed_chunk", "proposed_chunk_4x"):
        prop = next((e for e in sweeps if e["chunk"] == res[key]), None)
        if prop is not None:
            res[key.replace("chunk", "gain")] = dflt["run_s"] / prop["run_s"]
            if "warm" in prop:
                res[key.replace("chunk", "gain_warm_wall")] = (
                    warm["wall_s"] / prop["warm"]["wall_s"]
                )

    # bytes per step and achieved bandwidth
    cost = step_cost(factory, fixed, gamma, problem, x0)
    cost["GBps_one_run"] = cost["bytes_per_step"] / one["s_per_step"] / 1e9
    for e in sweeps:
        e["GBps"] = cost["bytes_per_step"] / e["s_per_computed_run_step"] / 1e9
    res["step_cost"] = cost
    if "compressor" in fixed and not cfg.smoke:
        c = compressor_cost(fixed["compressor"], problem, cfg.dtype, cfg.steps, best["chunk"])
        c["share_of_one_run_step"] = c["s_per_step_one_run"] / one["s_per_step"]
        res["compressor_cost"] = c
    return res


# --------------------------------------------------------------------------- prototype
def split_sweep(devs, factory, problem, x0, gamma_parts, seeds, fixed, kw) -> list:
    """Prototype of ``sweep(..., devices=k)``: part i of the step-size grid runs as its own
    sweep on device i (problem and x0 committed there), one thread per device."""
    res = [None] * len(devs)

    def work(i):
        with jax.default_device(devs[i]):
            pr = jax.device_put(problem, devs[i])
            x = jax.device_put(x0, devs[i])
            grid = {"step_size": gamma_parts[i]}
            res[i] = jcomp.sweep(factory, pr, x, grid=grid, seeds=seeds, **fixed, **kw)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(devs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return res


def prototype_child(args) -> dict:
    """Run in a child process with 2 (or more) host CPU devices: the main algorithm's sweep on
    one device vs split into equal parts over the devices (:func:`split_sweep`), each cold
    (compiling) then warm (step sizes × 1.5); the warm traces are compared field by field."""
    devs = jax.devices()
    k = len(devs)
    out = {"devices": [str(x) for x in devs], "cases": []}
    for n, d in args.proto_sizes:
        problem = make_problem(n, d, args.dtype)
        x0 = jnp.zeros(d, args.dtype)
        factory, fixed, gamma, label = algorithm_case(args.algs[0], problem)
        gammas = gamma * 2.0 ** np.asarray(args.exponents, float)
        seeds = list(args.seeds)
        kw = dict(steps=args.steps, log_every=args.log_every, chunks=args.chunks, progress=False)
        case = {"n": n, "d": d, "alg": args.algs[0], "label": label, "devices": k}
        for name in ("one_device", "split"):
            walls = []
            for factor in (1.0, WARM_SHIFT):  # cold (compiles), then warm
                with Timer() as t:
                    if name == "one_device":
                        grid = {"step_size": gammas * factor}
                        tr = jcomp.sweep(
                            factory, problem, x0, grid=grid, seeds=seeds, **fixed, **kw
                        )
                    else:
                        parts = np.array_split(gammas * factor, k)
                        tr = split_sweep(devs, factory, problem, x0, parts, seeds, fixed, kw)
                walls.append(t.wall)
            case[name] = {
                "wall_s_cold": walls[0],
                "wall_s": walls[1],
                "cpu_per_wall": t.cpu / t.wall,
            }
            if name == "one_device":
                ref = tr
        fields = [f for f in ref.arrays() if f != "wall_time"]
        case["vs_one_device"] = compare_arrays(
            {f: np.concatenate([np.asarray(getattr(p, f)) for p in tr]) for f in fields},
            {f: np.asarray(getattr(ref, f)) for f in fields},
        )
        case["speedup"] = case["one_device"]["wall_s"] / case["split"]["wall_s"]
        out["cases"].append(case)
    return out


def run_prototype(args) -> dict | None:
    """Start the prototype child process (it needs XLA_FLAGS before JAX starts)."""
    env = dict(os.environ)
    flag = f"--xla_force_host_platform_device_count={args.prototype_devices}"
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + flag).strip()
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--prototype-child",
        "--sizes",
        ",".join(f"{n}x{d}" for n, d in args.proto_sizes),
        "--steps",
        str(args.steps),
        "--log-every",
        str(args.log_every),
        "--chunks",
        str(args.chunks),
        "--algs",
        args.algs[0],
        "--dtype",
        args.dtype,
    ]
    if args.smoke:
        cmd.append("--smoke")
    print(f"[prototype] {args.prototype_devices} host devices ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- reporting
TARGET_RATIO = 10.0  # the issue's target: a 64-point sweep ≤ 10× one run at n = 1000, d = 300


def bounds(results, fit, machine) -> list[dict]:
    """Per case: what the target needs against what bounds it.

    ``needed_s_per_run_step``: the time per run-step at which a ``B``-point sweep costs
    ``TARGET_RATIO`` one runs (``TARGET_RATIO / B`` of one run's step). ``floor_*``: XLA's bytes
    per step of one run over the best single-core copy bandwidth measured at any working set (a
    run-step cannot stream its bytes faster), on one core and split over all cores.
    ``fixed_share_one_run``: the fitted fixed part ``a`` of one run's step (the most a sweep
    could amortize); ``ideal_ratio_1_core = φ + B(1 − φ)``: the sweep pays ``a`` once and every
    run's per-element part at one run's speed, on one core."""
    bw = [b["GBps"] for b in machine["copy_bandwidth"]]
    cores = os.cpu_count() or 1
    out = []
    for r in results:
        t = r["one_run"]["s_per_step"]
        f = fit.get(r["alg"])
        phi = None if f is None else float(np.clip(f["fixed_s_per_step"] / t, 0.0, 1.0))
        B = r["points"]
        floor = r["step_cost"]["bytes_per_step"] / (max(bw) * 1e9)
        out.append(
            {
                "n": r["n"],
                "d": r["d"],
                "alg": r["alg"],
                "sweep_over_one_run": r["ratios"]["sweep_over_one_run"],
                "best_chunk_run_over_one_run": min(e["run_over_one_run"] for e in r["sweeps"]),
                "needed_s_per_run_step": TARGET_RATIO / B * t,
                "best_s_per_run_step": min(e["s_per_run_step"] for e in r["sweeps"]),
                "floor_s_per_run_step_1_core": floor,
                "floor_s_per_run_step_all_cores": floor / cores,
                "cores": cores,
                "fixed_share_one_run": phi,
                "ideal_ratio_1_core": None if phi is None else phi + B * (1 - phi),
                "us_per_step_at_cache_bw": floor * 1e6,
                "us_per_step_at_dram_bw": r["step_cost"]["bytes_per_step"] / bw[-1] / 1e3,
                "target": TARGET_RATIO,
                "target_met": r["ratios"]["sweep_over_one_run"] <= TARGET_RATIO,
            }
        )
    return out


def fit_fixed_cost(results) -> dict:
    """Per algorithm: least-squares fit of one run's time per step, ``a + b·n·d``."""
    out = {}
    for alg in dict.fromkeys(r["alg"] for r in results):
        rs = [r for r in results if r["alg"] == alg]
        if len(rs) < 2:
            continue
        x = np.array([r["n"] * r["d"] for r in rs], float)
        y = np.array([r["one_run"]["s_per_step"] for r in rs])
        A = np.stack([np.ones_like(x), x], axis=1)
        (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
        ys = np.array([min(e["s_per_computed_run_step"] for e in r["sweeps"]) for r in rs], float)
        (a_s, b_s), *_ = np.linalg.lstsq(A, ys, rcond=None)
        out[alg] = {
            "fixed_s_per_step": float(a),
            "s_per_element_step": float(b),
            "fixed_fraction": {
                f"{r['n']}x{r['d']}": float(a / yi) for r, yi in zip(rs, y, strict=True)
            },
            "sweep_best_fixed_s_per_run_step": float(a_s),
            "sweep_best_s_per_element_run_step": float(b_s),
        }
    return out


def us(s):
    return f"{s * 1e6:.1f}"


def fmt_mb(b):
    return f"{b / 2**20:.2f}"


def markdown(payload) -> str:
    cfg, results = payload["config"], payload["results"]
    env = payload["env"]
    P = cfg["points"]
    L = [
        "# Sweep vs separate runs",
        "",
        f"{env['cpu']}, {env['cpu_count']} cores, jax {env['jax']}, backend {env['backend']}, "
        f"{cfg['dtype']}; {cfg['steps']} steps, log every {cfg['log_every']}, "
        f"chunks={cfg['chunks']}; grid theory × 2^i, i = {cfg['exponents'][0]}..."
        f"{cfg['exponents'][-1]} × seeds {cfg['seeds']} = {cfg['points']} points. "
        f"Command: `{payload['command']}`",
        "",
        f"## One run, {cfg['points']} runs, one sweep (default batch_chunk)",
        "",
        "Times in seconds. `cold` includes compiling; the sweep's warm time is a second sweep "
        "with other step sizes and seeds (no compilation). Ratios without / with compile time.",
        "",
        f"| n | d | algorithm | one run: compile | run | {P} runs | sweep: chunk | compile | run "
        f"| sweep/one | {P} runs/one | {P} runs/sweep | recompiles (runs, sweep) | max diff "
        "(abs, rel, mismatches) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o, s, dflt, q = r["one_run"], r["separate_runs"], r["sweeps"][0], r["ratios"]
        w = dflt["warm"]
        cmp = dflt["vs_separate_runs"]
        L.append(
            f"| {r['n']} | {r['d']} | {r['label']} | {o['compile_s']:.2f} | {o['wall_s']:.3f} | "
            f"{s['wall_s']:.2f} | {dflt['chunk']} | {dflt['compile_s']:.2f} | {w['wall_s']:.2f} | "
            f"{q['sweep_over_one_run']:.1f} / {q['sweep_over_one_run_with_compile']:.1f} | "
            f"{q['runs_over_one_run']:.1f} / {q['runs_over_one_run_with_compile']:.1f} | "
            f"{q['runs_over_sweep']:.2f} / {q['runs_over_sweep_with_compile']:.2f} | "
            f"{s['new_programs']}, {w['new_programs']} | "
            f"{cmp['max_abs_diff']:.2g}, {cmp['max_rel_diff']:.2g}, "
            f"{cmp['nonfinite_or_flag_mismatches']} |"
        )
    L += [
        "",
        "## Batch chunk: cache effect",
        "",
        "`batch_chunk`: `default` the library's choice (CPU: `CPU_BATCH_ELEMENTS` n·d elements "
        "per chunk), `balanced` that cap spread evenly over the chunks, `state` the proposed "
        "rule (the same element budget counted on the largest carried state array, "
        "balanced), "
        "`state4` that with 4× the budget, `all` every point at once. `state MiB`: the "
        "carried algorithm state of the whole chunk. `runs computed`: the last chunk is "
        "padded to the chunk size. `run s`: time in the compiled programs (meta `run_time_s`, "
        "no compile); `run/one`: that over one warm run's. GB/s: XLA's bytes per step of one "
        "run / time per computed run-step. `cpu/wall`: process CPU time over wall time of the "
        "call (1 = one core busy).",
        "",
        "| n | d | algorithm | batch_chunk | chunk | runs computed | state MiB | compile s | "
        "run s | µs per run-step | GB/s | run/one | cpu/wall | max diff vs runs (abs, rel) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o = r["one_run"]
        L.append(
            f"| {r['n']} | {r['d']} | {r['label']} | one run | 1 | 1 | "
            f"{fmt_mb(r['state_bytes_per_run'])} | "
            f"{o['compile_s']:.2f} | {o['run_s']:.3f} | {us(o['s_per_step'])} | "
            f"{r['step_cost']['GBps_one_run']:.1f} | 1 | {o['cpu_per_wall']:.2f} | |"
        )
        s = r["separate_runs"]
        L.append(
            f"| {r['n']} | {r['d']} | {r['label']} | {P} runs | 1 | {P} | | 0 | "
            f"{s['run_s']:.2f} | {us(s['s_per_run_step'])} | "
            f"{r['step_cost']['bytes_per_step'] / s['s_per_run_step'] / 1e9:.1f} | "
            f"{s['run_s'] / o['run_s']:.1f} | {s['cpu_per_wall']:.2f} | |"
        )
        for e in r["sweeps"]:
            L.append(
                f"| {r['n']} | {r['d']} | {r['label']} | {e['batch_chunk']} | {e['chunk']} | "
                f"{e['runs_computed']} | {fmt_mb(e['chunk_state_bytes'])} | "
                f"{e['compile_s']:.2f} | {e['run_s']:.2f} | {us(e['s_per_computed_run_step'])} | "
                f"{e['GBps']:.1f} | {e['run_over_one_run']:.1f} | {e['cpu_per_wall']:.2f} | "
                f"{e['vs_separate_runs']['max_abs_diff']:.2g}, "
                f"{e['vs_separate_runs']['max_rel_diff']:.2g} |"
            )
    L += [
        "",
        "Proposed default chunks against the current default (run time of the compiled "
        "programs; `state`: `CPU_BATCH_ELEMENTS` counted on the largest carried state array, "
        "balanced; "
        "`state4`: the same with 4× the budget):",
        "",
        "| n | d | algorithm | default chunk | run s | state chunk | run s | gain | state4 chunk "
        "| run s | gain | warm sweep wall s: default | state |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        dflt = r["sweeps"][0]
        cells = []
        for key in ("proposed_chunk", "proposed_chunk_4x"):
            e = next((e for e in r["sweeps"] if e["chunk"] == r[key]), None)
            if e is None:
                cells.append(f"{r[key]} | not run | ")
            else:
                gain = dflt["run_s"] / e["run_s"]
                cells.append(f"{e['chunk']} | {e['run_s']:.3f} | {gain:.2f}×")
        prop = next((e for e in r["sweeps"] if e["chunk"] == r["proposed_chunk"]), None)
        warm = "" if prop is None or "warm" not in prop else f"{prop['warm']['wall_s']:.3f}"
        cells.append(f"{dflt['warm']['wall_s']:.3f} | {warm}")
        L.append(
            f"| {r['n']} | {r['d']} | {r['label']} | {dflt['chunk']} | {dflt['run_s']:.3f} | "
            f"{cells[0]} | {cells[1]} | {cells[2]} |"
        )
    L += ["", "## Where the time goes", ""]
    bw = payload["machine"]["copy_bandwidth"]
    caches = payload["machine"]["caches"]
    L.append(
        "Single-thread copy bandwidth (NumPy, read + write): "
        + ", ".join(f"{fmt_mb(b['working_set_bytes'])} MiB: {b['GBps']:.1f} GB/s" for b in bw)
        + ". Caches per core: "
        + ", ".join(f"{k} {v // 2**10} KiB" for k, v in caches.items())
        + "."
    )
    L.append("")
    L.append(
        "| n | d | algorithm | bytes/step (XLA) | flops/step | µs/step one run | "
        "GB/s one run | best sweep chunk | µs per run-step, best sweep | µs/step at cache "
        "copy BW | at DRAM copy BW | compressor alone: µs/step (share of one run) | "
        "compressor, batched: µs per run-step |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r, bd in zip(results, payload["bounds"], strict=True):
        c = r["step_cost"]
        best = next(e for e in r["sweeps"] if e["chunk"] == r["best_chunk"]["chunk"])
        cc = r.get("compressor_cost")
        comp = (
            ("", "")
            if cc is None
            else (
                f"{us(cc['s_per_step_one_run'])} ({cc['share_of_one_run_step']:.0%})",
                f"{us(cc['s_per_run_step_batched'])} (batch {cc['batch']})",
            )
        )
        L.append(
            f"| {r['n']} | {r['d']} | {r['label']} | {c['bytes_per_step'] / 1e6:.3g} MB | "
            f"{c['flops_per_step']:.3g} | {us(r['one_run']['s_per_step'])} | "
            f"{c['GBps_one_run']:.1f} | {best['chunk']} | {us(best['s_per_computed_run_step'])} | "
            f"{bd['us_per_step_at_cache_bw']:.1f} | {bd['us_per_step_at_dram_bw']:.1f} | "
            f"{comp[0]} | {comp[1]} |"
        )
    fit = payload.get("fit", {})
    if fit:
        L += [
            "",
            "Time per step fitted as `a + b·n·d` over the sizes (one run; and per run-step in "
            "the best sweep chunk: the part of `a` a sweep does not amortize is per-run work, "
            "e.g. PermK's permutation of [d]):",
            "",
        ]
        for alg, f in fit.items():
            fr = ", ".join(f"{k}: {v:.0%}" for k, v in f["fixed_fraction"].items())
            L.append(
                f"- {alg}: a = {us(f['fixed_s_per_step'])} µs fixed per step, "
                f"b = {f['s_per_element_step'] * 1e9:.3g} ns per element-step; "
                f"fixed share {fr}. Best sweep chunk, per run-step: "
                f"a = {us(f['sweep_best_fixed_s_per_run_step'])} µs, "
                f"b = {f['sweep_best_s_per_element_run_step'] * 1e9:.3g} ns"
            )
    L += [
        "",
        f"## Target: a {P}-point sweep ≤ {TARGET_RATIO:g}× one run",
        "",
        "Times per run-step in µs. `needed`: the time per run-step at which the sweep would "
        f"cost {TARGET_RATIO:g} one runs. `floor`: one run's bytes per step (XLA) at the best "
        "measured single-core copy bandwidth, on 1 core / split over all cores. `fixed share`: "
        "the fitted fixed part of one run's step, the most a sweep could amortize; `ideal`: "
        "the ratio if the sweep paid it once and every run's per-element part at one run's "
        "speed on one core.",
        "",
        "| n | d | algorithm | sweep/one (default chunk) | best chunk: run/one | needed | best "
        "achieved | floor: 1 core / all | fixed share | ideal | target met |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r, bd in zip(results, payload["bounds"], strict=True):
        ph = bd["fixed_share_one_run"]
        share = "" if ph is None else f"{ph:.0%}"
        ideal = "" if ph is None else f"{bd['ideal_ratio_1_core']:.1f}"
        L.append(
            f"| {r['n']} | {r['d']} | {r['label']} | {bd['sweep_over_one_run']:.1f} | "
            f"{bd['best_chunk_run_over_one_run']:.1f} | {us(bd['needed_s_per_run_step'])} | "
            f"{us(bd['best_s_per_run_step'])} | {us(bd['floor_s_per_run_step_1_core'])} / "
            f"{us(bd['floor_s_per_run_step_all_cores'])} | {share} | {ideal} | "
            f"{'yes' if bd['target_met'] else 'no'} |"
        )
    proto = payload.get("prototype")
    if proto:
        L += ["", "## Prototype: the sweep's runs split over host CPU devices", ""]
        if "error" in proto:
            L.append(f"failed: `{proto['error'][-300:]}`")
        else:
            L.append(f"Devices: {', '.join(proto['devices'])}.")
            L.append("")
            L.append(
                "| n | d | algorithm | 1 device: cold s | warm s | cpu/wall | k devices: cold s "
                "| warm s | cpu/wall | speed-up (warm) | max diff (abs, rel, mismatches) |"
            )
            L.append("|---|---|---|---|---|---|---|---|---|---|---|")
            for c in proto["cases"]:
                one, many, v = c["one_device"], c["split"], c["vs_one_device"]
                L.append(
                    f"| {c['n']} | {c['d']} | {c['label']} | {one['wall_s_cold']:.2f} | "
                    f"{one['wall_s']:.2f} | {one['cpu_per_wall']:.2f} | "
                    f"{many['wall_s_cold']:.2f} | {many['wall_s']:.2f} | "
                    f"{many['cpu_per_wall']:.2f} | {c['speedup']:.2f} | "
                    f"{v['max_abs_diff']:.2g}, {v['max_rel_diff']:.2g}, "
                    f"{v['nonfinite_or_flag_mismatches']} |"
                )
    L += ["", f"Total benchmark time: {payload['total_s']:.0f} s.", ""]
    return "\n".join(L)


# --------------------------------------------------------------------------- main
def parse_sizes(text):
    out = []
    for part in text.split(","):
        n, d = part.lower().split("x")
        out.append((int(n), int(d)))
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=None, help="comma list of NxD (default 10x300,...)")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default 100)")
    ap.add_argument("--log-every", type=int, default=None, help="default steps // 20")
    ap.add_argument("--chunks", type=int, default=1, help="host chunks per run (default 1)")
    ap.add_argument("--algs", default="marina-p,gd,marina")
    ap.add_argument(
        "--batch-chunks",
        default="default,balanced,state,state4,all,4,16",
        help="for the first algorithm",
    )
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--prototype-devices", type=int, default=None, help="0: skip (default 2)")
    ap.add_argument("--prototype-sizes", default=None, help="default: the largest size")
    ap.add_argument("--smoke", action="store_true", help="tiny, a few seconds")
    ap.add_argument("--out", default=RESULTS_DIR)
    ap.add_argument("--prototype-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.smoke:
        args.sizes = args.sizes or "4x32"
        if args.algs == ap.get_default("algs"):
            args.algs = "marina-p"
        args.steps = args.steps or 20
        args.exponents, args.seeds = SMOKE_EXPONENTS, SMOKE_SEEDS
        if args.batch_chunks == ap.get_default("batch_chunks"):
            args.batch_chunks = "default"
        if args.prototype_devices is None:
            args.prototype_devices = 0
    else:
        args.exponents, args.seeds = EXPONENTS, SEEDS
    args.sizes = parse_sizes(args.sizes or "10x300,100x300,1000x300")
    args.steps = args.steps or 100
    args.log_every = args.log_every or max(1, args.steps // 20)
    args.algs = [a.strip() for a in args.algs.split(",") if a.strip()]
    args.batch_chunks = [s.strip() for s in args.batch_chunks.split(",") if s.strip()]
    if args.prototype_devices is None:
        args.prototype_devices = 2
    if args.prototype_sizes:
        args.proto_sizes = parse_sizes(args.prototype_sizes)
    else:
        args.proto_sizes = [max(args.sizes, key=lambda s: s[0] * s[1])]
    if args.prototype_child:
        args.proto_sizes = args.sizes
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.prototype_child:
        print(json.dumps(prototype_child(args)))
        return None
    t_start = time.perf_counter()
    B = len(args.exponents) * len(args.seeds)
    results = []
    for n, d in args.sizes:
        for i, alg in enumerate(args.algs):
            specs = args.batch_chunks if i == 0 else ["default", "state", "state4", "all"]
            results.append(bench_case(n, d, alg, specs, args))
    machine = {
        "caches": cache_sizes(),
        "copy_bandwidth": (
            memory_bandwidth([2**17, 2**23], budget_s=0.02)
            if args.smoke
            else memory_bandwidth([2**18, 2**20, 2**23, 2**28])
        ),
    }
    proto = run_prototype(args) if args.prototype_devices > 1 else None
    payload = {
        "benchmark": "sweep",
        "command": " ".join(["python", "benchmarks/bench_sweep.py", *argv]),
        "env": environment(),
        "config": {
            "sizes": [list(s) for s in args.sizes],
            "algs": args.algs,
            "steps": args.steps,
            "log_every": args.log_every,
            "chunks": args.chunks,
            "dtype": args.dtype,
            "exponents": list(args.exponents),
            "seeds": list(args.seeds),
            "points": B,
            "batch_chunks": args.batch_chunks,
            "cpu_batch_elements": CPU_BATCH_ELEMENTS,
            "smoke": args.smoke,
        },
        "machine": machine,
        "results": results,
        "fit": fit_fixed_cost(results),
        "prototype": proto,
    }
    payload["bounds"] = bounds(results, payload["fit"], machine)
    payload["total_s"] = time.perf_counter() - t_start
    md = markdown(payload)
    print(md)
    path = save_json("sweep.json", payload, args.out)
    md_path = os.path.join(args.out, "sweep.md")
    with open(md_path + ".tmp", "w") as f:
        f.write(md + "\n")
    os.replace(md_path + ".tmp", md_path)
    print(f"saved {path}", file=sys.stderr)
    return payload


if __name__ == "__main__":
    main()
