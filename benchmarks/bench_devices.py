"""jcomp across devices: the worker axis sharded over host CPU devices, and the GPU suite.

**CPU suite.** GD and MARINA-P + PermK (theory step sizes) on the seed 004 Alg. 3 quadratics at
n = 1000, d = 300 and n = 1000, d = 10⁴, run with ``jcomp.run(..., devices=k)`` for k = 1, 2, 8
host CPU devices (each count in its own subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` appended to any existing XLA_FLAGS and
``JAX_PLATFORMS=cpu``) and unsharded (``devices=None``, a plain one-device process). Reported:
time per step (median over repeated runs of one compiled program; the compiling run is not
timed), its ratio to the unsharded time, compile time, and whether the trace equals the
unsharded one for the same key: every bit and coordinate count exactly, and the largest
absolute and relative difference of ‖∇f‖², f − f* and ‖x − x*‖²/‖x⁰ − x*‖² (a sharded mean may
sum in another order, so these agree to rounding: ``--dtype float64`` for a tight check).
GD's average gradient is closed form (O(d), from b̄), so sharding GD only measures overhead.

**GPU suite** (when ``jax.default_backend() == "gpu"`` in a fresh process, or forced with
``--gpu-suite``, which on CPU runs it at small stand-in sizes so the code is exercised): time
per step at n = 10⁴, d = 10³ for GD, MARINA-P + PermK, MARINA + RandK and EF21 + TopK, and
MARINA-P + PermK at n·d ≥ 10⁸ (n = 10⁴, d = 10⁴; n = 10⁵, d = 10³; n = 10³, d = 10⁵; and
n = 10⁵, d = 10⁴ when it fits), float32. Achieved memory bandwidth = bytes moved per step /
median time per step, with bytes from XLA's cost analysis of one compiled step ("bytes
accessed") and from the traffic model of ``bench_scaling.py`` (MARINA-P reads w and b and writes
w: 3·n·d·itemsize), each against the card's peak (:data:`PEAK_BANDWIDTH` by ``device_kind``,
or ``--peak-gbs``). Target: ≥ 50 % of peak for n·d ≥ 10⁸ on the MARINA-P + PermK step.

    python benchmarks/bench_devices.py             # CPU suite (+ GPU suite if there is a GPU)
    python benchmarks/bench_devices.py --skip-cpu  # GPU suite only
    python benchmarks/bench_devices.py --dtype float64       # tight trace comparison
    python benchmarks/bench_devices.py --skip-gpu --sizes 1000x10000 --device-counts 2 8
    python benchmarks/bench_devices.py --smoke --gpu-suite --out /tmp/x    # for the tests

The CPU suite takes about 2 minutes on a quiet 2-core CPU (4 processes, compiling dominates);
the GPU suite a few minutes (the n·d = 10⁹ problem is drawn on the host first, about 30 s).

Writes ``devices_cpu.json``/``.md``, and ``devices_gpu.json``/``.md`` on a GPU
(``devices_gpu_suite_cpu.json``/``.md`` when the GPU suite was forced on CPU), to ``--out``
(default ``benchmarks/results``), each with ``_common.environment()``.
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
from bench_scaling import (  # noqa: E402
    LABELS,
    PEAK_ND,
    _device_memory,
    _fmt_bw,
    _fmt_bytes,
    _fmt_time,
    _nice,
    build_algorithm,
    time_steps,
    traffic_model_bytes,
)

MARKER = "@@BENCH_DEVICES_RESULT@@"
FORCE_FLAG = "--xla_force_host_platform_device_count=8"

CPU_ALGORITHMS = ("gd", "marina_p_permk")
CPU_SIZES = ((1000, 300), (1000, 10_000))
DEVICE_COUNTS = (1, 2, 8)

GPU_ALGORITHMS = ("gd", "marina_p_permk", "marina_randk", "ef21_topk")
GPU_STANDARD = (10_000, 1_000)
GPU_LARGE = ((10_000, 10_000), (100_000, 1_000), (1_000, 100_000), (100_000, 10_000))
#: Stand-in sizes when the GPU suite is forced on a CPU (standard, large).
CPU_STANDIN = ((1_000, 1_000), ((1_000, 10_000),))
SMOKE_STANDIN = ((16, 64), ((16, 512),))
TARGET_FRACTION = 0.5

#: Peak memory bandwidth (bytes/s) by ``device_kind``: the first entry whose words all occur in
#: the lower-cased device_kind wins (vendor datasheets).
PEAK_BANDWIDTH = (
    (("gh200",), 4.0e12, "GH200 (H100 96 GB HBM3)"),
    (("h200",), 4.8e12, "H200 (HBM3e)"),
    (("h100", "pcie"), 2.0e12, "H100 PCIe"),
    (("h100", "nvl"), 3.9e12, "H100 NVL"),
    (("h100",), 3.35e12, "H100 SXM"),
    (("a100", "80gb", "pcie"), 1.935e12, "A100 80GB PCIe"),
    (("a100", "80gb"), 2.039e12, "A100 80GB SXM"),
    (("a100",), 1.555e12, "A100 40GB"),
    (("l40s",), 0.864e12, "L40S"),
    (("l40",), 0.864e12, "L40"),
    (("l4",), 0.3e12, "L4"),
    (("a10g",), 0.6e12, "A10G"),
    (("a10",), 0.6e12, "A10"),
    (("v100",), 0.9e12, "V100"),
    (("rtx 4090",), 1.008e12, "RTX 4090"),
    (("t4",), 0.32e12, "T4"),
)


def peak_bandwidth(device_kind: str) -> tuple[float | None, str | None]:
    """``(bytes/s, matched name)`` from :data:`PEAK_BANDWIDTH`, ``(None, None)`` if unknown."""
    kind = device_kind.lower()
    for words, bw, name in PEAK_BANDWIDTH:
        if all(w in kind for w in words):
            return bw, name
    return None, None


# --------------------------------------------------------------------------- children
def _setup_jax(dtype: str):
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    return jax


EXACT_FIELDS = (
    "step",
    "up_bits",
    "up_bits_max",
    "up_bits_noidx",
    "up_bits_noidx_max",
    "up_coords",
    "up_coords_max",
    "down_bits",
    "down_bits_max",
    "down_bits_noidx",
    "down_bits_noidx_max",
    "down_coords",
    "down_coords_max",
    "setup_up_bits",
    "setup_down_bits",
    "diverged",
    "diverged_step",
)
METRIC_FIELDS = ("loss_gap", "grad_norm_sq", "dist_sq")


def _trace_dict(tr) -> dict:
    import numpy as np

    return {k: np.asarray(getattr(tr, k)).tolist() for k in EXACT_FIELDS + METRIC_FIELDS}


def cpu_child(spec: dict) -> dict:
    """Run every config at every device count of ``spec["device_counts"]`` (None: unsharded)."""
    jax = _setup_jax(spec["dtype"])
    import jax.numpy as jnp
    import numpy as np

    import jcomp
    from jcomp.problems import marina_p_quadratic

    out = {"device_count": len(jax.devices()), "runs": []}
    for cfg in spec["configs"]:
        alg_name, n, d, steps = cfg["alg"], cfg["n"], cfg["d"], cfg["steps"]
        problem = marina_p_quadratic(n, d=d, seed=0)
        alg, params = build_algorithm(alg_name, problem)
        x0 = jnp.zeros(d, problem.b.dtype)
        kw = dict(
            steps=steps,
            log_every=cfg["log_every"],
            chunks=1,
            divergence=None,
            progress=False,
        )
        for k in spec["device_counts"]:
            rec = {"alg": alg_name, "n": n, "d": d, "devices": k, "steps": steps}
            rec.update(log_every=cfg["log_every"], params=params, dtype=str(problem.b.dtype))
            try:
                tr = jcomp.run(alg, problem, x0, key=0, devices=k, **kw)  # compiles
                first = _trace_dict(tr)
                times, deterministic = [], True
                for _ in range(cfg["repeats"]):
                    t = jcomp.run(alg, problem, x0, key=0, devices=k, **kw)
                    times.append(t.meta["run_time_s"] / steps)
                    deterministic &= _trace_dict(t) == first
            except Exception as e:  # e.g. n not divisible by k: recorded, the suite goes on
                rec["error"] = f"{type(e).__name__}: {str(e)[:500]}"
                out["runs"].append(rec)
                continue
            rec.update(
                compile_s=tr.meta["compile_time_s"],
                s_per_step=float(np.median(times)),
                s_per_step_all=times,
                deterministic=bool(deterministic),
                mesh_devices=tr.meta.get("devices"),
                trace=first,
            )
            out["runs"].append(rec)
    out["peak_rss_bytes"] = _common.peak_rss_bytes()
    if spec.get("record_env"):
        out["env"] = _common.environment()
    return out


def gpu_child(spec: dict) -> dict:
    """The GPU suite in this process (on whatever backend JAX picks)."""
    jax = _setup_jax(spec["dtype"])
    import gc

    import jax.numpy as jnp

    from jcomp.problems import marina_p_quadratic

    backend = jax.default_backend()
    if backend != "gpu" and not spec["force"]:
        return {"available": False, "backend": backend}
    dev = jax.devices()[0]
    kind = dev.device_kind
    peak, peak_name = peak_bandwidth(kind) if backend == "gpu" else (None, None)
    if spec.get("peak_Bps"):
        peak, peak_name = spec["peak_Bps"], "--peak-gbs"
    mem = _device_memory() or {}
    limit = mem.get("bytes_limit")
    out = {
        "available": True,
        "backend": backend,
        "forced": backend != "gpu",
        "device_kind": kind,
        "device": str(dev),
        "peak_Bps": peak,
        "peak_name": peak_name,
        "bytes_limit": limit,
        "runs": [],
    }
    for cfg in spec["configs"]:
        alg_name, n, d = cfg["alg"], cfg["n"], cfg["d"]
        itemsize = 8 if spec["dtype"] == "float64" else 4
        rec = {"alg": alg_name, "label": LABELS[alg_name], "n": n, "d": d, "nd": n * d}
        est = PEAK_ND[alg_name] * n * d * itemsize
        rec["estimated_bytes"] = est
        if limit is not None and est > 0.8 * limit:
            rec["skipped"] = f"estimated {est} bytes > 80% of the device's {limit}"
            out["runs"].append(rec)
            continue
        try:
            t0 = time.perf_counter()
            problem = marina_p_quadratic(n, d=d, seed=0)
            jax.block_until_ready(problem)
            rec["build_s"] = time.perf_counter() - t0
            alg, params = build_algorithm(alg_name, problem)
            rec["params"] = params
            dtype = problem.b.dtype
            rec["dtype"] = str(dtype)
            x0 = jnp.zeros(d, dtype)
            tr = time_steps(alg, problem, x0, spec, rec)
            t = rec["s_per_step"]
            model = traffic_model_bytes(alg_name, n, d, dtype.itemsize)
            xla = rec["xla_cost"].get("bytes accessed")
            rec["traffic_model_bytes"] = model
            rec["bandwidth_model_Bps"] = model / t
            rec["bandwidth_xla_Bps"] = None if xla is None else xla / t
            if peak:
                rec["fraction_of_peak_model"] = rec["bandwidth_model_Bps"] / peak
                if xla is not None:
                    rec["fraction_of_peak_xla"] = rec["bandwidth_xla_Bps"] / peak
            rec["device_memory"] = _device_memory()
            del problem, tr
        except Exception as e:  # a point that does not fit or fails: recorded, suite goes on
            rec["error"] = f"{type(e).__name__}: {str(e)[:500]}"
        gc.collect()
        out["runs"].append(rec)
    out["peak_rss_bytes"] = _common.peak_rss_bytes()
    out["env"] = _common.environment()
    return out


# --------------------------------------------------------------------------- parent
def _child(mode: str, spec: dict, env: dict, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), mode, json.dumps(spec)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            res = json.loads(line[len(MARKER) :])
            res["process_wall_s"] = wall
            return res
    tail = (proc.stderr or proc.stdout)[-2000:]
    return {"error": f"exit code {proc.returncode}", "stderr_tail": tail, "process_wall_s": wall}


def cpu_env(forced: bool) -> dict:
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    if forced:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + FORCE_FLAG).strip()
    return env


def cpu_steps(alg: str, n: int, d: int, target_s: float) -> int:
    """Steps per run for about ``target_s`` seconds on one 2-core CPU device (a rough model of
    this machine: 30 µs per step plus 6 ns per n·d element for MARINA-P; GD is O(d))."""
    t = 3e-5 + (0.0 if alg == "gd" else 6e-9 * n * d)
    steps = _nice(target_s / t)
    return int(min(max(steps, 10), 5000))


def compare_traces(ref: dict, other: dict) -> dict:
    """Exact equality of counts; largest absolute/relative differences of the metrics."""
    import numpy as np

    exact = {k: bool(np.array_equal(ref[k], other[k])) for k in EXACT_FIELDS}
    out = {
        "counts_equal": all(exact.values()),
        "counts_unequal": [k for k, v in exact.items() if not v],
    }
    abs_d, rel_d = 0.0, 0.0
    for k in METRIC_FIELDS:
        a = np.asarray(ref[k], float)
        b = np.asarray(other[k], float)
        same_nonfinite = np.array_equal(np.isfinite(a), np.isfinite(b))
        fin = np.isfinite(a) & np.isfinite(b)
        if not same_nonfinite:
            abs_d = rel_d = math.inf
            continue
        if fin.any():
            diff = np.abs(a[fin] - b[fin])
            abs_d = max(abs_d, float(diff.max()))
            scale = np.maximum(np.abs(a[fin]), np.finfo(float).tiny)
            rel_d = max(rel_d, float((diff / scale).max()))
    out["max_abs_diff"] = abs_d
    out["max_rel_diff"] = rel_d
    return out


def run_cpu_suite(args) -> dict:
    if args.smoke:  # unsharded and 8 devices in one process (compiling dominates)
        sizes, counts = ((16, 64),), (8,)
        algs, repeats = ("marina_p_permk",), 1
    else:
        sizes, counts = args.sizes, args.device_counts
        algs, repeats = args.algorithms, args.repeats
    configs = []
    for n, d in sizes:
        for a in algs:
            steps = 20 if args.smoke else (args.steps or cpu_steps(a, n, d, args.target_run))
            log_every = max(1, steps // 10)
            steps = log_every * math.ceil(steps / log_every)
            configs.append(dict(alg=a, n=n, d=d, steps=steps, log_every=log_every, repeats=repeats))
    base = dict(configs=configs, dtype=args.dtype)
    if args.smoke:  # one 8-device process for all counts, unsharded included
        jobs = [("8 host devices", True, [None, *counts])]
    else:
        jobs = [("1 device", False, [None])] + [
            (f"{k} of 8 host devices", True, [k]) for k in counts
        ]
    runs, procs = [], []
    env_rec = None
    for i, (label, forced, ks) in enumerate(jobs):
        spec = dict(base, device_counts=ks, record_env=(i == 0))
        res = _child("--child-cpu", spec, cpu_env(forced), args.timeout)
        procs.append(
            {
                "process": label,
                "device_counts": ks,
                "device_count_seen": res.get("device_count"),
                "peak_rss_bytes": res.get("peak_rss_bytes"),
                "process_wall_s": res.get("process_wall_s"),
                "error": res.get("error"),
                "stderr_tail": res.get("stderr_tail"),
            }
        )
        if "error" in res:
            print(f"  FAIL {label}: {res['error']}\n{res.get('stderr_tail', '')}")
            continue
        env_rec = env_rec or res.get("env")
        for r in res["runs"]:
            r["process"] = label
            runs.append(r)
        print(f"  {label}: {len(res['runs'])} runs ({res['process_wall_s']:.1f} s)", flush=True)

    # compare with the unsharded trace of the same config
    for r in runs:
        if "error" in r:
            continue
        ref = next(
            (
                u
                for u in runs
                if u["devices"] is None
                and "error" not in u
                and (u["alg"], u["n"], u["d"]) == (r["alg"], r["n"], r["d"])
            ),
            None,
        )
        if ref is None:
            continue
        r["vs_unsharded"] = compare_traces(ref["trace"], r["trace"])
        r["vs_unsharded"]["time_ratio"] = r["s_per_step"] / ref["s_per_step"]
    return {"processes": procs, "runs": runs, "env": env_rec}


def gpu_configs(args, on_gpu: bool) -> list[dict]:
    if args.smoke:
        standard, large = SMOKE_STANDIN
    elif on_gpu:
        standard, large = GPU_STANDARD, GPU_LARGE
    else:
        standard, large = CPU_STANDIN
    algs = ("gd",) if args.smoke else GPU_ALGORITHMS  # --smoke: GD and one MARINA-P point
    cfgs = [dict(alg=a, n=standard[0], d=standard[1]) for a in algs]
    cfgs += [dict(alg="marina_p_permk", n=n, d=d) for n, d in large]
    return cfgs


def run_gpu_suite(args) -> dict | None:
    """Returns the suite's record, or None when there is no GPU and it was not forced."""
    timing = (
        dict(target_run_s=0.01, min_timed_s=0.0, min_repeats=1, max_repeats=1)
        if args.smoke
        else dict(target_run_s=0.5, min_timed_s=2.0, min_repeats=3, max_repeats=50)
    )
    timing.update(min_steps=2 if args.smoke else 1, max_steps=20 if args.smoke else 100_000)
    peak = args.peak_gbs * 1e9 if args.peak_gbs else None
    spec = dict(dtype="float32", force=bool(args.gpu_suite), peak_Bps=peak, **timing)
    # the backend is known only inside the child: ask for the GPU sizes, and let a CPU child
    # that was forced use the stand-in sizes
    spec["configs"] = gpu_configs(args, on_gpu=True)
    spec["standin_configs"] = gpu_configs(args, on_gpu=False)
    res = _child("--child-gpu", spec, dict(os.environ), args.timeout * 4)
    if "error" in res:
        print(f"  GPU suite FAILED: {res['error']}\n{res.get('stderr_tail', '')}")
        return {"error": res["error"], "stderr_tail": res.get("stderr_tail")}
    if not res.get("available"):
        print(f"  GPU suite: no GPU (backend {res.get('backend')}); use --gpu-suite to force it")
        return None
    res["timing"] = timing
    res["target"] = (
        f"MARINA-P + PermK at n·d ≥ 1e8: ≥ {TARGET_FRACTION:.0%} of peak memory bandwidth"
    )
    for r in res["runs"]:
        if r["alg"] == "marina_p_permk" and r["nd"] >= 10**8 and "s_per_step" in r:
            for which in ("xla", "model"):
                f = r.get(f"fraction_of_peak_{which}")
                r[f"meets_target_{which}"] = None if f is None else bool(f >= TARGET_FRACTION)
    res["forced_on_cpu"] = res["forced"]
    return res


def gpu_child_dispatch(spec: dict) -> dict:
    """Pick GPU or stand-in sizes once the backend is known."""
    import jax

    if jax.default_backend() != "gpu":
        spec = dict(spec, configs=spec["standin_configs"])
    return gpu_child(spec)


# --------------------------------------------------------------------------- tables
def cpu_markdown(suite: dict, header: str) -> str:
    lines = [header, ""]
    lines += [
        "| algorithm | n | d | devices | steps | time/step | vs unsharded | compile | "
        "counts equal | max abs / rel diff of metrics | deterministic |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in suite["runs"]:
        v = r.get("vs_unsharded", {})
        dev = "unsharded" if r["devices"] is None else str(r["devices"])
        if "error" in r:
            lines.append(
                f"| {LABELS[r['alg']]} | {r['n']} | {r['d']} | {dev} | error: {r['error']} |"
            )
            continue
        ratio = f"{v['time_ratio']:.2f}×" if "time_ratio" in v else "–"
        diffs = f"{v['max_abs_diff']:.3g} / {v['max_rel_diff']:.3g}" if "max_abs_diff" in v else "–"
        lines.append(
            f"| {LABELS[r['alg']]} | {r['n']} | {r['d']} | {dev} | {r['steps']} "
            f"| {_fmt_time(r['s_per_step'])} | {ratio} | {r['compile_s']:.2f} s "
            f"| {v.get('counts_equal', '–')} | {diffs} | {r['deterministic']} |"
        )
    lines += ["", "| process | devices run | peak RSS | wall |", "|---|---|---|---|"]
    for p in suite["processes"]:
        devs = ", ".join("unsharded" if k is None else str(k) for k in p["device_counts"])
        wall = f"{p['process_wall_s']:.1f} s" if p.get("process_wall_s") else "–"
        err = f" (error: {p['error']})" if p.get("error") else ""
        lines.append(
            f"| {p['process']}{err} | {devs} | {_fmt_bytes(p.get('peak_rss_bytes'))} | {wall} |"
        )
    return "\n".join(lines)


def gpu_markdown(suite: dict, header: str) -> str:
    peak = suite.get("peak_Bps")
    lines = [header, ""]
    lines.append(
        f"Device: {suite['device_kind']} ({suite['backend']}); peak bandwidth: "
        + (f"{peak / 1e12:.3g} TB/s ({suite['peak_name']})" if peak else "unknown")
        + "."
    )
    lines += [
        "",
        "| algorithm | n | d | steps × runs | time/step | compile (run / step) | "
        "bytes/step XLA / model | GB/s XLA / model | % of peak XLA / model | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in suite["runs"]:
        lab = r["label"]
        if "skipped" in r or "error" in r:
            why = r.get("skipped") or r.get("error")
            lines.append(f"| {lab} | {r['n']} | {r['d']} | {why} | | | | | | |")
            continue
        xla = r["xla_cost"].get("bytes accessed")
        fx, fm = r.get("fraction_of_peak_xla"), r.get("fraction_of_peak_model")
        pct = lambda f: "–" if f is None else f"{100 * f:.1f} %"
        tgt = r.get("meets_target_xla")
        tgt = (
            "–"
            if "meets_target_xla" not in r
            else ("yes" if tgt else "no" if tgt is False else "?")
        )
        lines.append(
            f"| {lab} | {r['n']} | {r['d']} | {r['steps']} × {r['repeats']} "
            f"| {_fmt_time(r['s_per_step'])} "
            f"| {r['compile_s']:.2f} s / {r['step_compile_s']:.2f} s "
            f"| {_fmt_bytes(xla)} / {_fmt_bytes(r['traffic_model_bytes'])} "
            f"| {_fmt_bw(r['bandwidth_xla_Bps'])} / {_fmt_bw(r['bandwidth_model_Bps'])} "
            f"| {pct(fx)} / {pct(fm)} | {tgt} |"
        )
    return "\n".join(lines)


def _save(name: str, payload: dict, md: str, out: str) -> None:
    _common.save_json(f"{name}.json", payload, out)
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write(md + "\n")
    print(f"saved {os.path.join(out, name)}.json and .md")


def _size(text: str) -> tuple[int, int]:
    n, d = text.lower().split("x")
    return int(float(n)), int(float(d))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child-cpu", help=argparse.SUPPRESS)
    ap.add_argument("--child-gpu", help=argparse.SUPPRESS)
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument(
        "--sizes", nargs="+", type=_size, default=list(CPU_SIZES), help="CPU suite n×d (1000x300)"
    )
    ap.add_argument("--algorithms", nargs="+", default=list(CPU_ALGORITHMS), choices=LABELS)
    ap.add_argument("--device-counts", nargs="+", type=int, default=list(DEVICE_COUNTS))
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per CPU point")
    ap.add_argument("--steps", type=int, default=None, help="steps per CPU run (default: model)")
    ap.add_argument("--target-run", type=float, default=0.3, help="seconds per CPU run")
    ap.add_argument("--skip-cpu", action="store_true", help="GPU suite only")
    ap.add_argument("--skip-gpu", action="store_true", help="CPU suite only")
    ap.add_argument("--gpu-suite", action="store_true", help="run the GPU suite even on CPU")
    ap.add_argument("--peak-gbs", type=float, default=None, help="peak bandwidth, GB/s")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per subprocess")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (for the tests)")
    ap.add_argument("--out", default=_common.RESULTS_DIR)
    args = ap.parse_args(argv)

    if args.child_cpu or args.child_gpu:
        if args.child_cpu:
            res = cpu_child(json.loads(args.child_cpu))
        else:
            res = gpu_child_dispatch(json.loads(args.child_gpu))
        print(MARKER + json.dumps(res, default=_common._default), flush=True)
        return None

    command = " ".join([os.path.basename(sys.executable)] + sys.argv)
    mode = "smoke" if args.smoke else "full"
    out: dict = {}
    if not args.skip_cpu:
        t0 = time.perf_counter()
        suite = run_cpu_suite(args)
        total = time.perf_counter() - t0
        env = suite.pop("env")
        payload = {
            "benchmark": "devices_cpu",
            "mode": mode,
            "command": command,
            "dtype": args.dtype,
            "xla_flags_added": FORCE_FLAG,
            "total_wall_s": total,
            "env": env,
            **suite,
        }
        header = (
            f"## jcomp on sharded host CPU devices ({mode}, {args.dtype})\n\n"
            f"CPU: {env['cpu'] if env else '?'}, {env['cpu_count'] if env else '?'} cores; "
            f"jax {env['jax'] if env else '?'}; `{command}`; total {total:.0f} s. Each device "
            f"count runs in its own process with `XLA_FLAGS={FORCE_FLAG}`; 'unsharded' is "
            "`devices=None` in a plain one-device process (in --smoke, in the 8-device one). "
            "Trace check against the unsharded run with the same key: bit/coordinate counts "
            "exactly, metrics (‖∇f‖², f − f*, relative distance) to rounding."
        )
        md = cpu_markdown(suite, header)
        print()
        print(md)
        _save("devices_cpu", payload, md, args.out)
        out["cpu"] = payload
    if not args.skip_gpu:
        t0 = time.perf_counter()
        suite = run_gpu_suite(args)
        if suite is not None and "error" not in suite:
            total = time.perf_counter() - t0
            payload = {
                "benchmark": "devices_gpu",
                "mode": mode,
                "command": command,
                "total_wall_s": total,
                **suite,
            }
            name = "devices_gpu_suite_cpu" if suite["forced_on_cpu"] else "devices_gpu"
            where = "forced on CPU at stand-in sizes" if suite["forced_on_cpu"] else "GPU"
            header = (
                f"## jcomp GPU suite ({where}, {mode}, float32)\n\n`{command}`; total "
                f"{total:.0f} s. Bandwidth = bytes per step / median time per step; bytes from "
                "XLA's cost analysis of one compiled step and from the traffic model "
                "(MARINA-P: 3·n·d·4 B). Target: MARINA-P + PermK at n·d ≥ 1e8 ≥ 50 % of peak "
                "(XLA bytes)."
            )
            md = gpu_markdown(suite, header)
            print()
            print(md)
            _save(name, payload, md, args.out)
            out["gpu"] = payload
        elif suite is not None:
            out["gpu"] = suite
    return out


if __name__ == "__main__":
    main()
