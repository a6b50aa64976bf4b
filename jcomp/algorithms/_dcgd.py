"""DCGD / D-QSGD: distributed compressed gradient descent (no shifts)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from ._base import Algorithm, Info, broadcast_cost, check_step_size, message_cost, no_setup
from ._checks import check_compressor, require

__all__ = ["DCGDState", "dcgd", "dcgd_theory", "quadratic_dissimilarity_Z2"]

DCGD_RULES = ("shulgin", "stich")


class DCGDState(NamedTuple):
    x: jax.Array  # (d,) server model


def _init(key, problem, x0):
    del key, problem
    return DCGDState(x=x0)


def _step(compressor, step_size, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, grads)  # row i: Q_i(∇f_i(x))
    g = jnp.mean(msg.values, axis=0)  # (d,)
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return DCGDState(x=x - step_size * g), info


def dcgd(compressor, step_size) -> Algorithm:
    """DCGD (D-QSGD): ``x ← x − γ(1/n)Σ_i Q_i(∇f_i(x))`` (spec ALGORITHMS.md §5.1; seed 001
    Alg. 1, seed 002 Alg. 1 with h_i ≡ 0).

    Step keys: ``key_oracle`` (the gradient oracle, ignored by exact problems) and ``key_comp``
    (one call of the workers' compressors).

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


def quadratic_dissimilarity_Z2(problem) -> float | None:
    """Z² of the dissimilarity bound (seed 001 eq. 5) for a dense quadratic, **(derived)** in
    spec §1: ``Z² = 2 λ_max(Ā⁻¹ ((1/n)ΣA_i²) Ā⁻¹)`` (with ``ζ² = 2ζ_*²``). ``None`` when the
    problem has no dense per-worker Hessians ``A`` (n, d, d) or Ā is not positive definite."""
    A = getattr(problem, "A", None)
    if A is None or np.ndim(A) != 3:
        return None
    A = np.asarray(jax.device_get(A), dtype=np.float64)
    A_bar = A.mean(axis=0)
    w, V = np.linalg.eigh(A_bar)
    if w.min() <= 0:
        return None
    inv = (V / w) @ V.T
    S = np.einsum("nij,njk->ik", A, A) / A.shape[0]
    M = inv @ S @ inv
    return float(2.0 * np.linalg.eigvalsh(0.5 * (M + M.T)).max())


def dcgd_theory(problem, compressor, *, rule: str = "shulgin", Z2=None) -> dict:
    """Theory step of DCGD (spec §5.1; the rule used is named by ``rule``):

    * ``rule="shulgin"`` (default), Shulgin & Richtárik 2022 (seed 002) Thm 1 with h_i = 0
      (convex L_i-smooth f_i, σ = 0): ``γ = 1/(L + 2 max_i L_i ω_i/n) = 1/(L + 2 L_max ω/n)``.
    * ``rule="stich"``, Stich 2020 (seed 001) Thm 1 (D-QSGD): ``γ = 1/(2L(1 + Z²ω/n))``, with Z²
      of the dissimilarity bound ``(1/n)Σ‖∇f_i(x)‖² ≤ ζ² + Z²‖∇f(x)‖²`` (seed 001 eq. 5).
      ``Z2`` is taken from the argument; when omitted it is derived for a dense quadratic by
      :func:`quadratic_dissimilarity_Z2`; any other problem must pass it (Z² ≥ 1).

    ω = ``compressor.omega(d, n)`` (the same for every worker). Returns ``{"step_size": γ}``.
    """
    where = "dcgd_theory: "
    check_compressor(compressor, where, unbiased=True)
    if rule not in DCGD_RULES:
        raise ValueError(f"{where}rule={rule!r} is not allowed: expected one of {DCGD_RULES}")
    n, d = problem.n, problem.d
    c = problem.constants
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    if rule == "shulgin":
        return {"step_size": 1.0 / (float(c.L) + 2.0 * float(c.L_max) * omega / n)}
    if Z2 is None:
        Z2 = quadratic_dissimilarity_Z2(problem)
        if Z2 is None:
            raise ValueError(
                f"{where}rule='stich' needs Z2, the dissimilarity constant Z² of seed 001 eq. 5; "
                f"problem {getattr(problem, 'name', type(problem).__name__)!r} does not define "
                "it: pass Z2=... (a number ≥ 1)"
            )
    Z2 = float(Z2)
    if not (np.isfinite(Z2) and Z2 >= 1.0):
        raise ValueError(f"{where}Z2={Z2!r} is not allowed: expected a finite number ≥ 1")
    return {"step_size": 1.0 / (2.0 * float(c.L) * (1.0 + Z2 * omega / n))}
