"""Weighted MARINA with the importance-sampling combinatorial compressor ISCC (seed 003 Alg. 4)."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
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
from ._entry import AlgorithmEntry
from ._marina import _marina_gamma, _p_star, check_marina_compressor

__all__ = [
    "ENTRIES",
    "WeightedMARINAState",
    "importance_weights",
    "weighted_ab",
    "weighted_iscc",
    "weighted_marina",
    "weighted_marina_theory",
    "weighted_smoothness",
]


class WeightedMARINAState(NamedTuple):
    x: jax.Array  # (d,) server model
    g: jax.Array  # (d,) the server's gradient estimator
    grads: jax.Array  # (n, d) ∇f_i(x), kept so each step evaluates the oracle once


def _init(key, problem, x0):
    key_oracle = key
    grads = problem.worker_grads(problem.broadcast(x0), key_oracle)  # (n, d) ∇f_i(x⁰)
    return WeightedMARINAState(x=x0, g=jnp.mean(grads, axis=0), grads=grads)


def _setup(problem):
    dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
    return Info(up=dense_cost(problem.n, problem.d, dtype), down=zero_cost(problem.n, dtype))


def _step(compressor, step_size, p, key, state, problem):
    key_coin, key_comp, key_oracle = jax.random.split(key, 3)
    x = state.x
    n, d = problem.n, problem.d
    x_new = x - step_size * state.g  # (d,)
    grads_new = problem.worker_grads(problem.broadcast(x_new), key_oracle)  # (n, d) ∇f_i(x⁺)
    # S(Δ_1..Δ_n): ISCC's rows are zero for clients not drawn, and (1/n)Σ rows = S(Δ)
    msg = compressor(key_comp, grads_new - state.grads)
    full = jax.random.bernoulli(key_coin, p)  # one coin shared by all workers
    g_new = jnp.where(full, jnp.mean(grads_new, axis=0), state.g + jnp.mean(msg.values, axis=0))
    up = dense_cost(n, d, x.dtype).where(full, message_cost(msg))
    info = Info(up=up, down=broadcast_cost(n, d, x.dtype))
    return WeightedMARINAState(x=x_new, g=g_new, grads=grads_new), info


def weighted_marina(compressor, step_size, p) -> Algorithm:
    """Weighted MARINA (seed 003 Alg. 4; spec ALGORITHMS.md §5.3), meant for ISCC.

    Init ``g⁰ = ∇f(x⁰)`` (every client uploads ∇f_i(x⁰)). Step: ``x⁺ = x − γg``; one coin
    ``c ~ Bern(p)`` shared by all; ``c = 1`` (full round): ``g⁺ = ∇f(x⁺)``, every client sends
    ∇f_i(x⁺); else ``g⁺ = g + S(Δ_1, …, Δ_n)``, ``Δ_i = ∇f_i(x⁺) − ∇f_i(x)``, where
    ``S = compressor`` (ISCC: τ clients χ ~ q drawn from the shared key, ``S = (1/τ)Σ
    C_χ(Δ_χ)/(nq_χ)``; only drawn clients send). The server keeps only g (d,).

    Bits per worker: setup uplink 32d; per step uplink 32d on full rounds, else the
    compressor's message (ISCC: the base message for a drawn client, 0 for the others; the
    trace's per-worker mean is the average over clients, its max the selected client's);
    downlink one 32d broadcast of x⁺. ``compressor`` must be unbiased in the mean (ISCC, or any
    unbiased collection, which is weighted AB with uniform w). Theory:
    :func:`weighted_marina_theory`; ISCC with ``q_i = L_i/ΣL_j``: :func:`weighted_iscc`.
    """
    where = "weighted_marina: "
    check_marina_compressor(compressor, where)
    check_step_size(step_size, where=where)
    check_probability(p, where=where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size, p), setup=Partial(_setup)
    )


def importance_weights(problem) -> tuple:
    """``q_i = L_i/ΣL_j`` (seed 003 App. C; spec §4 ISCC default), as a tuple of floats."""
    L_i = np.asarray(jax.device_get(problem.constants.L_i), dtype=np.float64)
    if not np.all(L_i > 0):
        raise ValueError(f"importance_weights: every L_i must be positive; got L_i={L_i}")
    q = L_i / L_i.sum()
    return tuple(float(v) for v in q)


def weighted_iscc(problem, base, tau: int = 1):
    """``iscc(base, weights=q, tau)`` with ``q_i = L_i/ΣL_j`` from the problem's constants."""
    from ..compressors import iscc

    return iscc(base, importance_weights(problem), tau)


def weighted_ab(problem, compressor, where: str = "weighted_marina_theory: "):
    """``(A, B, w)`` of the weighted AB inequality (seed 003 Asm. 6): ISCC's
    ``weighted_ab(d, n)`` (``A = (ω+1)/τ``, ``B = 1/τ``, ``w = q``); any other collection its
    plain ``ab(d, n)`` with uniform ``w_i = 1/n`` (with uniform w the weighted inequality is
    the plain one)."""
    n, d = problem.n, problem.d
    if hasattr(compressor, "weighted_ab"):
        A, B, w = compressor.weighted_ab(d, n)
    else:
        ab = compressor.ab(d, n)
        if ab is None:
            require(None, "ab(d, n)", compressor, where)
        (A, B), w = ab, (1.0 / n,) * n
    A, B = float(A), float(B)
    if not (A >= B >= 0):
        raise ValueError(
            f"{where}compressor={compressor_name(compressor)} gives (A, B) = ({A}, {B}): the "
            "step needs A ≥ B ≥ 0"
        )
    return A, B, tuple(float(v) for v in w)


def _spectrum_extremes(problem) -> np.ndarray:
    """Eigenvalues of a structured quadratic's S (only the extremes matter)."""
    from ..problems import tridiag_eigenvalues

    if problem.kind == "identity":
        return np.array([1.0])
    if problem.kind == "tridiag":
        s = tridiag_eigenvalues(problem.d)
        return np.array([s[0], s[-1]])
    return np.linalg.eigvalsh(np.asarray(problem.S, dtype=np.float64))


def weighted_smoothness(problem, w) -> tuple[float, float]:
    """``(L_{+,w}, L_{±,w})`` (spec §1, seed 003 Asm. 7–8) for weights ``w`` (n,).

    Computed here (the problem's ``constants`` do not carry weighted values), in float64:

    * dense quadratics ``A_i``: ``L_{+,w}² = λ_max((1/n)Σ A_i²/(nw_i))``,
      ``L_{±,w}² = λ_max((1/n)Σ A_i²/(nw_i) − Ā²)`` (``∇f_i(x) − ∇f_i(y) = A_i(x − y)``);
    * structured ``A_i = c_iS + τI`` (shared eigenbasis, ``a_ik = c_is_k + τ``):
      ``L_{+,w}² = max_k (1/n)Σ a_ik²/(nw_i)``, ``L_{±,w}² = max_k [(1/n)Σ a_ik²/(nw_i) − ā_k²]``;
      both are convex quadratics in s_k (the second's leading coefficient
      ``(1/n²)Σc_i²/w_i − c̄² ≥ 0`` by Cauchy–Schwarz), so the extremes of S's spectrum suffice;
    * any other problem: the bound ``L_{+,w}² ≤ (1/n)Σ L_i²/(nw_i)`` (= L_AM² for
      ``w_i = L_i/ΣL_j``) and ``L_{±,w} ≤ L_{+,w}``.
    """
    n = problem.n
    w = np.asarray(w, dtype=np.float64)
    scale = 1.0 / (n * w)  # (n,) the weights 1/(n w_i)
    if hasattr(problem, "A") and getattr(problem, "A", None) is not None:
        A = np.asarray(jax.device_get(problem.A), dtype=np.float64)
        Abar = A.mean(axis=0)
        M = np.einsum("n,nij,njk->ik", scale, A, A) / n
        lp2 = np.linalg.eigvalsh(M).max()
        lpm2 = np.linalg.eigvalsh(M - Abar @ Abar).max()
    elif hasattr(problem, "kind") and hasattr(problem, "c"):
        s = _spectrum_extremes(problem)
        c = np.asarray(jax.device_get(problem.c), dtype=np.float64)
        tau = float(problem.tau)
        a = c[:, None] * s[None, :] + tau  # (n, k)
        m2 = (scale[:, None] * a**2).mean(axis=0)
        lp2 = m2.max()
        lpm2 = (m2 - a.mean(axis=0) ** 2).max()
    else:
        L_i = np.asarray(jax.device_get(problem.constants.L_i), dtype=np.float64)
        lp2 = float(np.mean(scale * L_i**2))
        lpm2 = lp2
    return math.sqrt(max(float(lp2), 0.0)), math.sqrt(max(float(lpm2), 0.0))


def weighted_marina_theory(problem, compressor, p=None) -> dict:
    """Seed 003 Thm 2 step, **reconstructed** by analogy with the AB form (spec §5.3; the
    seed's formula is lost)::

        γ = 1/(L_− + √((1−p)/p · ((A−B)L_{+,w}² + B L_{±,w}²))),

    ``(A, B, w)`` = :func:`weighted_ab` (ISCC: ``(ω+1)/τ``, ``1/τ``, ``w = q``) and
    ``L_{+,w}, L_{±,w}`` = :func:`weighted_smoothness`. ``p`` given, or by default the seed-003
    D.2.1 rule with ζ = the compressor's ``expected_cost(d, n)[0]`` (ISCC: the average over
    clients, τ/n base messages; EXPERIMENTS §5 Fig. 5: ``(d′+32)/n`` for ISCC(DRIVE)).
    Returns ``step_size`` and ``p``.
    """
    where = "weighted_marina_theory: "
    check_compressor(compressor, where)
    check_marina_compressor(compressor, where)
    compressor.validate(problem.d, problem.n)
    A, B, w = weighted_ab(problem, compressor, where)
    L = float(problem.constants.L)
    L_pw, L_pmw = weighted_smoothness(problem, w)
    S = (A - B) * L_pw**2 + B * L_pmw**2
    if p is None:
        zeta = float(compressor.expected_cost(problem.d, problem.n)[0])
        p = _p_star(L, S, problem.d, zeta)
    check_probability(p, where=where)
    p = float(p)
    return {"step_size": _marina_gamma(L, S, p), "p": p}


ENTRIES = (
    AlgorithmEntry(
        "weighted-marina",
        weighted_marina,
        weighted_marina_theory,
        "Panferov et al. 2024 (seed 003) Alg. 4, Thm 2 (reconstructed), App. C (ISCC)",
        "unbiased",
        "γ = 1/(L_− + √((1−p)/p·((A−B)L_{+,w}² + BL_{±,w}²))), ISCC (A, B, w) = ((ω+1)/τ, 1/τ, q),"
        " p = p* (seed 003 D.2.1)",
    ),
)
