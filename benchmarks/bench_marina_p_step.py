"""Time per step of MARINA-P + PermK: jcomp (one compiled scan) vs a NumPy per-worker loop.

Same problem (seed 004 Alg. 3, n workers, d = 300), same step size and p, same number of
steps, measured in one process. The NumPy reference is written the way per-worker simulators
are: a Python loop over workers for the local gradients and for the compressed downlink.
Trajectories use different random streams, so they are compared statistically (geometric mean
of the final ‖∇f‖ over seeds).

    python benchmarks/bench_marina_p_step.py [--n 100] [--d 300] [--steps 2000] [--seeds 3]

Prints a table and writes benchmarks/results/marina_p_step.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jcomp  # noqa: E402
from jcomp.algorithms import marina_p, marina_p_theory  # noqa: E402
from jcomp.compressors import perm_k  # noqa: E402
from jcomp.problems import marina_p_quadratic  # noqa: E402


def tridiag_matvec(x):
    """tridiag(−1, 2, −1) @ x for a single vector."""
    y = 2.0 * x
    y[1:] -= x[:-1]
    y[:-1] -= x[1:]
    return y


def numpy_marina_p(c, b, gamma, p, steps, seed):
    """MARINA-P + PermK with a Python loop over workers (float64). Returns final ‖∇f‖²."""
    rng = np.random.default_rng(seed)
    n, d = b.shape
    x = np.zeros(d)
    w = [x.copy() for _ in range(n)]
    sizes = np.full(n, d // n)
    sizes[: d % n] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for _ in range(steps):
        grads = [c[i] * tridiag_matvec(w[i]) - b[i] for i in range(n)]  # worker i at w_i
        g = np.mean(grads, axis=0)
        x_new = x - gamma * g
        if rng.random() < p:
            for i in range(n):
                w[i] = x_new.copy()
        else:
            perm = rng.permutation(d)
            owner = rng.permutation(n)
            diff = x_new - x
            for blk in range(n):
                idx = perm[bounds[blk] : bounds[blk + 1]]
                i = owner[blk]
                w[i][idx] += n * diff[idx]
        x = x_new
    g = np.mean(c) * tridiag_matvec(x) - b.mean(axis=0)
    return float(g @ g)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--d", type=int, default=300)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)
    n, d, steps = args.n, args.d, args.steps

    problem = marina_p_quadratic(n, d=d, seed=0)
    comp = perm_k()
    th = marina_p_theory(problem, comp)
    gamma, p = th["step_size"], th["p"]
    c = np.asarray(problem.c)
    b = np.asarray(problem.b)

    results = {"n": n, "d": d, "steps": steps, "step_size": gamma, "p": p}
    finals = {}
    for dtype in ("float64", "float32"):
        prob = jax.tree.map(
            lambda a, t=dtype: a.astype(t) if a.dtype == jnp.float64 else a, problem
        )
        x0 = jnp.zeros(d, dtype)
        alg = marina_p(comp, step_size=gamma, p=p)
        kw = dict(steps=steps, log_every=steps, chunks=1, divergence=None)
        warm = jcomp.run(alg, prob, x0, key=0, **kw)  # compile and warm up
        per_step, fin = [], []
        for s in range(args.seeds):
            tr = jcomp.run(alg, prob, x0, key=s, **kw)
            per_step.append(tr.meta["run_time_s"] / steps)
            fin.append(float(tr.grad_norm_sq[-1]))
        results[f"jcomp_{dtype}_s_per_step"] = float(np.median(per_step))
        results[f"jcomp_{dtype}_compile_s"] = warm.meta["compile_time_s"]
        finals[f"jcomp_{dtype}"] = fin

    # a 15-step-size x 5-seed grid as one compiled sweep (float64): time per run and step
    grid = {"step_size": gamma * 2.0 ** np.arange(-4, 11)}
    sw_kw = dict(compressor=comp, p=p, steps=steps, log_every=steps, grid=grid, seeds=range(5))
    jcomp.sweep(marina_p, problem, np.zeros(d), divergence=None, **sw_kw)  # compile
    sw = jcomp.sweep(marina_p, problem, np.zeros(d), divergence=None, **sw_kw)
    runs = sw.diverged.size
    results["jcomp_sweep_runs"] = runs
    results["jcomp_sweep_float64_s_per_run_step"] = sw.meta["run_time_s"] / (runs * steps)

    per_step, fin = [], []
    for s in range(args.seeds):
        t0 = time.perf_counter()
        fin.append(numpy_marina_p(c, -b, gamma, p, steps, seed=s))  # our b is −b_draw
        per_step.append((time.perf_counter() - t0) / steps)
    results["numpy_loop_s_per_step"] = float(np.median(per_step))
    finals["numpy_loop"] = fin
    for dtype in ("float64", "float32"):
        ref = results["numpy_loop_s_per_step"]
        results[f"speedup_{dtype}"] = ref / results[f"jcomp_{dtype}_s_per_step"]
    results["speedup_sweep_float64"] = (
        results["numpy_loop_s_per_step"] / results["jcomp_sweep_float64_s_per_run_step"]
    )
    results["final_grad_norm_sq_geomean"] = {
        k: float(np.exp(np.mean(np.log(v)))) for k, v in finals.items()
    }
    results["env"] = {
        "jax": jax.__version__,
        "devices": [str(dv) for dv in jax.devices()],
        "numpy": np.__version__,
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
    }

    print(f"MARINA-P + PermK, n={n}, d={d}, {steps} steps, p={p:.4g}, gamma={gamma:.4g}")
    print(f"  device: {results['env']['devices'][0]}  jax {jax.__version__}")
    for k in ("jcomp_float64", "jcomp_float32"):
        print(
            f"  {k:<14s} {results[k + '_s_per_step'] * 1e6:9.1f} us/step "
            f"(compile {results[k + '_compile_s']:.2f}s)"
        )
    print(
        f"  {'jcomp sweep':<14s} "
        f"{results['jcomp_sweep_float64_s_per_run_step'] * 1e6:9.1f} us per run-step "
        f"({results['jcomp_sweep_runs']} runs in one program, float64)"
    )
    print(f"  {'numpy loop':<14s} {results['numpy_loop_s_per_step'] * 1e6:9.1f} us/step")
    print(
        f"  speed-up: {results['speedup_float64']:.1f}x (float64), "
        f"{results['speedup_float32']:.1f}x (float32)"
    )
    print(
        "  final ‖∇f‖² (geometric mean over seeds):",
        {k: f"{v:.3g}" for k, v in results["final_grad_norm_sq_geomean"].items()},
    )
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"marina_p_step_n{n}_d{d}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"  saved {path}")
    return results


if __name__ == "__main__":
    main()
