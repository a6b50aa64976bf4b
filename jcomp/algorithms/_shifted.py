"""DCGD with shifts (seed 002 Alg. 1): fixed caller-supplied shifts (DCGD-SHIFT / DCGD-FIXED)
and the optimal shifts ∇f_i(x*) (DCGD-STAR)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from ._base import Algorithm, Info, broadcast_cost, check_step_size, message_cost, no_setup
from ._checks import check_compressor, check_contractive, require
from ._diana import induced_message
from ._entry import AlgorithmEntry

__all__ = [
    "DCGDShiftState",
    "DCGDStarState",
    "ENTRIES",
    "dcgd_fixed",
    "dcgd_shift",
    "dcgd_shift_theory",
    "dcgd_star",
    "dcgd_star_theory",
]

STAR_FORMS = ("contemporaneous", "lagged")


def _is_concrete(v) -> bool:
    return not isinstance(v, jax.core.Tracer)


# ---------------------------------------------------------------- DCGD-SHIFT / DCGD-FIXED


class DCGDShiftState(NamedTuple):
    x: jax.Array  # (d,) server model
    h: jax.Array  # (n, d) the fixed worker shifts h_i
    h_bar: jax.Array  # (d,) the server's mean shift h = (1/n)Σ h_i


def _check_shifts(shifts, where, n=None, d=None):
    if not _is_concrete(shifts):
        if n is not None and tuple(shifts.shape) != (n, d):
            raise ValueError(
                f"{where}shifts has shape {tuple(shifts.shape)}: expected (n, d) = ({n}, {d})"
            )
        return
    try:
        a = np.asarray(shifts, dtype=float)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{where}shifts={shifts!r} is not allowed: expected a real (n, d) array"
        ) from e
    if a.ndim != 2:
        raise ValueError(
            f"{where}shifts has shape {a.shape}: expected a 2-d (n, d) array, one row per worker"
        )
    if n is not None and a.shape != (n, d):
        raise ValueError(f"{where}shifts has shape {a.shape}: expected (n, d) = ({n}, {d})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{where}shifts must be finite; got a non-finite entry")


def _shift_init(shifts, key, problem, x0):
    del key
    _check_shifts(shifts, "dcgd_shift: ", problem.n, problem.d)
    h = jnp.asarray(shifts).astype(x0.dtype)
    return DCGDShiftState(x=x0, h=h, h_bar=jnp.mean(h, axis=0))


def _shift_step(compressor, step_size, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, grads - state.h)  # row i: m_i = Q_i(∇f_i(x) − h_i)
    g = state.h_bar + jnp.mean(msg.values, axis=0)  # (d,) (1/n)Σ(h_i + m_i)
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return state._replace(x=x - step_size * g), info


def dcgd_shift(compressor, step_size, shifts) -> Algorithm:
    """DCGD-SHIFT with fixed shifts, a.k.a. DCGD-FIXED (Shulgin & Richtárik 2022 (seed 002)
    Alg. 1 with ``h_i^k ≡ h_i``, eq. 6; spec ALGORITHMS.md §5.1)::

        m_i = Q_i(∇f_i(x) − h_i),   g = (1/n)Σ(h_i + m_i) = h + (1/n)Σ m_i,   x ← x − γ g.

    ``shifts``: the caller-supplied h_i, shape (n, d) (an array leaf: it may be traced, and a new
    value does not recompile); ``shifts = 0`` is DCGD. The caller supplies h_i to worker i and
    h = (1/n)Σh_i to the server, so no setup traffic is counted. Step keys: ``key_oracle``,
    ``key_comp``.

    Bits per step and worker: uplink = Q's message m_i; downlink = one 32d broadcast of x.
    ``compressor`` must be unbiased (U(ω)). Converges linearly to a neighbourhood of radius
    ``(2γ/μ)(1/n)Σ(ω_i/n)‖∇f_i(x*) − h_i‖²`` (Thm 1). Theory: :func:`dcgd_shift_theory`.
    """
    where = "dcgd_shift: "
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    _check_shifts(shifts, where)
    return Algorithm(
        init=Partial(_shift_init, shifts),
        step=Partial(_shift_step, compressor, step_size),
        setup=no_setup,
    )


#: DCGD-FIXED is DCGD-SHIFT with fixed shifts (seed 002 Table 1); the same factory.
dcgd_fixed = dcgd_shift


def _grads_at_star(problem, where, key=None):
    if problem.x_star is None:
        raise ValueError(
            f"{where}problem {getattr(problem, 'name', type(problem).__name__)!r} has no known "
            "x_star (x*), which this method needs"
        )
    return problem.worker_grads(problem.broadcast(problem.x_star), key)


def dcgd_shift_theory(problem, compressor, shifts=None) -> dict:
    """Shulgin & Richtárik 2022 (seed 002) Thm 1 (convex L_i-smooth f_i, μ-strongly convex f)::

        γ = 1/(L + 2 max_i L_i ω_i/n) = 1/(L + 2 L_max ω/n),
        neighbourhood = (2γ/μ)(1/n)Σ_i (ω_i/n)‖∇f_i(x*) − h_i‖²,

    so that ``E‖x^k − x*‖² ≤ (1 − γμ)^k‖x⁰ − x*‖² + neighbourhood``. ``shifts`` default to 0
    (DCGD). Returns ``step_size``, ``shifts`` (the factory's keywords) and ``neighbourhood``
    (None where x* or μ is unknown).
    """
    where = "dcgd_shift_theory: "
    check_compressor(compressor, where, unbiased=True)
    n, d = problem.n, problem.d
    if shifts is None:
        shifts = np.zeros((n, d))
    _check_shifts(shifts, where, n, d)
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    c = problem.constants
    gamma = 1.0 / (float(c.L) + 2.0 * float(c.L_max) * omega / n)
    nbhd = None
    if problem.x_star is not None and c.mu is not None and float(c.mu) > 0:
        G = np.asarray(_grads_at_star(problem, where), dtype=np.float64)
        dist = np.mean(np.sum((G - np.asarray(shifts, dtype=np.float64)) ** 2, axis=1))
        nbhd = float((2.0 * gamma / float(c.mu)) * (omega / n) * dist)
    return {"step_size": gamma, "shifts": shifts, "neighbourhood": nbhd}


# ---------------------------------------------------------------- DCGD-STAR


class DCGDStarState(NamedTuple):
    x: jax.Array  # (d,) server model
    h: jax.Array  # (n, d) the shifts h_i^k used at this step (h_i* in the contemporaneous form)
    h_bar: jax.Array  # (d,) the server's mean shift (1/n)Σ h_i^k
    h_star: jax.Array  # (n, d) h_i* = ∇f_i(x*)


def _star_init(contractive, key, problem, x0):
    where = "dcgd_star: "
    if contractive is not None:
        check_contractive(contractive, where, d=problem.d, name="contractive")
    key_oracle = key  # init's only draw: the oracle at x* (exact problems ignore it)
    h_star = _grads_at_star(problem, where, key_oracle).astype(x0.dtype)  # (n, d) ∇f_i(x*)
    h_bar = jnp.mean(h_star, axis=0)  # ∇f(x*) (= 0 up to rounding)
    return DCGDStarState(x=x0, h=h_star, h_bar=h_bar, h_star=h_star)


def _star_step_contemporaneous(compressor, contractive, step_size, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    # Δ_i = c_i + m_i, c_i = C_i(g_i − h_i*), m_i = Q_i(g_i − h_i* − c_i)
    delta, up = induced_message(compressor, contractive, key_comp, grads - state.h_star)
    g = state.h_bar + jnp.mean(delta, axis=0)  # (1/n)Σ(h_i* + c_i + m_i)
    info = Info(up=up, down=broadcast_cost(problem.n, problem.d, x.dtype))
    return state._replace(x=x - step_size * g), info


def _star_step_lagged(compressor, contractive, step_size, key, state, problem):
    # literal Alg. 1 with eq. 8: m_i = Q_i(g_i − h_i^k), then h_i^{k+1} = h_i* + C_i(g_i − h_i*)
    # (c_i is sent with m_i and used at the next step)
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    key_c, key_q = (None, key_comp) if contractive is None else jax.random.split(key_comp)
    msg_q = compressor(key_q, grads - state.h)
    g = state.h_bar + jnp.mean(msg_q.values, axis=0)  # (1/n)Σ(h_i^k + m_i)
    up = message_cost(msg_q)
    h_new, h_bar_new = state.h, state.h_bar
    if contractive is not None:
        msg_c = contractive(key_c, grads - state.h_star)
        h_new = state.h_star + msg_c.values
        h_bar_new = jnp.mean(state.h_star, axis=0) + jnp.mean(msg_c.values, axis=0)
        up = message_cost(msg_c) + up
    new = state._replace(x=x - step_size * g, h=h_new, h_bar=h_bar_new)
    return new, Info(up=up, down=broadcast_cost(problem.n, problem.d, x.dtype))


_STAR_STEPS = {"contemporaneous": _star_step_contemporaneous, "lagged": _star_step_lagged}


def dcgd_star(compressor, step_size, contractive=None, star="contemporaneous") -> Algorithm:
    """DCGD-STAR: DCGD-SHIFT with the optimal shifts (Shulgin & Richtárik 2022 (seed 002) eq. 8,
    Thm 2; spec ALGORITHMS.md §5.1). An oracle method: it needs the problem's x*.

    Default ``star="contemporaneous"`` (**reconstructed** in the spec: the shift is built from the
    current gradient, as the Thm 2 proof needs), with h_i* = ∇f_i(x*)::

        c_i = C_i(∇f_i(x) − h_i*),   m_i = Q_i(∇f_i(x) − h_i* − c_i),
        g = (1/n)Σ(h_i* + c_i + m_i),   x ← x − γ g.

    Option ``star="lagged"`` (literal Alg. 1 with eq. 8): ``h_i^{k+1} = h_i* + C_i(∇f_i(x^k) −
    h_i*)`` is used at step k+1, ``m_i = Q_i(∇f_i(x^k) − h_i^k)``, ``g = (1/n)Σ(h_i^k + m_i)``;
    h_i⁰ = h_i* (there is no x^{−1}). With C ≡ 0 (``contractive=None``) both forms are DCGD-SHIFT
    with h_i = h_i*, and give the same iterates.

    Keys: ``key_oracle``; ``key_comp`` for Q alone (C ≡ 0), else ``key_c, key_q =
    split(key_comp)`` (as ``induced(C, Q)``). h_i* is computed in ``init`` from
    ``problem.x_star``; the server's mean shift (1/n)Σh_i* = ∇f(x*) = 0 needs no traffic.

    Bits per step and worker: uplink = c_i's message (when C is given) plus m_i's; downlink one
    32d broadcast of x. No setup traffic. ``compressor`` (Q) unbiased; ``contractive`` (C) in
    B(δ). Theory step: :func:`dcgd_star_theory`.
    """
    where = "dcgd_star: "
    check_compressor(compressor, where, unbiased=True)
    if contractive is not None:
        check_contractive(contractive, where, name="contractive")
    if star not in STAR_FORMS:
        raise ValueError(f"{where}star={star!r} is not allowed: expected one of {STAR_FORMS}")
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_star_init, contractive),
        step=Partial(_STAR_STEPS[star], compressor, contractive, step_size),
        setup=no_setup,
    )


def dcgd_star_theory(problem, compressor, contractive=None, star="contemporaneous") -> dict:
    """Shulgin & Richtárik 2022 (seed 002) Thm 2::

        γ = 1/(L + max_i L_i ω_i (1 − δ_i)/n) = 1/(L + L_max ω (1 − δ)/n),

    δ = ``contractive.delta(d)``, δ := 0 for C ≡ 0. Then ``E‖x^k − x*‖² ≤ (1 − γμ)^k‖x⁰ − x*‖²``
    (contemporaneous form). Returns ``step_size``, ``contractive`` and ``star`` (passed through),
    the factory's keywords.
    """
    where = "dcgd_star_theory: "
    check_compressor(compressor, where, unbiased=True)
    if star not in STAR_FORMS:
        raise ValueError(f"{where}star={star!r} is not allowed: expected one of {STAR_FORMS}")
    n, d = problem.n, problem.d
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    delta = 0.0
    if contractive is not None:
        check_contractive(contractive, where, d=d, name="contractive")
        delta = float(contractive.delta(d))
    c = problem.constants
    gamma = 1.0 / (float(c.L) + float(c.L_max) * omega * (1.0 - delta) / n)
    return {"step_size": gamma, "contractive": contractive, "star": star}


ENTRIES = (
    AlgorithmEntry(
        "dcgd-shift",
        dcgd_shift,
        dcgd_shift_theory,
        "Shulgin & Richtárik 2022 (seed 002) Alg. 1 with fixed shifts (DCGD-FIXED), Thm 1",
        "unbiased",
        "γ = 1/(L + 2 max_i L_i ω/n) (Thm 1); shifts caller-supplied (default 0)",
    ),
    AlgorithmEntry(
        "dcgd-star",
        dcgd_star,
        dcgd_star_theory,
        "Shulgin & Richtárik 2022 (seed 002) eq. 8, Thm 2 (contemporaneous form, reconstructed)",
        "unbiased",
        "γ = 1/(L + max_i L_i ω(1−δ)/n) (Thm 2)",
    ),
)
