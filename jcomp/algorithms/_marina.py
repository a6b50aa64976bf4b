"""MARINA: compressed gradient differences with rare full synchronizations (Gorbunov et al.)."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import (
    Algorithm,
    Info,
    broadcast_cost,
    check_probability,
    check_step_size,
    dense_cost,
    message_cost,
    zero_cost,
)
from ._checks import check_compressor, require

__all__ = ["MARINAState", "marina", "marina_theory", "marina_p_star"]


class MARINAState(NamedTuple):
    x: jax.Array  # (d,) server model
    g: jax.Array  # (n, d) worker estimators g_i; the server's estimator is their mean
    grads: jax.Array  # (n, d) ∇f_i(x), kept so each step evaluates the oracle once


def _init(key, problem, x0):
    del key
    grads = problem.worker_grads(problem.broadcast(x0))  # (n, d) g_i⁰ = ∇f_i(x⁰)
    return MARINAState(x=x0, g=grads, grads=grads)


def _setup(problem):
    dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
    return Info(up=dense_cost(problem.n, problem.d, dtype), down=zero_cost(problem.n, dtype))


def _step(compressor, step_size, p, key, state, problem):
    key_coin, key_comp = jax.random.split(key)
    x = state.x
    n, d = problem.n, problem.d
    x_new = x - step_size * jnp.mean(state.g, axis=0)  # (d,)
    grads_new = problem.worker_grads(problem.broadcast(x_new))  # (n, d) ∇f_i(x⁺)
    msg = compressor(key_comp, grads_new - state.grads)  # row i: Q_i(∇f_i(x⁺) − ∇f_i(x))
    full = jax.random.bernoulli(key_coin, p)  # one coin shared by all workers
    g_new = jnp.where(full, grads_new, state.g + msg.values)
    up = dense_cost(n, d, x.dtype).where(full, message_cost(msg))
    info = Info(up=up, down=broadcast_cost(n, d, x.dtype))
    return MARINAState(x=x_new, g=g_new, grads=grads_new), info


def marina(compressor, step_size, p) -> Algorithm:
    """MARINA (Gorbunov et al. 2021; spec ALGORITHMS.md §5.3).

    Init ``g_i⁰ = ∇f_i(x⁰)``. Step: ``x⁺ = x − γ g`` with ``g = (1/n)Σ g_i``; one coin
    ``c ~ Bern(p)`` shared by all workers; ``c = 1``: ``g_i⁺ = ∇f_i(x⁺)``; else
    ``g_i⁺ = g_i + Q_i(∇f_i(x⁺) − ∇f_i(x))``.

    Bits per worker: setup uplink 32d (the initial gradient, via ``setup``); per step uplink 32d
    on full rounds, else the compressor's message; downlink one 32d broadcast of x⁺ per step
    (seed 003 does not count it). ``compressor`` must be unbiased; ``p`` ∈ (0, 1].
    Theory parameters: :func:`marina_theory`.
    """
    where = "marina: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    check_probability(p, where=where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size, p), setup=Partial(_setup)
    )


def _ab_constants(problem, compressor, where):
    """``(L_−, (A−B)L_+² + B L_±²)`` of the AB-form step."""
    n, d = problem.n, problem.d
    ab = compressor.ab(d, n)
    if ab is None:
        require(None, "ab(d, n)", compressor, where)
    A, B = (float(v) for v in ab)
    c = problem.constants
    L = float(c.L)
    # L_+ and L_± where the problem gives them; otherwise their valid upper bounds
    # L_+ ≤ L_QM = √((1/n)ΣL_i²) and L_± ≤ L_+ (a smaller, still valid step).
    if c.L_plus is not None:
        L_plus = float(c.L_plus)
    else:
        L_plus = math.sqrt(float(jnp.mean(jnp.asarray(c.L_i) ** 2)))
    L_pm = float(c.L_pm) if c.L_pm is not None else L_plus
    return L, (A - B) * L_plus**2 + B * L_pm**2


def _marina_gamma(L, S, p):
    return 1.0 / (L + math.sqrt((1.0 - p) / p * S))


def marina_p_star(problem, compressor) -> float:
    """Seed 003 D.2.1: ``p* = argmin_{p∈[1e-5, 1]} [p·32d + (1−p)ζ]·[L_− + √((1−p)/p·S)]``,
    ``S = (A−B)L_+² + BL_±²``, ζ = the expected uplink bits per client of a compressed round
    (``compressor.expected_cost(d, n)[0]``). Bounded scalar minimization (scipy), compared with
    the endpoint p = 1 (GD)."""
    from scipy.optimize import minimize_scalar

    where = "marina_theory: "
    L, S = _ab_constants(problem, compressor, where)
    d, n = problem.d, problem.n
    zeta = float(compressor.expected_cost(d, n)[0])
    full = 32.0 * d

    def objective(p):
        return (p * full + (1.0 - p) * zeta) / _marina_gamma(L, S, p)

    res = minimize_scalar(objective, bounds=(1e-5, 1.0), method="bounded")
    p = float(res.x)
    return 1.0 if objective(1.0) <= objective(p) else p


def marina_theory(problem, compressor, p=None) -> dict:
    """AB-form step (Szlendak et al. 2022; spec §5.3)::

        γ = 1/(L_− + √((1−p)/p · ((A−B)L_+² + B L_±²))),   (A, B) = compressor.ab(d, n),

    with ``p`` given, or by default the seed-003 D.2.1 rule :func:`marina_p_star`. Where the
    problem does not define L_+ (L_±) the bound L_QM (L_+) is used. Returns ``step_size`` and
    ``p``: ``marina(compressor, **marina_theory(problem, compressor))``.
    """
    where = "marina_theory: "
    check_compressor(compressor, where, unbiased=True)
    if p is None:
        p = marina_p_star(problem, compressor)
    check_probability(p, where=where)
    p = float(p)
    L, S = _ab_constants(problem, compressor, where)
    return {"step_size": _marina_gamma(L, S, p), "p": p}
