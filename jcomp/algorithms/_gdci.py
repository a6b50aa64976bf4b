"""GDCI and VR-GDCI: distributed gradient descent with compressed iterates (Shulgin & Richtárik
2022, eq. 13, Thm 5; Chraïbi et al. 2019)."""

from __future__ import annotations

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
    message_cost,
    no_setup,
)
from ._checks import check_compressor, check_unit_interval, require
from ._entry import AlgorithmEntry

__all__ = [
    "ENTRIES",
    "GDCIState",
    "VRGDCIState",
    "gdci",
    "gdci_theory",
    "vr_gdci",
    "vr_gdci_theory",
]


class GDCIState(NamedTuple):
    x: jax.Array  # (d,) server model


def _gdci_init(key, problem, x0):
    del key, problem
    return GDCIState(x=x0)


def _gdci_step(compressor, step_size, eta, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    X = problem.broadcast(x)
    grads = problem.worker_grads(X, key_oracle)  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, X - step_size * grads)  # row i: Q_i(x − γ∇f_i(x))
    x_new = (1 - eta) * x + eta * jnp.mean(msg.values, axis=0)
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return GDCIState(x=x_new), info


def gdci(compressor, step_size, eta) -> Algorithm:
    """Distributed GDCI (Shulgin & Richtárik 2022 (seed 002) eq. 13; Khaled & Richtárik 2019,
    Chraïbi et al. 2019; spec ALGORITHMS.md §5.1)::

        x ← (1 − η) x + η (1/n)Σ Q_i(x − γ∇f_i(x)).

    Workers compress their local iterates ``x − γ∇f_i(x)``. Equivalently (same keys)
    ``x⁺ = x − ηγ(1/n)Σ Q̃_i(∇f_i(x))`` with the shifted compressor
    ``Q̃(z) = (1/γ)[x − Q(x − γz)] ∈ U(ω; x/γ)``: DCGD-SHIFT with shift x/γ and step ηγ.
    Step keys: ``key_oracle``, ``key_comp``.

    Bits per step and worker: uplink = Q's message; downlink one 32d broadcast of x. No setup
    traffic. ``compressor`` unbiased; ``step_size`` (γ) > 0, ``eta`` (η) ∈ (0, 1].
    Theory parameters: :func:`gdci_theory`.
    """
    where = "gdci: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    check_probability(eta, name="eta", where=where)
    return Algorithm(
        init=Partial(_gdci_init),
        step=Partial(_gdci_step, compressor, step_size, eta),
        setup=no_setup,
    )


def _gdci_steps(problem, compressor, where):
    """Thm 5's η and γ (taken at their bounds) and ω."""
    n, d = problem.n, problem.d
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    c = problem.constants
    if c.mu is None or not float(c.mu) > 0:
        raise ValueError(
            f"{where}the problem's mu={None if c.mu is None else float(c.mu)!r} is not allowed: "
            "Thm 5 needs a μ-strongly convex f (mu > 0)"
        )
    L, L_max, mu = float(c.L), float(c.L_max), float(c.mu)
    eta = 1.0 / (L / mu + (2.0 * omega / n) * (L_max / mu - 1.0))
    gamma = (1.0 + 2.0 * eta * omega / n) / (eta * (L + 2.0 * L_max * omega / n))
    return omega, eta, gamma


def gdci_theory(problem, compressor) -> dict:
    """Shulgin & Richtárik 2022 (seed 002) Thm 5 (f_i convex L_i-smooth, f L-smooth and
    μ-strongly convex, independent Q_i ∈ U(ω)), both step sizes at their bounds::

        η = [L/μ + (2ω/n)(L_max/μ − 1)]⁻¹,   γ = (1 + 2ηω/n) / (η (L + 2 L_max ω/n)),
        neighbourhood = η (2ω/n)(1/n)Σ‖x* − γ∇f_i(x*)‖²,

    so that ``E‖x^k − x*‖² ≤ (1 − η)^k‖x⁰ − x*‖² + neighbourhood`` (eq. 14). Returns
    ``step_size`` (γ), ``eta`` (the factory's keywords) and ``neighbourhood`` (None without x*).
    """
    where = "gdci_theory: "
    check_compressor(compressor, where, unbiased=True)
    omega, eta, gamma = _gdci_steps(problem, compressor, where)
    nbhd = None
    if problem.x_star is not None:
        xs = np.asarray(problem.x_star, dtype=np.float64)
        G = np.asarray(problem.worker_grads(problem.broadcast(problem.x_star)), np.float64)
        dist = np.mean(np.sum((xs[None, :] - gamma * G) ** 2, axis=1))
        nbhd = float(eta * (2.0 * omega / problem.n) * dist)
    return {"step_size": gamma, "eta": eta, "neighbourhood": nbhd}


# ---------------------------------------------------------------- VR-GDCI


class VRGDCIState(NamedTuple):
    x: jax.Array  # (d,) server model
    s: jax.Array  # (n, d) worker shifts s_i (learned local iterates)
    s_bar: jax.Array  # (d,) the server's mean shift s = (1/n)Σ s_i


def _vr_init(key, problem, x0):
    del key
    s = jnp.array(problem.broadcast(x0))  # s_i⁰ = x⁰, known to both sides: free
    return VRGDCIState(x=x0, s=s, s_bar=x0)


def _vr_step(compressor, step_size, eta, alpha, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    X = problem.broadcast(x)
    grads = problem.worker_grads(X, key_oracle)  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, X - step_size * grads - state.s)  # m_i = Q_i(y_i − s_i)
    m_bar = jnp.mean(msg.values, axis=0)  # (d,)
    new = VRGDCIState(
        x=(1 - eta) * x + eta * (state.s_bar + m_bar),
        s=state.s + alpha * msg.values,
        s_bar=state.s_bar + alpha * m_bar,
    )
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return new, info


def vr_gdci(compressor, step_size, eta, alpha) -> Algorithm:
    """VR-GDCI, **reconstructed** (seed 002 defers it to its absent supplement; spec §5.1 uses
    the DIANA-style form of Chraïbi et al. 2019)::

        y_i = x − γ∇f_i(x),   m_i = Q_i(y_i − s_i),
        x ← (1 − η) x + η (s + (1/n)Σ m_i),
        s_i ← s_i + α m_i,    s ← s + α (1/n)Σ m_i,

    with ``s_i⁰ = x⁰`` (known to every party: free). The shifts learn the local iterates
    ``s_i → x* − γ∇f_i(x*)``, which removes GDCI's neighbourhood. Step keys: ``key_oracle``,
    ``key_comp``.

    Bits per step and worker: uplink = Q's message m_i; downlink one 32d broadcast of x. No
    setup traffic. ``compressor`` unbiased; γ > 0; η, α ∈ (0, 1].
    Theory parameters: :func:`vr_gdci_theory`.
    """
    where = "vr_gdci: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    check_probability(eta, name="eta", where=where)
    check_unit_interval(alpha, "alpha", where=where)
    return Algorithm(
        init=Partial(_vr_init),
        step=Partial(_vr_step, compressor, step_size, eta, alpha),
        setup=no_setup,
    )


def vr_gdci_theory(problem, compressor) -> dict:
    """Spec §5.1 (**reconstructed**; no theorem survives in seed 002): η and γ as GDCI
    (:func:`gdci_theory`, Thm 5) and ``α = 1/(1 + ω)``. Returns ``step_size``, ``eta``,
    ``alpha``."""
    where = "vr_gdci_theory: "
    check_compressor(compressor, where, unbiased=True)
    omega, eta, gamma = _gdci_steps(problem, compressor, where)
    return {"step_size": gamma, "eta": eta, "alpha": 1.0 / (1.0 + omega)}


ENTRIES = (
    AlgorithmEntry(
        "gdci",
        gdci,
        gdci_theory,
        "Shulgin & Richtárik 2022 (seed 002) eq. 13, Thm 5; Chraïbi et al. 2019",
        "unbiased",
        "η = [L/μ + (2ω/n)(L_max/μ − 1)]⁻¹, γ = (1+2ηω/n)/(η(L + 2L_maxω/n)) (Thm 5)",
    ),
    AlgorithmEntry(
        "vr-gdci",
        vr_gdci,
        vr_gdci_theory,
        "Shulgin & Richtárik 2022 (seed 002) §3.3 (supplement absent; Chraïbi et al. form, "
        "reconstructed)",
        "unbiased",
        "η, γ as GDCI (Thm 5), α = 1/(1+ω) (reconstructed)",
    ),
)
