"""Small drivers and problems for the algorithm tests (independent of jcomp.run)."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jcomp.problems import quadratic

#: One step count and one small problem shape shared by most tests, so that the jitted
#: ``run_steps`` of an algorithm is compiled once per session (compilation dominates run time).
STEPS = 64


def scan_run(alg, problem, x0, key, steps):
    """``steps`` steps under ``lax.scan`` with step keys ``fold_in(key_steps, t)``; returns the
    states after each step (stacked: ``states.x`` is (steps, d)) and the stacked Info."""
    key_init, key_steps = jax.random.split(key)
    state = alg.init(key_init, problem, x0)

    def body(state, t):
        state, info = alg.step(jax.random.fold_in(key_steps, t), state, problem)
        return state, (state, info)

    _, (states, infos) = jax.lax.scan(body, state, jnp.arange(steps))
    return states, infos


#: ``run_steps(alg, problem, x0, key, steps=...) -> (states, infos)``: row t is the state after
#: step t+1; the Algorithm and the problem are arguments (pytrees), ``steps`` is static (pass it
#: by keyword everywhere, so calls share one cache entry).
run_steps = jax.jit(scan_run, static_argnames="steps")


@partial(jax.jit, static_argnames="steps")
def rel_dist(alg, problem, x0, key, steps):
    """``‖x^t − x*‖² / ‖x⁰ − x*‖²`` for t = 1..steps, shape (steps,)."""
    xs = scan_run(alg, problem, x0, key, steps)[0].x
    e0 = jnp.sum((x0 - problem.x_star) ** 2)
    return jnp.sum((xs - problem.x_star) ** 2, axis=1) / e0


#: Exact identities hold up to float64 rounding (DESIGN.md: rtol 1e-12, never looser).
RTOL = 1e-12


def assert_same_iterates(xs, ref, rtol=RTOL):
    """Row by row: ‖x_t − ref_t‖ ≤ rtol·‖ref_t‖."""
    xs, ref = np.asarray(xs), np.asarray(ref)
    err = np.linalg.norm(xs - ref, axis=-1)
    scale = np.linalg.norm(ref, axis=-1)
    assert np.all(err <= rtol * scale), f"max relative deviation {np.max(err / scale):.3e}"


def small_problem():
    """The shared small heterogeneous problem (n = 4, d = 8)."""
    return hetero_quadratic(seed=5, n=4, d=8)


def random_spd(rng, d, lo, hi):
    """A random symmetric matrix with eigenvalues spread over [lo, hi] (both included)."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.linspace(lo, hi, d)
    rng.shuffle(eig)
    return (q * eig) @ q.T


def hetero_quadratic(seed=0, n=5, d=10, lo=1.0, hi=10.0):
    """Heterogeneous strongly convex quadratic: A_i random SPD with spectrum [lo, hi], b_i
    distinct standard normal vectors, so ∇f_i(x*) ≠ 0."""
    rng = np.random.default_rng(seed)
    A = np.stack([random_spd(rng, d, lo, hi) for _ in range(n)])
    A = 0.5 * (A + np.swapaxes(A, 1, 2))
    b = rng.standard_normal((n, d))
    return quadratic(A, b)


def homogeneous_quadratic(seed=0, n=5, d=10, lo=1.0, hi=10.0):
    """All A_i equal (one random SPD matrix), b_i distinct."""
    rng = np.random.default_rng(seed)
    A = random_spd(rng, d, lo, hi)
    A = 0.5 * (A + A.T)
    b = rng.standard_normal((n, d))
    return quadratic(np.broadcast_to(A, (n, d, d)).copy(), b)


def x0_for(problem, seed=1):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.standard_normal(problem.d), jnp.float64)
