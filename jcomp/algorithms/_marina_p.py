"""MARINA-P: server-to-worker (downlink) compression (Gruntkowska, Tyurin, Richtárik 2024)."""

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
    no_setup,
)
from ._checks import check_compressor, require

__all__ = ["MARINAPState", "marina_p", "marina_p_default_p", "marina_p_theory"]


class MARINAPState(NamedTuple):
    x: jax.Array  # (d,) server model
    w: jax.Array  # (n, d) worker i's model w_i (where it evaluates ∇f_i)


def _init(key, problem, x0):
    del key
    return MARINAPState(x=x0, w=jnp.array(problem.broadcast(x0)))  # w_i⁰ = x⁰


def _step(compressor, step_size, p, key, state, problem):
    key_coin, key_comp, key_oracle = jax.random.split(key, 3)
    x = state.x
    n, d = problem.n, problem.d
    g = problem.mean_worker_grad(state.w, key_oracle)  # (d,) (1/n)Σ∇f_i(w_i)
    x_new = x - step_size * g  # (d,)
    msg = compressor(key_comp, problem.broadcast(x_new - x))  # row i: C_i(x⁺ − x)
    full = jax.random.bernoulli(key_coin, p)  # one coin shared by all workers
    w_new = jnp.where(full, problem.broadcast(x_new), state.w + msg.values)
    down = broadcast_cost(n, d, x.dtype).where(full, message_cost(msg))
    info = Info(up=dense_cost(n, d, x.dtype), down=down)
    return MARINAPState(x=x_new, w=w_new), info


def marina_p(compressor, step_size, p) -> Algorithm:
    """MARINA-P (seed 004 Alg. 1; spec ALGORITHMS.md §5.3).

    ``w_i⁰ = x⁰``. Step: ``x⁺ = x − γ(1/n)Σ∇f_i(w_i)``; one coin ``c ~ Bern(p)`` shared by all
    workers; ``c = 1``: the server sends x⁺ to every worker, ``w_i ← x⁺``; else it sends
    ``C_i(x⁺ − x)`` to worker i, ``w_i ← w_i + C_i(x⁺ − x)`` (the compressor applied to the
    broadcast difference: correlated compressors such as PermK split it between workers).

    Bits per step and worker: uplink 32d (dense ∇f_i(w_i)); downlink 32d on full rounds, else
    the compressor's message to that worker. No setup traffic. ``compressor`` must be unbiased;
    ``p`` ∈ (0, 1]. Each step splits its key into ``key_coin, key_comp, key_oracle``. Theory
    parameters: :func:`marina_p_theory`.
    """
    where = "marina_p: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    check_probability(p, where=where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size, p), setup=no_setup
    )


def _perm_k_inner(compressor):
    """The PermK inside ``compressor`` (itself, or the inner of ``compose(outer, perm_k())``)."""
    seen = 0
    c = compressor
    while c is not None and seen < 8:
        if getattr(c, "name", None) == "perm_k":
            return c
        c = getattr(c, "inner", None)
        seen += 1
    return None


def marina_p_default_p(problem, compressor) -> float:
    """Default ``p = K/d`` (seed 004 L3440; spec §5.3 and EXPERIMENTS.md §6).

    PermK (also as the inner of a composition, e.g. PermK∘C_nat): ``K = max(1, ⌊d/n⌋)``, so
    ``p = 1/n`` when n | d and ``p = 1/d`` when d < n. Any other compressor: ``K`` = its expected
    coordinates per worker message (``compressor.expected_cost(d, n)[2]``), so ``p = K/d`` for
    RandK and SameRandK (= 1/(ω+1)) and ``p = 1`` for the identity. Clipped to ``[1/d, 1]``.
    Note PermK's K/d is not its expected coords/d when n ∤ d (⌊d/n⌋/d vs 1/n) or d < n
    (1/d vs q/n); the spec's K is used, as seed 004 does.
    """
    n, d = problem.n, problem.d
    if _perm_k_inner(compressor) is not None:
        K = max(1, d // n)
    else:
        K = float(compressor.expected_cost(d, n)[2])
    return min(1.0, max(K / d, 1.0 / d))


_RULES = ("d2", "d1", "pl")


def marina_p_theory(
    problem, compressor, p=None, rule="d2", omega=None, theta=None, mu=None
) -> dict:
    """Step sizes of seed 004 for any collection ``C_i ∈ U(ω)``, ``{C_i} ∈ P(θ)``, with
    ω = ``compressor.omega(d, n)`` and θ = ``compressor.theta(d, n)`` (options ``omega``,
    ``theta`` override them) and (L_A, L_B) from ``problem.constants`` (for quadratics Thm 4.9's
    pair; where a problem does not give them, the pair (L_max, 0) of Thm 4.4, valid for any
    L_i-smooth f_i)::

        d2: (L + √((ωL_A² + θL_B²)/p))⁻¹                       "×1" rule, Thm D.2 (default)
        d1: (L + √((ωL_A² + θL_B²)(1/p − 1)))⁻¹                 general bound, Thm D.1 / Thm 4.6
        pl: min{(L + √(2(ωL_A² + θL_B²)(1/p − 1)))⁻¹, p/(2μ)}  PL case, Thm D.10

    ``rule`` picks ``step_size``; ``step_size_d1`` (Thm D.1) is always returned too, for logs.
    ``mu`` (PL constant) defaults to the problem's ``constants.mu``. ``p`` defaults to
    :func:`marina_p_default_p` (K/d). Thm D.2's three cases are the d2 formula with θ = ω
    (SameRandK), θ = ω/n (independent RandK), θ = 0 (PermK); other collections use their own
    ω, θ (PermK∘C_nat: ω = 9n/8 − 1, θ = 1/8). Returns ``step_size``, ``p`` and
    ``step_size_d1`` (the registry drops the last).
    """
    where = "marina_p_theory: "
    check_compressor(compressor, where, unbiased=True)
    if rule not in _RULES:
        raise ValueError(f"{where}rule={rule!r} is not allowed: expected one of {_RULES}")
    n, d = problem.n, problem.d
    if p is None:
        p = marina_p_default_p(problem, compressor)
    check_probability(p, where=where)
    p = float(p)
    if omega is None:
        omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    if theta is None:
        theta = require(compressor.theta(d, n), "theta(d, n)", compressor, where)
    omega, theta = float(omega), float(theta)
    for name, v in (("omega", omega), ("theta", theta)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{where}{name}={v!r} is not allowed: expected a finite number ≥ 0")
    c = problem.constants
    L = float(c.L)
    if c.L_A is not None and c.L_B is not None:
        L_A, L_B = float(c.L_A), float(c.L_B)
    else:
        L_A, L_B = float(c.L_max), 0.0
    S = omega * L_A**2 + theta * L_B**2
    d1 = 1.0 / (L + math.sqrt(S * (1.0 / p - 1.0)))
    if rule == "d2":
        step = 1.0 / (L + math.sqrt(S / p))
    elif rule == "d1":
        step = d1
    else:
        if mu is None:
            mu = c.mu
        if mu is None or not float(mu) > 0:
            raise ValueError(
                f"{where}mu={mu!r} is not allowed with rule='pl': expected a PL constant > 0"
            )
        step = min(1.0 / (L + math.sqrt(2.0 * S * (1.0 / p - 1.0))), p / (2.0 * float(mu)))
    return {"step_size": step, "p": p, "step_size_d1": d1}
