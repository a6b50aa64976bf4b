"""CORE-GD: gradient descent with common random reconstruction (Yue et al. 2023)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import Algorithm, Info, check_step_size, message_cost, no_setup
from ._checks import check_compressor, compressor_name, require
from ._entry import AlgorithmEntry

__all__ = ["ENTRIES", "COREGDState", "core_gd", "core_gd_theory"]

#: Compressors that are linear for a fixed key with randomness shared by all workers, so the
#: server may average the workers' projections and send the m averages back.


class COREGDState(NamedTuple):
    x: jax.Array  # (d,) server model (every worker decodes the same ĝ, so holds the same x)


def _init(key, problem, x0):
    del key, problem
    return COREGDState(x=x0)


def _step(compressor, step_size, key, state, problem):
    key_comp, key_oracle = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    # Row i decodes worker i's projections p_i = Ξ∇f_i(x) with the shared Ξ; by linearity the
    # mean of the rows is the decode of the averaged projections (1/n)Σp_i that the server
    # sends back: ĝ = (1/m)ΞᵀΞ∇f(x).
    msg = compressor(key_comp, grads)
    g_hat = jnp.mean(msg.values, axis=0)  # (d,)
    cost = message_cost(msg)  # m floats per worker, each way
    return COREGDState(x=x - step_size * g_hat), Info(up=cost, down=cost)


def _check_linear(compressor, where):
    check_compressor(compressor, where, unbiased=True)
    if not compressor.linear_shared:
        raise ValueError(
            f"{where}compressor={compressor_name(compressor)} is not allowed: CORE-GD needs a "
            "linear compressor with shared randomness, so that the server can average the "
            "projections (compressor.linear_shared): core(m), sketch(p, unbiased=True), "
            "same_rand_k(k) or identity()"
        )
    return compressor


def core_gd(compressor, step_size) -> Algorithm:
    """CORE-GD (Yue et al. 2023; spec ALGORITHMS.md §5.3, **reconstructed**).

    Each step draws m Gaussian vectors ξ_j ~ N(0, I_d) from the shared key (``compressor =
    core(m)``); worker i sends ``p_ij = ⟨ξ_j, ∇f_i(x)⟩`` (m floats); the server averages them,
    ``p̄_j = (1/n)Σ_i p_ij``, and sends the m averages back; everyone decodes
    ``ĝ = (1/m)Σ_j p̄_jξ_j`` (unbiased: ``E ĝ = ∇f(x)``) and steps ``x ← x − γĝ``.

    Bits per step and worker: uplink 32m, downlink 32m (the compressor's message each way;
    the vectors come from the shared key, nothing else is sent). No setup traffic.
    ``compressor``: core(m) (also the unbiased sketch or the identity, which makes it GD).
    Each step splits its key into ``key_comp, key_oracle``. Theory: :func:`core_gd_theory`.
    """
    where = "core_gd: "
    _check_linear(compressor, where)
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_init), step=Partial(_step, compressor, step_size), setup=no_setup
    )


def core_gd_theory(problem, compressor) -> dict:
    """ "×1" step **(assumed**, EXPERIMENTS §6 Fig. 2): ``γ = 1/(L(1 + ω))``, ω =
    ``compressor.omega(d, n)`` = (d + 1)/m for CORE.

    It is the largest step of the descent lemma for an unbiased ĝ with
    ``E‖ĝ‖² = (1 + ω)‖∇f‖²`` (CORE: equality): ``E f(x⁺) ≤ f(x) − (γ/2)‖∇f(x)‖²``, so
    ``(1/T)Σ_t E‖∇f(x^t)‖² ≤ 2(f(x⁰) − f*)/(γT)``, and under μ-PL
    ``E f(x^t) − f* ≤ (1 − γμ)^t (f(x⁰) − f*)``.
    """
    where = "core_gd_theory: "
    _check_linear(compressor, where)
    omega = require(compressor.omega(problem.d, problem.n), "omega(d, n)", compressor, where)
    return {"step_size": 1.0 / (float(problem.constants.L) * (1.0 + omega))}


ENTRIES = (
    AlgorithmEntry(
        "core-gd",
        core_gd,
        core_gd_theory,
        "Yue et al. 2023 (CORE), reconstructed; seed 004 §6, F.1, F.2",
        "linear-unbiased",
        "γ = 1/(L(1 + ω)), ω = (d+1)/m (assumed)",
    ),
)
