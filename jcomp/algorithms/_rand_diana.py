"""Rand-DIANA: shifts h_i = ∇f_i(w_i) with reference points refreshed by per-worker coins
(Shulgin & Richtárik 2022, eq. 12, Thm 4)."""

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
from ._checks import check_compressor, require
from ._entry import AlgorithmEntry

__all__ = ["ENTRIES", "RandDIANAState", "rand_diana", "rand_diana_theory"]


class RandDIANAState(NamedTuple):
    x: jax.Array  # (d,) server model
    w: jax.Array  # (n, d) worker i's reference point w_i
    h: jax.Array  # (n, d) shifts h_i = ∇f_i(w_i), held by worker i and (uploaded) by the server


def _init(key, problem, x0):
    key_oracle = key
    w = jnp.array(problem.broadcast(x0))  # w_i⁰ = x⁰
    h = problem.worker_grads(w, key_oracle)  # h_i⁰ = ∇f_i(x⁰), uploaded once (setup)
    return RandDIANAState(x=x0, w=w, h=h)


def _setup(problem):
    dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
    return Info(up=dense_cost(problem.n, problem.d, dtype), down=zero_cost(problem.n, dtype))


def _step(compressor, step_size, p, key, state, problem):
    key_oracle, key_coin, key_comp = jax.random.split(key, 3)
    x = state.x
    n, d = problem.n, problem.d
    X = problem.broadcast(x)
    grads = problem.worker_grads(X, key_oracle)  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, grads - state.h)  # row i: Q_i(∇f_i(x) − h_i)
    g = jnp.mean(state.h + msg.values, axis=0)  # (d,) (1/n)Σ[h_i + Q_i(∇f_i(x) − h_i)]
    coins = jax.random.bernoulli(key_coin, jnp.broadcast_to(p, (n,)))  # (n,) one per worker
    w_new = jnp.where(coins[:, None], X, state.w)  # w_i ← x (the x where g was taken)
    h_new = jnp.where(coins[:, None], grads, state.h)  # and uploads ∇f_i(w_i) = ∇f_i(x)
    up = message_cost(msg) + dense_cost(n, d, x.dtype).where(coins, zero_cost(n, x.dtype))
    info = Info(up=up, down=broadcast_cost(n, d, x.dtype))
    return RandDIANAState(x=x - step_size * g, w=w_new, h=h_new), info


def _check_p(p, where):
    check_probability(p, where=where)
    if isinstance(p, jax.core.Tracer):
        return
    if np.ndim(p) > 1:
        raise ValueError(
            f"{where}p has shape {np.shape(p)}: expected a number or an (n,) array (one "
            "probability per worker)"
        )


def rand_diana(compressor, step_size, p) -> Algorithm:
    """Rand-DIANA (Shulgin & Richtárik 2022 (seed 002) eq. 12; spec ALGORITHMS.md §5.1)::

        h_i = ∇f_i(w_i),   g = (1/n)Σ[h_i + Q_i(∇f_i(x) − h_i)],   x ← x − γ g,

    then each worker independently, with probability p_i, sets ``w_i ← x`` (the x where g was
    taken) and uploads ``h_i = ∇f_i(w_i)`` (which it has just computed). Init ``w_i⁰ = x⁰``,
    ``h_i⁰ = ∇f_i(x⁰)``. ``p``: a number or an (n,) array of p_i ∈ (0, 1] (may be traced).
    Step keys: ``key_oracle``, ``key_coin`` (the n independent coins), ``key_comp``.

    Bits per worker: setup uplink 32d (h_i⁰, via ``setup``); per step uplink = Q's message plus
    32d when the worker's coin refreshed its shift (realized coins); downlink one 32d broadcast
    of x. ``compressor`` must be unbiased. Theory parameters: :func:`rand_diana_theory`.
    """
    where = "rand_diana: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    _check_p(p, where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size, p), setup=Partial(_setup)
    )


def rand_diana_theory(problem, compressor, p=None, *, b=2.0) -> dict:
    """Shulgin & Richtárik 2022 (seed 002) Thm 4 (f_i convex L_i-smooth, f μ-strongly convex)::

        p_i = 1/(ω + 1) (default),   M = b · 2ω/(n p_min) (b > 1; default b = 2),
        γ = 1/((1 + 2ω/n) L_max + M max_i p_i L_i),

    so that ``V = ‖x − x*‖² + Mγ²(1/n)Σ‖h_i − ∇f_i(x*)‖²`` contracts in expectation by
    ``max{1 − γμ, 1 − p_min + 2ω/(nM)}`` per step. ω = ``compressor.omega(d, n)`` (the same for
    every worker; with heterogeneous ω_i the spec says use the max). ``p`` may be a number or an
    (n,) array. Returns ``step_size``, ``p`` (the factory's keywords) and ``M``.
    """
    where = "rand_diana_theory: "
    check_compressor(compressor, where, unbiased=True)
    n, d = problem.n, problem.d
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    if p is None:
        p = 1.0 / (omega + 1.0)
    _check_p(p, where)
    b = float(b)
    if not (math.isfinite(b) and b > 1.0):
        raise ValueError(f"{where}b={b!r} is not allowed: Thm 4 needs M > 2ω/(n p_min), b > 1")
    p_arr = np.broadcast_to(np.asarray(p, dtype=np.float64), (n,))
    L_i = np.broadcast_to(np.asarray(jax.device_get(problem.constants.L_i), np.float64), (n,))
    L_max = float(problem.constants.L_max)
    M = b * 2.0 * omega / (n * float(p_arr.min()))
    gamma = 1.0 / ((1.0 + 2.0 * omega / n) * L_max + M * float(np.max(p_arr * L_i)))
    p_out = float(p) if np.ndim(p) == 0 else p_arr.copy()
    return {"step_size": gamma, "p": p_out, "M": M}


ENTRIES = (
    AlgorithmEntry(
        "rand-diana",
        rand_diana,
        rand_diana_theory,
        "Shulgin & Richtárik 2022 (seed 002) eq. 12, Thm 4",
        "unbiased",
        "p = 1/(ω+1), M = 4ω/(n p), γ = 1/((1+2ω/n)L_max + M max_i p_i L_i) (Thm 4)",
    ),
)
