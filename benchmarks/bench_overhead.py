"""Overhead of compression: every algorithm × compressor step against jcomp's plain GD step,
compile time per algorithm, and a no-recompilation check.

Problem: the seed 004 quadratic ``marina_p_quadratic(n, d)`` (``A_i = c_i·tridiag(−1, 2, −1)``,
O(nd) memory), from ``x⁰ = 0``. Every registered algorithm is paired with the compressors its
requirement admits (unbiased: RandK, PermK, natural, QSGD dithering (s = 4), Bernoulli;
contractive: TopK, biased Bernoulli; linear: SameRandK, CORE, Gaussian sketch; CQ for MARINA,
SameRandK for MARINA-P; K = max(1, ⌊d/n⌋), Bernoulli p = K/d) and with the identity compressor,
built with its registry ``theory(problem, compressor)`` parameters. Pairs a requirement forbids
are listed as skipped with the reason; so are DCGD+ / DIANA+, which need the dense smoothness
matrices L_i^{±1/2} (n·d² floats, an O(n·d²) step) and run only where n·d² ≤ ``--max-dense``.

Timing. One ``jcomp.run(alg, problem, x0, key=0, steps=k·m, log_every=m, chunks=k,
divergence=None)`` per pair: the host calls the compiled chunk of m steps k times (default
k = 4) and records the time at the end of each chunk (``trace.wall_time``). The first chunk
also pays the first call's costs (the jitted driver is traced again, buffers are touched for
the first time) and is not timed; µs/step = median over the other chunks of (chunk time − the
driver's fixed cost per chunk) / m, where that cost is measured once per size (GD with one step
per chunk, ~0.7 ms here). m is chosen by size (10 steps at n·d = 10⁶, 33 at 3·10⁵; GD, whose
step is O(d), 10⁴). Compile time is ``trace.meta["compile_time_s"]`` of that run (cold: a
configured persistent compilation cache is switched off unless ``--keep-cache``).
No recompilation: for each algorithm's default pair (RandK / TopK / SameRandK, PermK for
MARINA-P and M3, CORE for CORE-GD; every pair with ``--check-all``) a second run with half the
step size and a new seed must neither compile (``jax.monitoring`` backend-compile events) nor
grow ``jcomp.run.compile_cache_size()``; its chunks are timed too.

Three ratios per pair (same problem, dtype and process):

* ``ratio_gd``: to jcomp's ``gd`` step, the issue's reference (target ≤ 3×). GD uses the
  problem's closed-form mean gradient (``problem.grad``, O(d)), while every method whose workers
  use their own gradients or states touches n·d numbers per step;
* ``ratio_floor``: to ``dcgd`` + ``identity`` (the n worker gradients, averaged: O(n·d)), the
  floor of any method in which the workers compute and send their own vectors;
* ``ratio_alg_identity``: to the same algorithm with the identity compressor (the cost of the
  compressor itself inside that algorithm).

Profile (default on): the compressors of pairs over 3× the floor, alone on the (n, d) worker
gradients (jitted): time, compile time, 32-bit random words drawn (from the jaxpr), sorts /
while loops / scatters / custom calls (TopK) in the compiled HLO; and reference kernels of the
same size (one elementwise pass, the worker gradients, per-worker uniforms for n·d entries as
``lift_independent`` draws them, a sort of d keys, a row-wise top-k).

    python benchmarks/bench_overhead.py [--n 100 --d 10000 | --sizes 100x10000,1000x300]
        [--steps M] [--chunks 4] [--dtype float32[,float64]] [--only alg,alg]
        [--compressors label,label] [--check-all] [--no-profile] [--smoke] [--out DIR]
        [--name STEM]

Default: n = 100, d = 10⁴, float32 (what users run at scale), ~98 pairs, about 5 minutes on a
quiet 2-core CPU (mostly compile time); each further size or dtype adds about as much
(``--sizes 100x10000,1000x300``, ``--dtype float32,float64``: float64 runs after float32 with
x64 switched on). Prints markdown tables and writes ``STEM.json`` and ``STEM.md`` under
``--out`` (default ``benchmarks/results/``, STEM ``overhead``); ``--smoke`` (n = 4, d = 50,
GD, DCGD + identity, MARINA-P, EF21-P, a few steps, a few seconds) writes
``overhead_smoke.{json,md}``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common  # noqa: E402

import jcomp  # noqa: E402
from jcomp.algorithms import get as get_algorithm  # noqa: E402
from jcomp.algorithms import names as algorithm_names  # noqa: E402
from jcomp.compressors import (  # noqa: E402
    bernoulli,
    core,
    cq,
    dithering,
    identity,
    natural,
    perm_k,
    rand_k,
    same_rand_k,
    sketch,
    top_k,
)
from jcomp.problems import marina_p_quadratic  # noqa: E402
from jcomp.run import compile_cache_size  # noqa: E402

#: Compressors tried with each requirement (labels of :func:`make_compressor`).
MENU = {
    "unbiased": ("identity", "rand_k", "perm_k", "natural", "dithering", "bernoulli"),
    "contractive": ("identity", "top_k", "bernoulli"),
    "any": ("identity", "rand_k", "perm_k", "top_k", "natural", "dithering", "bernoulli"),
    "linear-unbiased": ("identity", "same_rand_k", "core", "sketch"),
    "linear-contractive": ("identity", "same_rand_k", "sketch"),
    None: ("none",),
}
#: Extra pairs beyond the requirement's menu.
EXTRA = {"marina": ("cq",), "marina-p": ("same_rand_k",)}
#: Smoothness-aware methods: their own per-worker compressors (built from the problem).
SMOOTHNESS_AWARE = {"dcgd+": ("quant_plus", "rand_tau_plus"), "diana+": ("quant_plus",)}
#: The compressor whose compile time is reported as the algorithm's.
DEFAULT_COMPRESSOR = {
    "unbiased": "rand_k",
    "contractive": "top_k",
    "any": "rand_k",
    "linear-unbiased": "same_rand_k",
    "linear-contractive": "same_rand_k",
    None: "none",
}
DEFAULT_OVERRIDE = {"marina-p": "perm_k", "m3": "perm_k", "core-gd": "core"}
#: Compressors checked against the requirement when listing skipped pairs.
STANDARD = ("rand_k", "perm_k", "top_k", "natural", "dithering", "bernoulli", "core", "cq")
#: Levels of the QSGD dithering.
DITHER_S = 4
#: Largest n·d² for the dense smoothness matrices of DCGD+ / DIANA+.
MAX_DENSE = 1 << 25
#: The issue's targets: every compressed step within this factor of GD (flagged in the tables
#: against the floor too), and compile time per algorithm.
TARGET_RATIO = 3.0
TARGET_COMPILE_S = 3.0
FLOOR = ("dcgd", "identity")
SMOKE_ALGORITHMS = ("gd", "marina-p", "ef21-p")
SMOKE_PAIRS = (("marina-p", "perm_k"), ("ef21-p", "top_k"))
#: GD's step is O(d): its chunks run this many steps, so that they are not dominated by the
#: driver's fixed cost per chunk (``chunk_overhead_us`` in the results).
GD_MIN_STEPS = 10_000


# --------------------------------------------------------------------------- compile counter
class CompileCounter:
    """Counts XLA backend compilations (``jax.monitoring``), to prove that a run reused its
    compiled program."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event, duration, **kwargs):
        if event.endswith("backend_compile_duration"):
            self.count += 1
            self.seconds += float(duration)


# --------------------------------------------------------------------------- pairs
def _wants_unbiased(requirement) -> bool:
    return requirement in ("unbiased", "linear-unbiased", "any")


def make_compressor(label: str, requirement, problem):
    """The compressor ``label`` in the variant the requirement asks for (Bernoulli, SameRandK
    and the sketch come as unbiased or as contractive forms)."""
    n, d = problem.n, problem.d
    k = max(1, d // n)
    unb = _wants_unbiased(requirement)
    if label == "none":
        return None
    if label == "identity":
        return identity()
    if label == "rand_k":
        return rand_k(k)
    if label == "perm_k":
        return perm_k()
    if label == "top_k":
        return top_k(k)
    if label == "natural":
        return natural()
    if label == "dithering":
        return dithering(DITHER_S)
    if label == "bernoulli":
        return bernoulli(k / d, unbiased=unb)
    if label == "same_rand_k":
        return same_rand_k(k, scaled=unb)
    if label == "core":
        return core(k)
    if label == "sketch":
        return sketch(k, unbiased=unb)
    if label == "cq":
        return cq()
    if label in ("quant_plus", "rand_tau_plus"):
        from jcomp.algorithms import quant_plus, rand_tau_plus

        method = "dcgd+" if requirement is None else requirement
        return (quant_plus if label == "quant_plus" else rand_tau_plus)(problem, method)
    raise ValueError(f"unknown compressor label {label!r}")


def _meets(requirement, comp, d) -> str | None:
    """``None`` if ``comp`` meets the requirement, else why not."""
    unb = bool(comp.unbiased)
    contr = comp.delta(d) is not None
    lin = bool(comp.linear_shared)
    ok = {
        "unbiased": unb,
        "contractive": contr,
        "any": True,
        "linear-unbiased": lin and unb,
        "linear-contractive": lin and contr,
    }[requirement]
    if ok:
        return None
    what = {
        "unbiased": "an unbiased compressor (U(ω))",
        "contractive": "a contractive compressor (B(δ))",
        "linear-unbiased": "one shared linear unbiased map per step",
        "linear-contractive": "one shared linear contractive map per step",
    }[requirement]
    return f"requirement: needs {what}"


def plan(names, problem):
    """``(pairs, skipped)``: pairs ``(algorithm, label)`` to run, and ``{algorithm, compressor,
    reason}`` for the standard compressors an algorithm cannot take."""
    n, d = problem.n, problem.d
    pairs, skipped = [], []
    for name in names:
        req = get_algorithm(name).compressor
        if name in SMOOTHNESS_AWARE:
            labels = SMOOTHNESS_AWARE[name]
            if n * d * d > MAX_DENSE:
                for lab in labels:
                    skipped.append(
                        {
                            "algorithm": name,
                            "compressor": lab,
                            "reason": (
                                f"needs the dense smoothness matrices L_i^(±1/2): n·d² = "
                                f"{n * d * d:.3g} floats per array (limit --max-dense "
                                f"{MAX_DENSE:.3g}), and an O(n·d²) step"
                            ),
                        }
                    )
                continue
            pairs += [(name, lab) for lab in ("identity", *labels)]
            continue
        labels = list(MENU[req]) + [c for c in EXTRA.get(name, ()) if c not in MENU[req]]
        pairs += [(name, lab) for lab in labels]
        if req is None:
            continue
        for lab in STANDARD:
            if lab in labels:
                continue
            why = _meets(req, make_compressor(lab, req, problem), d)
            if why is not None:
                skipped.append({"algorithm": name, "compressor": lab, "reason": why})
    return pairs, skipped


# --------------------------------------------------------------------------- measurement
def _params_json(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if v is None or isinstance(v, (str, bool)):
            out[k] = v
        elif hasattr(v, "describe"):
            out[k] = v.describe()
        elif np.ndim(v) == 0:
            out[k] = float(v)
        else:
            out[k] = f"array{tuple(np.shape(v))}"
    return out


def theory(entry, comp, problem) -> tuple[dict, str | None]:
    """The registry's theory parameters; where the theory needs a data-independent expected
    cost that the compressor lacks (QSGD dithering with MARINA's p*), p = 1/(1 + ω) instead."""
    try:
        return entry.theory_params(problem, comp), None
    except NotImplementedError as e:
        if "p" not in entry.params:
            raise
        p = 1.0 / (1.0 + comp.omega(problem.d, problem.n))
        note = f"theory p* needs expected_cost ({str(e).split(':')[0]}): p = 1/(1+ω) = {p:.4g}"
        return entry.theory_params(problem, comp, p=p), note


def _chunk_times(trace) -> np.ndarray:
    """Wall time of each compiled chunk of a run (s): the host records the time at the end of
    every chunk (``trace.wall_time``, one log row per chunk here)."""
    return np.diff(np.asarray(trace.wall_time))


def measure(entry, comp, problem, x0, m, k, overhead_s, counter, recheck) -> dict:
    """One run of ``k`` chunks of ``m`` steps (one log row per chunk). The first chunk also
    pays the first call's costs (tracing the jitted driver again, first touch of the buffers)
    and is not timed; the other chunks are, net of the driver's fixed cost per chunk
    ``overhead_s``. With ``recheck``, a second run with half the step size and a new seed
    must reuse the compiled program (no backend compile, no new cache entry); its chunks are
    timed too."""
    t0 = time.perf_counter()
    params, note = theory(entry, comp, problem)
    theory_s = time.perf_counter() - t0
    kw = dict(steps=m * k, log_every=m, chunks=k, divergence=None, progress=False)
    tr = jcomp.run(entry.make(comp, **params), problem, x0, key=0, **kw)
    compile_s = tr.meta["compile_time_s"]
    chunks = _chunk_times(tr)
    samples = list(chunks[1:])
    diverged = bool(np.any(tr.diverged))
    new_compiles = cache_growth = None
    if recheck:
        compiles0, cache0 = counter.count, compile_cache_size()
        alg = entry.make(comp, **{**params, "step_size": params["step_size"] * 0.5})
        tr = jcomp.run(alg, problem, x0, key=1, **kw)
        new_compiles = counter.count - compiles0
        cache_growth = compile_cache_size() - cache0
        samples += list(_chunk_times(tr))
        diverged |= bool(np.any(tr.diverged))
    chunk = float(np.median(samples))
    # a chunk hardly longer than the driver's own cost cannot be corrected: report it raw
    dominated = chunk - overhead_s < 0.25 * chunk
    per_step = (chunk if dominated else chunk - overhead_s) / m
    return {
        "us_per_step": per_step * 1e6,
        "us_per_step_raw": chunk / m * 1e6,
        "driver_dominated": dominated,
        "us_per_chunk": [t * 1e6 for t in samples],
        "us_first_chunk": float(chunks[0]) * 1e6,
        "compile_s": compile_s,
        "theory_s": theory_s,
        "steps_per_chunk": m,
        "chunks": k,
        "recompile_checked": recheck,
        "recompiles": new_compiles,
        "cache_growth": cache_growth,
        "recompiled": bool(new_compiles or cache_growth) if recheck else None,
        "diverged": diverged,
        "params": _params_json(params),
        "note": note,
    }


def build_problem(n, d, dtype):
    """The seed 004 quadratic in ``dtype`` (x64 is switched on for float64 only)."""
    jax.config.update("jax_enable_x64", dtype == "float64")
    problem = marina_p_quadratic(n, d, seed=0)
    if problem.b.dtype != jnp.dtype(dtype):
        problem = jax.tree.map(
            lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, problem
        )
    return problem, jnp.zeros(d, dtype)


def default_steps(n, d) -> int:
    """Steps per chunk: about 10⁷ n·d-element updates (10 steps at n·d = 10⁶, 33 at 3·10⁵),
    chunks of ≥ 10 ms for the cheapest O(n·d) step against a driver cost of ≲ 1 ms per chunk
    (measured and subtracted)."""
    return int(max(4, min(1000, round(1e7 / (n * d)))))


def chunk_overhead(problem, x0) -> float:
    """The driver's fixed cost per compiled chunk (s): GD with one step per chunk (one O(d)
    step plus the chunk's call, its log row and the host's bookkeeping); median of 5 chunks
    after the first."""
    alg = jcomp.algorithms.gd(float(get_algorithm("gd").theory(problem)["step_size"]))
    tr = jcomp.run(alg, problem, x0, key=0, steps=6, log_every=1, chunks=6, progress=False)
    return float(np.median(_chunk_times(tr)[1:]))


# --------------------------------------------------------------------------- profiling
_HLO_OPS = ("sort", "custom-call", "while", "scatter", "gather", "conditional", "dot")


def random_words(closed_jaxpr) -> int:
    """32-bit random words drawn by a jaxpr (``random_bits`` outputs, scan bodies × length)."""

    def walk(jaxpr, mult):
        total = 0
        for eqn in jaxpr.eqns:
            prim = eqn.primitive.name
            if prim in ("random_bits", "threefry2x32"):
                for v in eqn.outvars:
                    bits = eqn.params.get("bit_width", 32)
                    total += mult * math.prod(v.aval.shape) * max(1, bits // 32)
            inner_mult = mult * (eqn.params.get("length", 1) if prim == "scan" else 1)
            for p in eqn.params.values():
                subs = p if isinstance(p, (tuple, list)) else (p,)
                for s in subs:
                    j = getattr(s, "jaxpr", s)
                    if hasattr(j, "eqns"):
                        total += walk(j, inner_mult)
        return total

    return walk(closed_jaxpr.jaxpr, 1)


def hlo_census(compiled_text: str) -> dict:
    """Counts of the ops that cost on CPU, plus custom-call targets (TopK, ...)."""
    out = {op: len(re.findall(rf"\s{re.escape(op)}\(", compiled_text)) for op in _HLO_OPS}
    out["custom_call_targets"] = sorted(
        set(re.findall(r'custom_call_target="([^"]+)"', compiled_text))
    )
    return out


def _time_jit(fn, *args, repeat=7, budget_s=5.0):
    f = jax.jit(fn)
    t0 = time.perf_counter()
    compiled = f.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    med, calls = _common.median_time(
        lambda: _common.block(compiled(*args)), repeat=repeat, budget_s=budget_s
    )
    return med, compile_s, compiled


def profile(comps: dict, problem, x0, full: bool = True) -> dict:
    """Each compressor alone on the workers' gradients at x⁰ (an (n, d) batch) and reference
    kernels of the same size (``full=False``: only the first two)."""
    n, d = problem.n, problem.d
    X = problem.worker_grads(problem.broadcast(x0))
    key = jax.random.key(0)

    def uniforms(k):  # what lift_independent draws for an elementwise quantizer
        ks = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(k, jnp.arange(n))
        return jax.vmap(lambda kk: jax.random.uniform(kk, (d,), X.dtype))(ks)

    kernels = {
        "elementwise_pass_us": (lambda X: X * 2.0 + 1.0, X),
        "per_worker_uniforms_nd_us": (uniforms, key),
        "worker_grads_us": (lambda x: problem.worker_grads(problem.broadcast(x)), x0),
        "bits_nd_us": (lambda k: jax.random.bits(k, (n, d), jnp.uint32), key),
        "sort_d_uint32_us": (lambda k: jnp.sort(jax.random.bits(k, (d,), jnp.uint32)), key),
        "top_k_rows_us": (lambda X: jax.lax.top_k(jnp.abs(X), max(1, d // n))[1], X),
    }
    ref = {}
    for name, (fn, arg) in list(kernels.items())[: None if full else 2]:
        ref[name] = _time_jit(fn, arg)[0] * 1e6
    out = {"reference": ref, "compressors": {}}
    for label, comp in comps.items():
        fn = lambda k, X, c=comp: c(k, X)
        t, compile_s, compiled = _time_jit(fn, key, X)
        words = random_words(jax.make_jaxpr(fn)(key, X))
        out["compressors"][label] = {
            "describe": comp.describe(),
            "us": t * 1e6,
            "compile_s": compile_s,
            "random_words": words,
            "random_words_per_entry": words / (n * d),
            "hlo": hlo_census(compiled.as_text()),
        }
    return out


# --------------------------------------------------------------------------- driver
def default_pair(name) -> str:
    """The compressor whose compile time is reported as the algorithm's."""
    if name in SMOOTHNESS_AWARE:
        return SMOOTHNESS_AWARE[name][0]
    return DEFAULT_OVERRIDE.get(name, DEFAULT_COMPRESSOR[get_algorithm(name).compressor])


def run_size(n, d, dtype, names, floor_only, args, counter, log) -> dict:
    t_size = time.perf_counter()
    problem, x0 = build_problem(n, d, dtype)
    m = args.steps or default_steps(n, d)
    m_gd = max(m, GD_MIN_STEPS)
    overhead_s = chunk_overhead(problem, x0)
    pairs, skipped = plan(names, problem)
    if args.smoke:
        pairs, skipped = [p for p in pairs if p in SMOKE_PAIRS], []
    if args.compressors:
        keep = set(args.compressors.split(",")) | {"none"}
        pairs = [p for p in pairs if p[1] in keep]
        skipped = [s for s in skipped if s["compressor"] in keep]
    if floor_only:  # DCGD is here only as the floor
        pairs = [p for p in pairs if p[0] != FLOOR[0]]
        skipped = [s for s in skipped if s["algorithm"] != FLOOR[0]]
    # the references first: GD and the floor (DCGD + identity)
    order = [("gd", "none"), FLOOR] + [p for p in pairs if p not in (("gd", "none"), FLOOR)]
    results = []
    for i, (name, label) in enumerate(order):
        entry = get_algorithm(name)
        req = name if name in SMOOTHNESS_AWARE else entry.compressor
        row = {"algorithm": name, "compressor": label}
        try:
            comp = make_compressor(label, req, problem)
            row["compressor_params"] = comp.describe() if comp is not None else None
            recheck = args.check_all or label == default_pair(name) or (name, label) == FLOOR
            row |= measure(
                entry,
                comp,
                problem,
                x0,
                m_gd if name == "gd" else m,
                args.chunks,
                overhead_s,
                counter,
                recheck,
            )
        except (ValueError, TypeError, NotImplementedError) as e:
            skipped.append(
                {"algorithm": name, "compressor": label, "reason": f"{type(e).__name__}: {e}"}
            )
            log(f"  [{i + 1}/{len(order)}] {name} + {label}: skipped ({type(e).__name__}: {e})")
            continue
        results.append(row)
        log(
            f"  [{i + 1}/{len(order)}] {name} + {label}: {row['us_per_step']:.1f} us/step, "
            f"compile {row['compile_s']:.2f}s  ({time.perf_counter() - t_size:.0f}s)"
        )
    by = {(r["algorithm"], r["compressor"]): r for r in results}
    gd_us = by[("gd", "none")]["us_per_step"]
    floor_us = by[FLOOR]["us_per_step"] if FLOOR in by else None
    for r in results:
        r["ratio_gd"] = r["us_per_step"] / gd_us
        r["ratio_floor"] = r["us_per_step"] / floor_us if floor_us else None
        ident = by.get((r["algorithm"], "identity"))
        r["ratio_alg_identity"] = r["us_per_step"] / ident["us_per_step"] if ident else None
        r["within_target_gd"] = r["ratio_gd"] <= TARGET_RATIO
        r["within_target_floor"] = (
            r["ratio_floor"] <= TARGET_RATIO if r["ratio_floor"] is not None else None
        )
    per_alg = {}
    for name in names:
        rows = [r for r in results if r["algorithm"] == name]
        if not rows:
            continue
        r = next((r for r in rows if r["compressor"] == default_pair(name)), rows[0])
        per_alg[name] = {
            "compressor": r["compressor"],
            "compile_s": r["compile_s"],
            "max_compile_s": max(x["compile_s"] for x in rows),
            "recompile_checked": [x["compressor"] for x in rows if x["recompile_checked"]],
            "recompiled": any(bool(x["recompiled"]) for x in rows),
            "within_target": r["compile_s"] <= TARGET_COMPILE_S,
        }
    block = {
        "n": n,
        "d": d,
        "dtype": dtype,
        "k": max(1, d // n),
        "steps_per_chunk": m,
        "gd_steps_per_chunk": m_gd,
        "chunks": args.chunks,
        "chunk_overhead_us": overhead_s * 1e6,
        "gd_us_per_step": gd_us,
        "floor": f"{FLOOR[0]} + {FLOOR[1]}",
        "floor_us_per_step": floor_us,
        "pairs": results,
        "skipped": skipped,
        "compile_per_algorithm": per_alg,
        "wall_s": None,
    }
    if args.profile and floor_us:
        over = [r for r in results if r["ratio_floor"] and r["ratio_floor"] > TARGET_RATIO]
        labels = sorted({r["compressor"] for r in over} - {"none", "identity"})
        if args.smoke:  # exercise the profiler on the slowest compressor
            worst = max(
                (r for r in results if r["compressor"] not in ("none", "identity")),
                key=lambda r: r["ratio_floor"],
            )
            over, labels = [worst], [worst["compressor"]]
        comps = {}
        for r in over:
            if r["compressor"] in labels and r["compressor"] not in comps:
                entry = get_algorithm(r["algorithm"])
                req = entry.compressor if r["algorithm"] not in SMOOTHNESS_AWARE else r["algorithm"]
                comps[r["compressor"]] = make_compressor(r["compressor"], req, problem)
        log(f"  profiling {len(comps)} compressors: {', '.join(comps)}")
        block["profile"] = profile(comps, problem, x0, full=not args.smoke)
        block["profile"]["floor_us_per_step"] = floor_us
        block["profile"]["gd_us_per_step"] = gd_us
    block["wall_s"] = time.perf_counter() - t_size
    return block


def _fmt(v, spec=".2f"):
    return "—" if v is None else format(v, spec)


def markdown(payload: dict) -> str:
    env = payload["env"]
    lines = [
        "# Overhead of compression (`benchmarks/bench_overhead.py`)",
        "",
        f"`{payload['command']}`  ",
        f"{env['cpu']} ({env['cpu_count']} cores), {env['devices'][0]}, jax {env['jax']}, "
        f"{env['date']}; total {payload['wall_s']:.0f} s.",
        "",
        "µs/step: median over the timed chunks of a run (the first chunk of a run is not "
        "timed), net of the driver's cost per chunk, per step; compile excluded. "
        "× GD: to jcomp's `gd` "
        "(closed-form mean gradient, O(d)). × floor: to `dcgd` + `identity` (the n worker "
        "gradients, averaged: O(n·d)). × id: to the same algorithm with the identity compressor "
        f"(the compressor's own cost). Target: ≤ {TARGET_RATIO:g}× GD, compile ≤ "
        f"{TARGET_COMPILE_S:g} s.",
    ]
    for b in payload["results"]:
        lines += [
            "",
            f"## n = {b['n']}, d = {b['d']}, {b['dtype']} (K = {b['k']}; {b['chunks']} chunks of "
            f"{b['steps_per_chunk']} steps, GD {b['gd_steps_per_chunk']}; driver cost "
            f"{b['chunk_overhead_us']:.0f} µs per chunk, subtracted)",
            "",
            f"GD: {b['gd_us_per_step']:.1f} µs/step; floor ({b['floor']}): "
            f"{_fmt(b['floor_us_per_step'], '.1f')} µs/step.",
            "",
            "| algorithm | compressor | µs/step | × GD | × floor | × id | compile s | recompiled |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in b["pairs"]:
            flag = " ⚠" if r["ratio_floor"] and r["ratio_floor"] > TARGET_RATIO else ""
            lines.append(
                f"| {r['algorithm']} | {r['compressor']} | {r['us_per_step']:.1f} | "
                f"{r['ratio_gd']:.1f} | {_fmt(r['ratio_floor'])}{flag} | "
                f"{_fmt(r['ratio_alg_identity'])} | {r['compile_s']:.2f} | "
                f"{'yes' if r['recompiled'] else 'no'} |"
            )
        lines += [
            "",
            "Compile time per algorithm (its default compressor; max over its pairs):",
            "",
            "| algorithm | compressor | compile s | max s | ≤ 3 s | recompiled |",
            "|---|---|---:|---:|---|---|",
        ]
        for name, c in b["compile_per_algorithm"].items():
            lines.append(
                f"| {name} | {c['compressor']} | {c['compile_s']:.2f} | {c['max_compile_s']:.2f} "
                f"| {'yes' if c['within_target'] else 'no'} | "
                f"{'yes' if c['recompiled'] else 'no'} |"
            )
        if b["skipped"]:
            lines += ["", "Skipped pairs:", ""]
            lines += [
                f"- {s['algorithm']} + {s['compressor']}: {s['reason']}" for s in b["skipped"]
            ]
        prof = b.get("profile")
        if prof:
            ref = prof["reference"]
            lines += [
                "",
                "Profile (compressor alone on the (n, d) worker gradients, jitted):",
                "",
                "reference kernels: "
                + ", ".join(f"{k.removesuffix('_us')} {v:.0f} µs" for k, v in ref.items()),
                "",
                "| compressor | µs | × floor step | random words / entry | sort | while | "
                "scatter | custom calls |",
                "|---|---:|---:|---:|---:|---:|---:|---|",
            ]
            for lab, c in prof["compressors"].items():
                h = c["hlo"]
                lines.append(
                    f"| {lab} | {c['us']:.0f} | {c['us'] / prof['floor_us_per_step']:.2f} | "
                    f"{c['random_words_per_entry']:.3g} | {h['sort']} | {h['while']} | "
                    f"{h['scatter']} | {', '.join(h['custom_call_targets']) or '—'} |"
                )
    return "\n".join(lines) + "\n"


def parse_sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        n, d = part.lower().split("x")
        out.append((int(n), int(d)))
    return out


def main(argv=None) -> dict:
    global MAX_DENSE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="workers (one size with --d)")
    ap.add_argument("--d", type=int, default=None, help="dimension (one size with --n)")
    ap.add_argument("--sizes", default="100x10000", help="NxD,NxD,... (e.g. 100x10000,1000x300)")
    ap.add_argument("--name", default=None, help="output stem (default overhead / overhead_smoke)")
    ap.add_argument("--steps", type=int, default=None, help="steps per chunk (default: by size)")
    ap.add_argument("--chunks", type=int, default=4, help="chunks per run (the first untimed)")
    ap.add_argument(
        "--check-all",
        action="store_true",
        help="check no-recompilation on every pair (default: each algorithm's default pair)",
    )
    ap.add_argument("--dtype", default="float32", help="float32, float64 or both (comma)")
    ap.add_argument("--only", default=None, help="algorithms, comma separated")
    ap.add_argument("--compressors", default=None, help="only these compressor labels")
    ap.add_argument("--no-profile", dest="profile", action="store_false")
    ap.add_argument("--max-dense", type=float, default=MAX_DENSE)
    ap.add_argument(
        "--keep-cache",
        action="store_true",
        help="keep JAX's persistent compilation cache if one is configured (default: off)",
    )
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", default=_common.RESULTS_DIR)
    args = ap.parse_args(argv)
    MAX_DENSE = args.max_dense
    if args.smoke:
        sizes = [(args.n or 4, args.d or 50)]
        args.steps = args.steps or 5
        args.chunks = min(args.chunks, 3)
    elif args.n is not None or args.d is not None:
        sizes = [(args.n or 100, args.d or 10000)]
    else:
        sizes = parse_sizes(args.sizes)
    dtypes = [t.strip() for t in args.dtype.split(",")]
    for t in dtypes:
        if t not in ("float32", "float64"):
            raise SystemExit(f"--dtype {t!r}: expected float32 or float64")
    dtypes.sort(key=lambda t: t != "float32")  # float32 first, then switch x64 on
    if args.smoke:
        names = list(SMOKE_ALGORITHMS)
    elif args.only:
        names = [get_algorithm(a).name for a in args.only.split(",")]
    else:
        names = list(algorithm_names())
    floor_only = FLOOR[0] not in names
    for must in ("gd", FLOOR[0]):  # the references
        if must not in names:
            names.insert(0, must)

    # compile times are measured cold: a persistent compilation cache would serve programs
    # compiled by an earlier process
    cache_dir = jax.config.jax_compilation_cache_dir
    if cache_dir and not args.keep_cache:
        jax.config.update("jax_enable_compilation_cache", False)
    counter = CompileCounter()
    log = lambda msg: print(msg, flush=True)
    t0 = time.perf_counter()
    # warm-up compile, so that the first measured pair does not pay JAX's one-off start-up
    if not args.smoke:
        wp, wx = build_problem(2, 8, dtypes[0])
        jcomp.run(jcomp.algorithms.gd(0.1), wp, wx, key=0, steps=2, log_every=2, progress=False)
    results = []
    for dtype in dtypes:
        for n, d in sizes:
            log(f"n={n}, d={d}, {dtype}:")
            results.append(run_size(n, d, dtype, names, floor_only, args, counter, log))
    wall = time.perf_counter() - t0
    jax.config.update("jax_enable_x64", False)
    all_pairs = [
        {"n": b["n"], "d": b["d"], "dtype": b["dtype"], **r} for b in results for r in b["pairs"]
    ]
    summary = {
        "pairs": len(all_pairs),
        "over_target_gd": [
            f"{p['algorithm']}+{p['compressor']}@{p['n']}x{p['d']}/{p['dtype']}: "
            f"{p['ratio_gd']:.1f}x"
            for p in all_pairs
            if not p["within_target_gd"]
        ],
        "over_target_floor": [
            f"{p['algorithm']}+{p['compressor']}@{p['n']}x{p['d']}/{p['dtype']}: "
            f"{p['ratio_floor']:.1f}x"
            for p in all_pairs
            if p["within_target_floor"] is False
        ],
        "compile_over_target": sorted(
            {
                f"{name}@{b['n']}x{b['d']}/{b['dtype']}: {c['compile_s']:.2f}s"
                for b in results
                for name, c in b["compile_per_algorithm"].items()
                if not c["within_target"]
            }
        ),
        "recompiled": [f"{p['algorithm']}+{p['compressor']}" for p in all_pairs if p["recompiled"]],
        "backend_compiles": counter.count,
        "backend_compile_s": counter.seconds,
    }
    cmd = "python benchmarks/bench_overhead.py" + (
        " " + shlex.join(sys.argv[1:] if argv is None else argv)
        if (sys.argv[1:] if argv is None else argv)
        else ""
    )
    payload = {
        "benchmark": "overhead",
        "command": cmd,
        "config": {
            "sizes": sizes,
            "dtypes": dtypes,
            "chunks": args.chunks,
            "steps_per_chunk": args.steps,
            "check_all": args.check_all,
            "algorithms": names,
            "menu": {str(k): v for k, v in MENU.items()},
            "extra": EXTRA,
            "dithering_s": DITHER_S,
            "max_dense": MAX_DENSE,
            "target_ratio": TARGET_RATIO,
            "target_compile_s": TARGET_COMPILE_S,
            "smoke": args.smoke,
            "compilation_cache_dir": cache_dir,
            "persistent_cache_used": bool(cache_dir) and args.keep_cache,
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        },
        "env": _common.environment(),
        "wall_s": wall,
        "results": results,
        "summary": summary,
    }
    stem = args.name or ("overhead_smoke" if args.smoke else "overhead")
    path = _common.save_json(f"{stem}.json", payload, args.out)
    md = markdown(payload)
    md_path = os.path.join(args.out, f"{stem}.md")
    with open(md_path + ".tmp", "w") as f:
        f.write(md)
    os.replace(md_path + ".tmp", md_path)
    print()
    print(md)
    print(f"saved {path} and {md_path} ({wall:.0f} s)")
    return payload


if __name__ == "__main__":
    main()
