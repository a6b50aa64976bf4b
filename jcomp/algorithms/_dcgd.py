"""DCGD / D-QSGD: distributed compressed gradient descent (no shifts)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import Algorithm, Info, broadcast_cost, check_step_size, message_cost, no_setup
from ._checks import check_compressor, require

__all__ = ["DCGDState", "dcgd", "dcgd_theory"]


class DCGDState(NamedTuple):
    x: jax.Array  # (d,) server model


def _init(key, problem, x0):
    del key, problem
    return DCGDState(x=x0)


def _step(compressor, step_size, key, state, problem):
    key_comp = key  # the step's only random draw: one call of the workers' compressors
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x))  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, grads)  # row i: Q_i(∇f_i(x))
    g = jnp.mean(msg.values, axis=0)  # (d,)
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return DCGDState(x=x - step_size * g), info


def dcgd(compressor, step_size) -> Algorithm:
    """DCGD (D-QSGD): ``x ← x − γ(1/n)Σ_i Q_i(∇f_i(x))`` (spec ALGORITHMS.md §5.1).

    Bits per step and worker: uplink = the compressor's message ``Q_i(∇f_i(x))`` (its realized
    ``bits``/``bits_noidx``/``coords``); downlink = one 32d broadcast of x. No setup traffic.
    ``compressor`` must be unbiased (U(ω)). Converges to a neighbourhood of x* whose size is
    proportional to ``γ(ω/n)(1/n)Σ‖∇f_i(x*)‖²`` (Shulgin & Richtárik 2022, Thm 1 with h_i = 0).
    Theory step: :func:`dcgd_theory`. Paper: Khirirat et al. 2018; Alistarh et al. 2017 (QSGD).
    """
    where = "dcgd: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size), setup=no_setup
    )


def dcgd_theory(problem, compressor) -> dict:
    """Shulgin & Richtárik 2022, Thm 1 (spec §5.1 default): ``γ = 1/(L + 2 max_i L_i ω/n)``.

    ω = ``compressor.omega(d, n)`` (the same for every worker), so ``max_i L_iω_i = L_max ω``.
    """
    check_compressor(compressor, "dcgd_theory: ", unbiased=True)
    n, d = problem.n, problem.d
    c = problem.constants
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, "dcgd_theory: ")
    return {"step_size": 1.0 / (float(c.L) + 2.0 * float(c.L_max) * omega / n)}
