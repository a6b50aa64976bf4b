"""DIANA: compressed gradient differences with learned shifts (C ≡ 0 form)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import Algorithm, Info, broadcast_cost, check_step_size, message_cost, no_setup
from ._checks import check_compressor, check_unit_interval, require

__all__ = ["DIANAState", "diana", "diana_theory"]


class DIANAState(NamedTuple):
    x: jax.Array  # (d,) server model
    h: jax.Array  # (n, d) worker shifts h_i
    h_bar: jax.Array  # (d,) the server's copy of the mean shift h = (1/n)Σ h_i


def _init(key, problem, x0):
    del key
    h = jnp.zeros((problem.n, problem.d), x0.dtype)
    return DIANAState(x=x0, h=h, h_bar=jnp.zeros_like(x0))


def _step(compressor, step_size, alpha, key, state, problem):
    key_comp = key  # the step's only random draw: one call of the workers' compressors
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x))  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, grads - state.h)  # row i: m_i = Q_i(∇f_i(x) − h_i)
    m_bar = jnp.mean(msg.values, axis=0)  # (d,)
    g = state.h_bar + m_bar  # (d,)
    new = DIANAState(
        x=x - step_size * g,
        h=state.h + alpha * msg.values,
        h_bar=state.h_bar + alpha * m_bar,
    )
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return new, info


def diana(compressor, step_size, alpha) -> Algorithm:
    """DIANA (Mishchenko et al. 2019; the C ≡ 0 case of Shulgin & Richtárik 2022, eq. 10).

    Update (spec ALGORITHMS.md §5.1), shifts start at 0::

        m_i = Q_i(∇f_i(x) − h_i),   g = h + (1/n)Σ m_i,   x ← x − γ g,
        h_i ← h_i + α m_i,          h ← h + α (1/n)Σ m_i.

    Bits per step and worker: uplink = the compressor's message m_i; downlink = one 32d
    broadcast of x. No setup traffic. ``compressor`` must be unbiased (U(ω)); ``alpha`` ∈ (0, 1].
    Theory parameters: :func:`diana_theory`.
    """
    where = "diana: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    check_unit_interval(alpha, "alpha", where=where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size, alpha), setup=no_setup
    )


def diana_theory(problem, compressor) -> dict:
    """Shulgin & Richtárik 2022, Thm 3 (generalized DIANA) with C ≡ 0, as reconstructed in
    spec ALGORITHMS.md §5.1 (the seed prints ``M > 2/(nα)``, inconsistent with its rate)::

        α = 1/(1 + ω),   M = 4ω/(nα)  (default of M > 2ω/(nα)),
        γ = 1/((2/n) max_i ω_i L_i + (1 + αM) L_max) = 1/((2ω/n) L_max + (1 + αM) L_max).

    ω = ``compressor.omega(d, n)`` (the same for every worker). Returns ``step_size`` and
    ``alpha``, the factory's keywords: ``diana(compressor, **diana_theory(problem, compressor))``.
    With α = 1/(1+ω) and M = 4ω/(nα) this is ``γ = 1/((1 + 6ω/n) L_max)``.
    """
    where = "diana_theory: "
    check_compressor(compressor, where, unbiased=True)
    n, d = problem.n, problem.d
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    L_max = float(problem.constants.L_max)
    alpha = 1.0 / (1.0 + omega)
    M = 4.0 * omega / (n * alpha)
    gamma = 1.0 / ((2.0 / n) * omega * L_max + (1.0 + alpha * M) * L_max)
    return {"step_size": gamma, "alpha": alpha}
