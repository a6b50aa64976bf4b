"""DIANA: compressed gradient differences with learned shifts, generalized with a contractive
compressor C (Shulgin & Richtárik 2022, eq. 10); C ≡ 0 is the original DIANA."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import Algorithm, Info, broadcast_cost, check_step_size, message_cost, no_setup
from ._checks import check_compressor, check_contractive, check_unit_interval, require

__all__ = ["DIANAState", "diana", "diana_theory"]

DIANA_RULES = ("shulgin", "stich", "seed000")


class DIANAState(NamedTuple):
    x: jax.Array  # (d,) server model
    h: jax.Array  # (n, d) worker shifts h_i
    h_bar: jax.Array  # (d,) the server's copy of the mean shift h = (1/n)Σ h_i


def _init(contractive, key, problem, x0):
    del key
    if contractive is not None:
        check_contractive(contractive, "diana: ", d=problem.d, name="contractive")
    h = jnp.zeros((problem.n, problem.d), x0.dtype)
    return DIANAState(x=x0, h=h, h_bar=jnp.zeros_like(x0))


def induced_message(compressor, contractive, key_comp, R):
    """``Δ_i = c_i + m_i`` with ``c_i = C_i(r_i)``, ``m_i = Q_i(r_i − c_i)`` (C ≡ 0 when
    ``contractive`` is None) and the cost of sending both. Keys as ``induced(C, Q)``:
    ``key_c, key_q = split(key_comp)``; with C ≡ 0 Q gets ``key_comp`` itself."""
    if contractive is None:
        msg = compressor(key_comp, R)
        return msg.values, message_cost(msg)
    key_c, key_q = jax.random.split(key_comp)
    msg_c = contractive(key_c, R)
    msg_q = compressor(key_q, R - msg_c.values)
    return msg_c.values + msg_q.values, message_cost(msg_c) + message_cost(msg_q)


def _step(compressor, contractive, step_size, alpha, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    delta, up = induced_message(compressor, contractive, key_comp, grads - state.h)  # (n, d)
    delta_bar = jnp.mean(delta, axis=0)  # (d,)
    g = state.h_bar + delta_bar  # (d,)
    new = DIANAState(
        x=x - step_size * g,
        h=state.h + alpha * delta,
        h_bar=state.h_bar + alpha * delta_bar,
    )
    info = Info(up=up, down=broadcast_cost(problem.n, problem.d, x.dtype))
    return new, info


def diana(compressor, step_size, alpha, contractive=None) -> Algorithm:
    """Generalized DIANA (Shulgin & Richtárik 2022 (seed 002) eq. 10; with ``contractive=None``,
    C ≡ 0, it is DIANA of Mishchenko et al. 2019 / seed 001 Alg. 3).

    Update (spec ALGORITHMS.md §5.1), shifts start at 0::

        r_i = ∇f_i(x) − h_i,   c_i = C_i(r_i),   m_i = Q_i(r_i − c_i),   Δ_i = c_i + m_i,
        g = h + (1/n)Σ Δ_i,    x ← x − γ g,
        h_i ← h_i + α Δ_i,     h ← h + α (1/n)Σ Δ_i.

    Δ_i is the induced compressor ``induced(C, Q)`` applied to r_i, with the same keys
    (``key_c, key_q = split(key_comp)``), so ``diana(Q, γ, α, contractive=C)`` and
    ``diana(induced(C, Q), γ, α)`` produce the same iterates. Step keys: ``key_oracle`` (gradient
    oracle), ``key_comp`` (the compressors).

    Bits per step and worker: uplink = C's message c_i plus Q's message m_i (realized
    ``bits``/``bits_noidx``/``coords`` summed; Q's alone when C ≡ 0); downlink = one 32d
    broadcast of x. No setup traffic. ``compressor`` (Q) must be unbiased (U(ω)); ``contractive``
    (C), when given, must be contractive (B(δ)); ``alpha`` ∈ (0, 1].
    Theory parameters: :func:`diana_theory`.
    """
    where = "diana: "
    check_compressor(compressor, where, unbiased=True)
    if contractive is not None:
        check_contractive(contractive, where, name="contractive")
    check_step_size(step_size, where=where)
    check_unit_interval(alpha, "alpha", where=where)
    return Algorithm(
        init=Partial(_init, contractive),
        step=Partial(_step, compressor, contractive, step_size, alpha),
        setup=no_setup,
    )


def diana_theory(problem, compressor, contractive=None, *, rule: str = "shulgin", M=None) -> dict:
    """Theory parameters of (generalized) DIANA; ω = ``compressor.omega(d, n)`` (the same for
    every worker), δ = ``contractive.delta(d)`` (δ := 0 for C ≡ 0).

    * ``rule="shulgin"`` (default): Shulgin & Richtárik 2022 Thm 3 as **reconstructed** in spec
      §5.1 (the seed prints ``M > 2/(nα)``, inconsistent with its rate; the spec uses
      ``M > 2ω_max/(nα)``)::

          α = 1/(1 + ω(1 − δ)),   M = 4ω/(nα) (default; any M > 2ω/(nα) may be passed),
          γ = 1/((2/n) max_i ω_i L_i + (1 + αM) L_max) = 1/((2ω/n) L_max + (1 + αM) L_max).

      With C ≡ 0: α = 1/(1+ω) and ``γ = 1/((1 + 6ω/n) L_max)``. The rate of ``V = ‖x − x*‖² +
      Mγ²(1/n)Σ‖h_i − ∇f_i(x*)‖²`` is ``max{1 − γμ, 1 − α + 2ω/(nM)}`` per step.
    * ``rule="stich"``: Stich 2020 (seed 001) Thm 5: ``γ = 1/(2L(1 + 2ω/n))``, ``α = 1/(1+ω)``.
      Thm 5 assumes f *and every f_i* L-smooth, so its L is taken as L_max (the smallest such
      common constant; the spec writes "L").
    * ``rule="seed000"``: the seed-000 code baseline ``γ = 1/(L_max(1 + 2ω/n))``, ``α = 1/(1+ω)``.

    ``stich`` and ``seed000`` cover C ≡ 0 only (a ``contractive`` is rejected there).
    Returns ``step_size``, ``alpha`` and ``contractive`` (passed through), the factory's keywords:
    ``diana(compressor, **diana_theory(problem, compressor, contractive))``.
    """
    where = "diana_theory: "
    check_compressor(compressor, where, unbiased=True)
    if rule not in DIANA_RULES:
        raise ValueError(f"{where}rule={rule!r} is not allowed: expected one of {DIANA_RULES}")
    n, d = problem.n, problem.d
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    c = problem.constants
    L_max = float(c.L_max)
    if rule != "shulgin":
        if contractive is not None:
            raise ValueError(
                f"{where}contractive={contractive!r} is not allowed with rule={rule!r}: that rule "
                "covers C ≡ 0 only; use rule='shulgin' (seed 002 Thm 3)"
            )
        if M is not None:
            raise ValueError(f"{where}M={M!r} is only used by rule='shulgin'")
        alpha = 1.0 / (1.0 + omega)
        if rule == "stich":
            gamma = 1.0 / (2.0 * L_max * (1.0 + 2.0 * omega / n))
        else:
            gamma = 1.0 / (L_max * (1.0 + 2.0 * omega / n))
        return {"step_size": gamma, "alpha": alpha, "contractive": None}
    delta = 0.0
    if contractive is not None:
        check_contractive(contractive, where, d=d, name="contractive")
        delta = float(contractive.delta(d))
    alpha = 1.0 / (1.0 + omega * (1.0 - delta))
    M_min = 2.0 * omega / (n * alpha)
    if M is None:
        M = 2.0 * M_min
    M = float(M)
    if not (math.isfinite(M) and (M_min < M or (M_min == 0.0 and M >= 0.0))):
        raise ValueError(
            f"{where}M={M!r} is not allowed: Thm 3 needs M > 2ω/(nα) = {M_min!r} (and M ≥ 0)"
        )
    gamma = 1.0 / ((2.0 / n) * omega * L_max + (1.0 + alpha * M) * L_max)
    return {"step_size": gamma, "alpha": alpha, "contractive": contractive}
