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
from ._checks import check_compressor, compressor_name, require

__all__ = ["MARINAState", "marina", "marina_ab", "marina_p_star", "marina_theory"]


class MARINAState(NamedTuple):
    x: jax.Array  # (d,) server model
    g: jax.Array  # (n, d) worker estimators g_i; the server's estimator is their mean
    grads: jax.Array  # (n, d) ∇f_i(x), kept so each step evaluates the oracle once


def _init(key, problem, x0):
    key_oracle = key
    grads = problem.worker_grads(problem.broadcast(x0), key_oracle)  # (n, d) g_i⁰ = ∇f_i(x⁰)
    return MARINAState(x=x0, g=grads, grads=grads)


def _setup(problem):
    dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
    return Info(up=dense_cost(problem.n, problem.d, dtype), down=zero_cost(problem.n, dtype))


def _step(compressor, step_size, p, key, state, problem):
    key_coin, key_comp, key_oracle = jax.random.split(key, 3)
    x = state.x
    n, d = problem.n, problem.d
    x_new = x - step_size * jnp.mean(state.g, axis=0)  # (d,)
    grads_new = problem.worker_grads(problem.broadcast(x_new), key_oracle)  # (n, d) ∇f_i(x⁺)
    msg = compressor(key_comp, grads_new - state.grads)  # row i: Q_i(∇f_i(x⁺) − ∇f_i(x))
    full = jax.random.bernoulli(key_coin, p)  # one coin shared by all workers
    g_new = jnp.where(full, grads_new, state.g + msg.values)
    up = dense_cost(n, d, x.dtype).where(full, message_cost(msg))
    info = Info(up=up, down=broadcast_cost(n, d, x.dtype))
    return MARINAState(x=x_new, g=g_new, grads=grads_new), info


def check_marina_compressor(compressor, where: str):
    """MARINA needs unbiased compressors; DRIVE with its default Hadamard rotation is admitted
    too (seed 003 runs MARINA+DRIVE as its baseline; the spec marks DRIVE-Hadamard as biased,
    close to unbiased for large dense inputs, with the theory value ω = π/2 − 1)."""
    check_compressor(compressor, where)
    base = getattr(compressor, "base", None) if compressor.name == "iscc" else compressor
    if getattr(base, "name", None) == "drive":  # DRIVE, or ISCC over DRIVE (seed 003 Fig. 5)
        return compressor
    return check_compressor(compressor, where, unbiased=True)


def marina(compressor, step_size, p) -> Algorithm:
    """MARINA (Gorbunov et al. 2021; Szlendak et al. 2022; seed 003 Alg. 1; spec ALGORITHMS.md
    §5.3).

    Init ``g_i⁰ = ∇f_i(x⁰)``. Step: ``x⁺ = x − γ g`` with ``g = (1/n)Σ g_i``; one coin
    ``c ~ Bern(p)`` shared by all workers; ``c = 1``: ``g_i⁺ = ∇f_i(x⁺)``; else
    ``g_i⁺ = g_i + Q_i(∇f_i(x⁺) − ∇f_i(x))``. Any collection {Q_i} works: independent (RandK, IQ,
    DRIVE) or correlated (PermK, CQ, PermK+CQ, ISCC); the compressor sees all n differences.

    Bits per worker: setup uplink 32d (the initial gradient, via ``setup``); per step uplink 32d
    on full rounds, else the compressor's message; downlink one 32d broadcast of x⁺ per step
    (seed 003 does not count it). ``compressor`` must be unbiased (DRIVE-Hadamard admitted, see
    :func:`check_marina_compressor`); ``p`` ∈ (0, 1]. Each step splits its key into
    ``key_coin, key_comp, key_oracle``. Theory parameters: :func:`marina_theory`.
    """
    where = "marina: "
    check_marina_compressor(compressor, where)
    check_step_size(step_size, where=where)
    check_probability(p, where=where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size, p), setup=Partial(_setup)
    )


def marina_ab(problem, compressor, where: str = "marina_theory: ") -> tuple[float, float]:
    """``(A, B)`` of the AB-form step: ``compressor.ab(d, n)``, as spec §4/§5.3 list them:

    IQ ``(d/(4n), 0)`` and CQ ``(d/(4n²), 0)`` (paper constants, ``ab_mode="paper"``; CQ keeps
    B = 0 even when L_± ≠ 0, as seed 003 does), DRIVE ``((π/2 − 1)/n, 0)`` (independent),
    PermK ``(1, 1)`` (d ≥ n), PermK+CQ ``(b·A_CQ, 0)``, RandK ``(ω/n, 0)``, ISCC its unweighted
    ``((ω+1)/(τnq_min), 1/τ)``."""
    ab = compressor.ab(problem.d, problem.n)
    if ab is None:
        require(None, "ab(d, n)", compressor, where)
    A, B = (float(v) for v in ab)
    if not (A >= B >= 0):
        raise ValueError(
            f"{where}compressor={compressor_name(compressor)} gives (A, B) = ({A}, {B}): the "
            "AB-form step needs A ≥ B ≥ 0"
        )
    return A, B


def _smoothness(problem) -> tuple[float, float, float]:
    """``(L_−, L_+, L_±)`` where the problem gives them; otherwise their valid upper bounds
    ``L_+ ≤ L_QM = √((1/n)ΣL_i²)`` and ``L_± ≤ L_+`` (a smaller, still valid step)."""
    c = problem.constants
    L = float(c.L)
    if c.L_plus is not None:
        L_plus = float(c.L_plus)
    else:
        L_plus = math.sqrt(float(jnp.mean(jnp.asarray(c.L_i) ** 2)))
    L_pm = float(c.L_pm) if c.L_pm is not None else L_plus
    return L, L_plus, L_pm


def _ab_constants(problem, compressor, where, ab=None):
    """``(L_−, S)`` with ``S = (A−B)L_+² + B L_±²`` of the AB-form step."""
    A, B = marina_ab(problem, compressor, where) if ab is None else (float(v) for v in ab)
    L, L_plus, L_pm = _smoothness(problem)
    return L, (A - B) * L_plus**2 + B * L_pm**2


def _marina_gamma(L, S, p):
    return 1.0 / (L + math.sqrt((1.0 - p) / p * S))


def _p_star(L: float, S: float, d: int, zeta: float, float_bits: int = 32) -> float:
    """``argmin_{p∈[1e-5, 1]} [p·32d + (1−p)ζ] / γ(p)`` (bounded scalar minimization, scipy),
    compared with the endpoint p = 1 (GD)."""
    from scipy.optimize import minimize_scalar

    full = float(float_bits) * d

    def objective(p):
        return (p * full + (1.0 - p) * zeta) / _marina_gamma(L, S, p)

    res = minimize_scalar(objective, bounds=(1e-5, 1.0), method="bounded")
    p = float(res.x)
    return 1.0 if objective(1.0) <= objective(p) else p


def marina_p_star(problem, compressor, ab=None) -> float:
    """Seed 003 D.2.1: ``p* = argmin_{p∈[1e-5, 1]} [p·32d + (1−p)ζ]·[L_− + √((1−p)/p·S)]``,
    ``S = (A−B)L_+² + BL_±²``, ζ = the expected uplink bits per client of a compressed round
    (``compressor.expected_cost(d, n)[0]``; ISCC: averaged over clients, τ/n base messages).
    Bounded scalar minimization (scipy), compared with the endpoint p = 1 (GD)."""
    where = "marina_theory: "
    L, S = _ab_constants(problem, compressor, where, ab)
    zeta = float(compressor.expected_cost(problem.d, problem.n)[0])
    return _p_star(L, S, problem.d, zeta)


def marina_theory(problem, compressor, p=None, ab=None) -> dict:
    """AB-form step (Szlendak et al. 2022; spec §5.3)::

        γ = 1/(L_− + √((1−p)/p · ((A−B)L_+² + B L_±²))),   (A, B) = :func:`marina_ab`,

    with ``p`` given (fixed-p option), or by default the seed-003 D.2.1 rule
    :func:`marina_p_star`. PermK (A = B = 1) gives ``γ = 1/(L_− + √((1−p)/p)·L_±)``. Option
    ``ab=(A, B)`` overrides the compressor's constants (e.g. the exact ones of IQ/CQ). Where the
    problem does not define L_+ (L_±) the bound L_QM (L_+) is used. Returns ``step_size`` and
    ``p``: ``marina(compressor, **marina_theory(problem, compressor))``.
    """
    where = "marina_theory: "
    check_marina_compressor(compressor, where)
    if ab is not None:
        A, B = (float(v) for v in ab)
        if not (A >= B >= 0):
            raise ValueError(f"{where}ab={ab!r} is not allowed: expected (A, B) with A ≥ B ≥ 0")
    else:
        A, B = marina_ab(problem, compressor, where)
    if p is None:
        p = marina_p_star(problem, compressor, (A, B))
    check_probability(p, where=where)
    p = float(p)
    L, S = _ab_constants(problem, compressor, where, (A, B))
    return {"step_size": _marina_gamma(L, S, p), "p": p}
