"""Seed 004 Fig. 1: MARINA-P on heterogeneous quadratics (spec EXPERIMENTS.md §6, Fig. 1).

GD, MARINA-P with SameRandK / RandK / PermK and EF21-P with TopK on the Alg. 3 quadratics
(d = 300, (L_A², L_B²) = (1, 10⁴)), for each worker count n. Each method's step size is tuned
over theory × 2^i, i ∈ [−4, 10], with 5 seeds, as ONE compiled sweep per method and n; the
chosen i minimizes the across-seed geometric mean of ‖∇f‖ at the s2w bit budget.

x-axis: server-to-worker bits per worker, 32 per float coordinate, no index charge
(``down_bits_noidx``); ``down_bits`` and coords are saved too.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import jax
import numpy as np

from .. import algorithms as A
from .. import compressors as C
from ..problems import marina_p_quadratic
from ..run import best_index, sweep
from ..trace import Trace
from ._common import (
    env_info,
    geometric_band,
    load_traces,
    results_folder,
    step_function,
    write_json,
)

__all__ = ["Config", "DESCRIPTION", "check", "plot", "run"]

DESCRIPTION = "Seed 004 Fig. 1: MARINA-P (SameRandK/RandK/PermK), EF21-P (TopK), GD on Alg. 3"

METHODS = ("gd", "marina_p/same_rand_k", "marina_p/rand_k", "marina_p/perm_k", "ef21_p/top_k")
LABELS = {
    "gd": "GD",
    "marina_p/same_rand_k": "MARINA-P SameRandK",
    "marina_p/rand_k": "MARINA-P RandK",
    "marina_p/perm_k": "MARINA-P PermK",
    "ef21_p/top_k": "EF21-P TopK",
}


@dataclasses.dataclass(frozen=True)
class Config:
    """Defaults from the spec; every value can be overridden (``jcomp run marina-p --set``)."""

    ns: tuple = (10, 100)  # the paper also has 1000 (pass --set ns=[10,100,1000])
    d: int = 300
    L_A2: float = 1.0  # (assumed) Thm 4.9 target L_A²
    L_B2: float = 1e4  # (assumed) Thm 4.9 target L_B²
    exponents: tuple = tuple(range(-4, 11))  # step = theory × 2^i
    seeds: int = 5
    budget_small_n: float = 6e5  # s2w bits per worker at n = 10 (assumed, from the axis scale)
    budget_large_n: float = 1e5  # ... for n ≥ 100
    cap: int = 100_000  # iteration cap
    problem_seed: int = 0
    methods: tuple = METHODS


def _budget(cfg: Config, n: int) -> float:
    return cfg.budget_small_n if n <= 10 else cfg.budget_large_n


def _method(name: str, problem, d: int, n: int):
    """(factory, fixed kwargs, theory step, expected s2w bits_noidx per step, rule text)."""
    K = max(1, d // n)
    if name == "gd":
        return A.gd, {}, A.gd_theory(problem)["step_size"], 32.0 * d, "1/L"
    algo, comp_name = name.split("/")
    comp = {"same_rand_k": C.same_rand_k(K), "rand_k": C.rand_k(K), "perm_k": C.perm_k()}.get(
        comp_name
    )
    if algo == "marina_p":
        th = A.marina_p_theory(problem, comp)
        p = th["p"]
        cost = p * 32.0 * d + (1 - p) * comp.expected_cost(d, n)[1]
        return A.marina_p, {"compressor": comp, "p": p}, th["step_size"], cost, "Thm D.2"
    comp = C.top_k(K)
    th = A.ef21_p_theory(problem, comp)
    return A.ef21_p, {"compressor": comp}, th["step_size"], comp.expected_cost(d, n)[1], "ext."


def run(cfg: Config = Config(), out: str = "results/marina-p", progress: bool | None = None):
    """Run every (n, method) sweep, write the results folder, print and return the summary."""
    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)  # spec: experiments run in float64
    t_start = time.perf_counter()
    with results_folder(out) as tmp:
        os.makedirs(os.path.join(tmp, "traces"))
        runs = {}
        for n in cfg.ns:
            problem = marina_p_quadratic(
                n, d=cfg.d, L_A2=cfg.L_A2, L_B2=cfg.L_B2, seed=cfg.problem_seed
            )
            x0 = np.zeros(cfg.d)
            budget = _budget(cfg, n)
            for name in cfg.methods:
                factory, fixed, gamma, cost, rule = _method(name, problem, cfg.d, n)
                steps = int(min(cfg.cap, math.ceil(2 * budget / cost)))
                grid = gamma * 2.0 ** np.asarray(cfg.exponents, float)
                t0 = time.perf_counter()
                trace = sweep(
                    factory,
                    problem,
                    x0,
                    steps=steps,
                    grid={"step_size": grid},
                    seeds=range(cfg.seeds),
                    log_every=max(1, math.ceil(steps / 1e4)),
                    progress=progress,
                    **fixed,
                    meta={
                        "method": name,
                        "n": n,
                        "theory_step": gamma,
                        "theory_rule": rule,
                        "budget": budget,
                        "exponents": list(cfg.exponents),
                        "problem": problem.describe(),
                    },
                )
                i = best_index(trace, "grad_norm_sq", x="down_bits_noidx", budget=budget)
                trace.meta.update(
                    best=i, best_exponent=cfg.exponents[i], wall_s=time.perf_counter() - t0
                )
                trace.save(os.path.join(tmp, "traces", f"n{n}_{name.replace('/', '_')}.npz"))
                runs[(n, name)] = trace
                print(
                    f"  n={n:<5d} {LABELS[name]:<20s} steps={steps:<6d} x2^{cfg.exponents[i]:<3d}"
                    f" ({time.perf_counter() - t0:5.1f}s)",
                    flush=True,
                )
        summary = check(runs, cfg)
        summary["experiment"] = "marina-p"
        summary["time_s"] = time.perf_counter() - t_start
        summary["env"] = env_info()
        write_json(os.path.join(tmp, "config.json"), dataclasses.asdict(cfg))
        write_json(os.path.join(tmp, "summary.json"), summary)
        _plot(runs, cfg, os.path.join(tmp, "figure.png"))
    print_summary(summary)
    print(f"results: {os.path.abspath(out)} ({summary['time_s']:.1f}s)")
    return summary


def _best(trace: Trace) -> Trace:
    return trace.take(trace.meta["best"])  # (seeds, T)


def _final_norm(trace: Trace, budget: float) -> np.ndarray:
    """‖∇f‖ per seed at the end of the budget (last row with s2w bits ≤ budget)."""
    x = trace.down_bits_noidx
    y = np.sqrt(trace.grad_norm_sq)
    return np.array(
        [step_function(xs, ys, np.array([budget]))[0] for xs, ys in zip(x, y, strict=True)]
    )


def _bits_to_reach(trace: Trace, rel: float) -> float:
    """Geometric-mean curve's first s2w bits where ‖∇f‖/‖∇f(x⁰)‖ ≤ rel (inf if never)."""
    x = trace.down_bits_noidx
    y = np.sqrt(trace.grad_norm_sq) / np.sqrt(trace.grad_norm_sq[:, :1])
    grid = np.unique(np.concatenate(list(x)))
    m, _, _ = geometric_band(x, y, grid)
    hit = np.nonzero(m <= rel)[0]
    return float(grid[hit[0]]) if hit.size else math.inf


def check(runs: dict, cfg: Config) -> dict:
    """Measure the paper's claims (spec EXPERIMENTS.md §6 Fig. 1); report, never tune."""
    per_n, claims = {}, {}
    for n in cfg.ns:
        budget = _budget(cfg, n)
        rows = {}
        for name in cfg.methods:
            t = runs[(n, name)]
            best = _best(t)
            final = _final_norm(best, budget)
            g0 = float(np.sqrt(best.grad_norm_sq[0, 0]))
            rows[name] = {
                "exponent": t.meta["best_exponent"],
                "step_size": t.meta["theory_step"] * 2.0 ** t.meta["best_exponent"],
                "final_grad_norm": float(np.exp(np.mean(np.log(final)))),
                "final_rel": float(np.exp(np.mean(np.log(final / g0)))),
                "diverged_runs": int(best.diverged.sum()),
                "steps": int(best.step[0, -1]),
            }
        # common threshold at this n: the largest final relative norm, so every method reaches it
        thr = max(r["final_rel"] for r in rows.values())
        for name in cfg.methods:
            rows[name]["bits_to_common_threshold"] = _bits_to_reach(_best(runs[(n, name)]), thr)
        per_n[str(n)] = {"budget": budget, "common_threshold_rel": thr, "methods": rows}

        finals = {k: v["final_grad_norm"] for k, v in rows.items()}
        if "marina_p/perm_k" in finals:
            others = [v for k, v in finals.items() if k != "marina_p/perm_k"]
            claims[f"PermK best at n={n}"] = bool(finals["marina_p/perm_k"] <= min(others))
        if "marina_p/same_rand_k" in finals:
            slowest = max(finals, key=finals.get)
            claims[f"SameRandK slowest at n={n}"] = slowest == "marina_p/same_rand_k"
        if "gd" in rows and "marina_p/same_rand_k" in rows:
            ratio = rows["marina_p/same_rand_k"]["bits_to_common_threshold"] / max(
                rows["gd"]["bits_to_common_threshold"], 1e-300
            )
            per_n[str(n)]["same_rand_k_over_gd_bits"] = ratio
            claims[f"SameRandK ~ GD at n={n} (bits within 2x)"] = bool(0.5 <= ratio <= 2.0)
        if "ef21_p/top_k" in finals and "marina_p/rand_k" in finals:
            better = finals["ef21_p/top_k"] < finals["marina_p/rand_k"]
            claims[f"EF21-P {'beats' if n <= 10 else 'behind'} RandK at n={n}"] = bool(
                better if n <= 10 else not better
            )
    if len(cfg.ns) > 1:
        for name in ("marina_p/perm_k", "marina_p/rand_k"):
            if name not in cfg.methods:
                continue
            thr = max(per_n[str(n)]["methods"][name]["final_rel"] for n in cfg.ns)
            bits = [_bits_to_reach(_best(runs[(n, name)]), thr) for n in cfg.ns]
            raw = [per_n[str(n)]["methods"][name]["final_grad_norm"] for n in cfg.ns]
            key = f"{LABELS[name]} improves with n"
            claims[key] = bool(all(b2 < b1 for b1, b2 in zip(bits, bits[1:], strict=False)))
            per_n.setdefault("improvement", {})[name] = {
                "threshold_rel": thr,
                "bits_to_threshold_by_n": dict(zip(map(str, cfg.ns), bits, strict=True)),
                "raw_final_grad_norm_by_n": dict(zip(map(str, cfg.ns), raw, strict=True)),
            }
    return {"per_n": per_n, "claims": claims}


def print_summary(summary: dict) -> None:
    for n, block in summary["per_n"].items():
        if n == "improvement":
            continue
        print(
            f"\nn = {n}: budget {block['budget']:.0f} s2w bits/worker; "
            f"common threshold ‖∇f‖/‖∇f(x⁰)‖ = {block['common_threshold_rel']:.3g}"
        )
        print(
            f"  {'method':<20s} {'step':>7s} {'‖∇f‖ at budget':>15s} {'rel':>10s} "
            f"{'bits to thr':>12s} {'diverged':>8s}"
        )
        for name, r in block["methods"].items():
            print(
                f"  {LABELS[name]:<20s} {'x2^' + str(r['exponent']):>7s} "
                f"{r['final_grad_norm']:15.4g} {r['final_rel']:10.3g} "
                f"{r['bits_to_common_threshold']:12.4g} {r['diverged_runs']:8d}"
            )
    for name, block in summary["per_n"].get("improvement", {}).items():
        print(
            f"  {LABELS[name]} bits to ‖∇f‖/‖∇f(x⁰)‖ ≤ {block['threshold_rel']:.3g} by n: "
            + ", ".join(f"n={k}: {v:.4g}" for k, v in block["bits_to_threshold_by_n"].items())
        )
    print("\nclaims (measured):")
    for k, v in summary["claims"].items():
        print(f"  [{'holds' if v else 'FAILS'}] {k}")


def _plot(runs: dict, cfg: Config, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(cfg.ns), figsize=(5.2 * len(cfg.ns), 4.2), squeeze=False)
    for ax, n in zip(axes[0], cfg.ns, strict=True):
        budget = _budget(cfg, n)
        grid = np.linspace(0, budget, 600)
        for name in cfg.methods:
            t = runs[(n, name)]
            best = _best(t)
            m, lo, hi = geometric_band(best.down_bits_noidx, np.sqrt(best.grad_norm_sq), grid)
            (line,) = ax.plot(grid, m, label=f"{LABELS[name]} (x2^{t.meta['best_exponent']})")
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_yscale("log")
        ax.set_xlabel("# bits sent s2w per worker")
        ax.set_ylabel("‖∇f(x)‖")
        ax.set_title(f"d={cfg.d}, n={n}, L_A²={cfg.L_A2:g}, L_B²={cfg.L_B2:g}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot(folder: str) -> str:
    """Re-draw ``figure.png`` of a results folder from its saved traces."""
    import json

    with open(os.path.join(folder, "config.json")) as f:
        raw = json.load(f)
    cfg = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    runs = {}
    for t in load_traces(folder).values():
        runs[(int(t.meta["n"]), t.meta["method"])] = t
    path = os.path.join(folder, "figure.png")
    _plot(runs, cfg, path)
    return path
