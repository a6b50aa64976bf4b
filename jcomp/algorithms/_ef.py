"""Error feedback: D-EF-SGD, D-EF-SGD with bias correction, EC-SGD-DIANA (seed 001) and EF21.

Notation (spec ALGORITHMS.md §5.1, §5.3): ``g_i = g_i(x)`` worker i's oracle gradient
(``∇f_i(x)``, or ``∇f_i(x) + ξ_i`` under :func:`jcomp.problems.stochastic`), ``C`` a contractive
compressor (B(δ), Stich's δ-compressor), ``Q`` an unbiased one (U(ω), Stich's ω-quantizer).
Errors ``e_i`` and shifts ``h_i`` start at 0.

Every step splits its key into named subkeys: ``key_oracle`` (the oracle, always the first),
then one per compressor call (``key_c`` for C, ``key_q`` for Q). For D-EF-SGD and EF21
``key_oracle, key_c = split(key)``; for the two bias-corrected methods
``key_oracle, key_c, key_q = split(key, 3)``.

Virtual sequence (seed 001 eqs. 12–13, for Alg. 2, 4 and 7): with ``x̃⁰ = x⁰`` and
``x̃^{t+1} = x̃^t − (γ/n)Σ_i g_i^t``, the iterates satisfy ``x^t − x̃^t = (γ/n)Σ_i e_i^t``
exactly (in exact arithmetic; tested to float64 rounding).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from ..compressors._base import Compressor
from ..compressors._basic import identity, rand_k
from ..problems._oracle import oracle_sigma2
from ._base import (
    Algorithm,
    Info,
    broadcast_cost,
    check_step_size,
    dense_cost,
    message_cost,
    no_setup,
    zero_cost,
)
from ._checks import check_compressor, check_contractive, check_unit_interval, require
from ._entry import AlgorithmEntry

__all__ = [
    "ECSGDDIANAState",
    "EF21State",
    "EFBCState",
    "EFState",
    "ENTRIES",
    "default_quantizer",
    "dissimilarity",
    "ec_sgd_diana",
    "ec_sgd_diana_theory",
    "ef21",
    "ef21_theory",
    "ef_sgd",
    "ef_sgd_bc",
    "ef_sgd_bc_theory",
    "ef_sgd_theory",
]


# --------------------------------------------------------------------------------------------
# States


class EFState(NamedTuple):
    x: jax.Array  # (d,) server model
    e: jax.Array  # (n, d) worker errors e_i


class EFBCState(NamedTuple):
    x: jax.Array  # (d,) server model
    e: jax.Array  # (n, d) worker errors e_i
    h: jax.Array  # (n, d) worker shifts h_i
    h_bar: jax.Array  # (d,) the server's mean shift h = (1/n)Σ h_i


class ECSGDDIANAState(NamedTuple):
    x: jax.Array  # (d,) server model
    e: jax.Array  # (n, d) worker errors e_i
    h: jax.Array  # (n, d) worker shifts h_i
    h_bar: jax.Array  # (d,) the mean shift h every worker holds (from the broadcast of (1/n)ΣΔ_i)


class EF21State(NamedTuple):
    x: jax.Array  # (d,) server model
    g: jax.Array  # (n, d) worker estimators g_i
    g_bar: jax.Array  # (d,) the server's estimator g = (1/n)Σ g_i


# --------------------------------------------------------------------------------------------
# Helpers


def default_quantizer(compressor: Compressor, d: int) -> Compressor:
    """The quantizer Q used when none is given (a jcomp default, not from seed 001): RandK with
    the contractive compressor's budget ``K = round(δ(d)·d)`` (TopK(K) → RandK(K)); the identity
    when ``K = d`` (δ = 1)."""
    delta = compressor.delta(d)
    k = d if delta is None else max(1, min(d, int(round(float(delta) * d))))
    return identity() if k == d else rand_k(k)


def _resolve_quantizer(compressor, quantizer, d):
    return default_quantizer(compressor, d) if quantizer is None else quantizer


def _oracle(problem, x, key_oracle):
    return problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) g_i(x)


def _dtype(problem):
    return problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)


# --------------------------------------------------------------------------------------------
# D-EF-SGD (seed 001 Alg. 2)


def _ef_init(compressor, key, problem, x0):
    del key
    check_contractive(compressor, "ef_sgd: ", d=problem.d)
    return EFState(x=x0, e=jnp.zeros((problem.n, problem.d), x0.dtype))


def _ef_step(compressor, step_size, key, state, problem):
    key_oracle, key_c = jax.random.split(key)
    x = state.x
    g = _oracle(problem, x, key_oracle)  # (n, d)
    v = state.e + g  # (n, d) e_i + g_i
    msg = compressor(key_c, v)  # row i: Δ̂_i = C(e_i + g_i)
    new = EFState(x=x - step_size * jnp.mean(msg.values, axis=0), e=v - msg.values)
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return new, info


def ef_sgd(compressor, step_size) -> Algorithm:
    """D-EF-SGD (Stich 2020, seed 001 Alg. 2; spec ALGORITHMS.md §5.1)::

        Δ̂_i = C(e_i + g_i),   e_i ← e_i + g_i − Δ̂_i,   x ← x − γ(1/n)Σ_i Δ̂_i.

    Bits per step and worker: uplink the message Δ̂_i (its realized ``bits``/``bits_noidx``/
    ``coords``; TopK charges indices); downlink one 32d broadcast of x. No setup traffic.
    ``compressor`` must be contractive (B(δ)). Theory step: :func:`ef_sgd_theory` (Thm 4).
    """
    where = "ef_sgd: "
    check_contractive(compressor, where)
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_ef_init, compressor),
        step=Partial(_ef_step, compressor, step_size),
        setup=no_setup,
    )


def dissimilarity(problem) -> dict:
    """Data dissimilarity (seed 001 eq. 5): ``(1/n)Σ‖∇f_i(x)‖² ≤ ζ² + Z²‖∇f(x)‖²``.

    Returns ``zeta_star2 = (1/n)Σ‖∇f_i(x*)‖²`` (exact) and a valid pair ``(zeta2, Z2)``:

    * dense quadratics (``problem.A`` of shape (n, d, d)), spec §1 **(derived)**:
      ``ζ² = 2ζ_*²``, ``Z² = 2λ_max(Ā⁻¹((1/n)ΣA_i²)Ā⁻¹)``;
    * otherwise (any f_i with ``(1/n)Σ‖∇f_i(x) − ∇f_i(x*)‖² ≤ L_+²‖x − x*‖²`` and μ-strongly
      convex f, so ``‖x − x*‖ ≤ ‖∇f(x)‖/μ``): ``ζ² = 2ζ_*²``, ``Z² = 2(L_+/μ)²`` (L_QM if the
      problem has no L_+), a looser valid bound.

    Both follow from ``∇f_i(x) = (∇f_i(x) − ∇f_i(x*)) + ∇f_i(x*)`` and ``‖a + b‖² ≤ 2‖a‖² + 2‖b‖²``.
    Needs a known x* and (for the second form) μ > 0.
    """
    where = "dissimilarity: "
    if problem.x_star is None:
        raise ValueError(f"{where}the problem has no known x_star; pass Z= to the theory rule")
    x_star = problem.x_star
    G = np.asarray(jax.device_get(problem.worker_grads(problem.broadcast(x_star))), np.float64)
    zeta_star2 = float(np.mean(np.sum(G**2, axis=1)))
    A = getattr(problem, "A", None)
    if A is not None and getattr(A, "ndim", 0) == 3:
        A = np.asarray(jax.device_get(A), np.float64)
        A_bar = A.mean(axis=0)
        M = np.einsum("nij,njk->ik", A, A) / A.shape[0]
        inv = np.linalg.inv(A_bar)
        W = inv @ M @ inv
        Z2 = 2.0 * float(np.linalg.eigvalsh(0.5 * (W + W.T)).max())
    else:
        c = problem.constants
        mu = None if c.mu is None else float(c.mu)
        if mu is None or mu <= 0:
            raise ValueError(
                f"{where}the problem has no μ > 0 to bound Z; pass Z= to the theory rule"
            )
        if c.L_plus is not None:
            L_plus = float(c.L_plus)
        else:
            L_plus = math.sqrt(float(np.mean(np.asarray(c.L_i, np.float64) ** 2)))
        Z2 = 2.0 * (L_plus / mu) ** 2
    return {"zeta_star2": zeta_star2, "zeta2": 2.0 * zeta_star2, "Z2": Z2}


def ef_sgd_theory(problem, compressor, Z=None) -> dict:
    """Stich 2020 (seed 001) Thm 4: ``γ = 1/(14L(1 + Z/δ))``, ``δ = compressor.delta(d)``, L the
    smoothness of f and Z of eq. (5): given, or from :func:`dissimilarity` (quadratics:
    ``Z² = 2λ_max(Ā⁻¹((1/n)ΣA_i²)Ā⁻¹)``). Returns ``step_size`` (and ``Z``, ``delta`` for logs)."""
    where = "ef_sgd_theory: "
    check_contractive(compressor, where, d=problem.d)
    delta = require(compressor.delta(problem.d), "delta(d)", compressor, where)
    Z = math.sqrt(dissimilarity(problem)["Z2"]) if Z is None else float(Z)
    L = float(problem.constants.L)
    return {"step_size": 1.0 / (14.0 * L * (1.0 + Z / delta)), "Z": Z, "delta": delta}


# --------------------------------------------------------------------------------------------
# D-EF-SGD with bias correction (seed 001 Alg. 4, reconstructed) and EC-SGD-DIANA (Alg. 7)


def _bc_state(compressor, quantizer, where, problem, x0):
    d = problem.d
    check_contractive(compressor, where, d=d)
    check_compressor(_resolve_quantizer(compressor, quantizer, d), where, unbiased=True,
                     name="quantizer")  # fmt: skip
    z = jnp.zeros((problem.n, d), x0.dtype)
    return EFBCState(x=x0, e=z, h=z, h_bar=jnp.zeros_like(x0))


def _bc_init(compressor, quantizer, key, problem, x0):
    del key
    return _bc_state(compressor, quantizer, "ef_sgd_bc: ", problem, x0)


def _bc_parts(compressor, quantizer, key, state, problem, extra):
    """The worker side shared by Alg. 4 (``extra`` = 0) and Alg. 7 (``extra`` = h)."""
    key_oracle, key_c, key_q = jax.random.split(key, 3)
    q = _resolve_quantizer(compressor, quantizer, problem.d)
    g = _oracle(problem, state.x, key_oracle)  # (n, d)
    v = state.e + g - state.h + extra  # (n, d)
    msg_c = compressor(key_c, v)  # row i: Δ̂_i = C(e_i + g_i − h_i [+ h])
    msg_q = q(key_q, g - state.h)  # row i: Δ_i = Q(g_i − h_i)
    return v, msg_c, msg_q


def _bc_step(compressor, quantizer, step_size, alpha, key, state, problem):
    v, msg_c, msg_q = _bc_parts(compressor, quantizer, key, state, problem, 0.0)
    new = EFBCState(
        x=state.x - step_size * (state.h_bar + jnp.mean(msg_c.values, axis=0)),
        e=v - msg_c.values,
        h=state.h + alpha * msg_q.values,
        h_bar=state.h_bar + alpha * jnp.mean(msg_q.values, axis=0),
    )
    up = message_cost(msg_c) + message_cost(msg_q)
    info = Info(up=up, down=broadcast_cost(problem.n, problem.d, state.x.dtype))
    return new, info


def _check_bc(compressor, step_size, alpha, quantizer, where):
    check_contractive(compressor, where)
    if quantizer is not None:
        check_compressor(quantizer, where, unbiased=True, name="quantizer")
    check_step_size(step_size, where=where)
    check_unit_interval(alpha, "alpha", where=where)


def ef_sgd_bc(compressor, step_size, alpha, quantizer=None) -> Algorithm:
    """D-EF-SGD with bias correction (Stich 2020, seed 001 Alg. 4; the box is garbled,
    **reconstructed** in spec ALGORITHMS.md §5.1 from seed L256, L303, L328, L695)::

        worker:  Δ̂_i = C(e_i + g_i − h_i),   Δ_i = Q(g_i − h_i),
                 e_i ← e_i + g_i − h_i − Δ̂_i,   h_i ← h_i + αΔ_i;    sends Δ̂_i and Δ_i
        server:  x ← x − γ(h + (1/n)Σ_i Δ̂_i),   then  h ← h + α(1/n)Σ_i Δ_i.

    Bits per step and worker: uplink the two messages (C's plus Q's realized costs); downlink
    one 32d broadcast of x (the server keeps h; workers keep h_i). No setup traffic.
    ``compressor`` C must be contractive (B(δ)); ``quantizer`` Q unbiased (U(ω)), default
    :func:`default_quantizer` (RandK with C's budget); ``alpha`` ∈ (0, 1] (the theory needs
    α ≤ 1/(1+ω)). Theory parameters: :func:`ef_sgd_bc_theory`.
    """
    where = "ef_sgd_bc: "
    _check_bc(compressor, step_size, alpha, quantizer, where)
    return Algorithm(
        init=Partial(_bc_init, compressor, quantizer),
        step=Partial(_bc_step, compressor, quantizer, step_size, alpha),
        setup=no_setup,
    )


def _ec_init(compressor, quantizer, key, problem, x0):
    del key
    return ECSGDDIANAState(*_bc_state(compressor, quantizer, "ec_sgd_diana: ", problem, x0))


def _ec_step(compressor, quantizer, step_size, alpha, key, state, problem):
    extra = state.h_bar[None, :]
    v, msg_c, msg_q = _bc_parts(compressor, quantizer, key, state, problem, extra)
    n, d = problem.n, problem.d
    new = ECSGDDIANAState(
        x=state.x - step_size * jnp.mean(msg_c.values, axis=0),
        e=v - msg_c.values,
        h=state.h + alpha * msg_q.values,
        # every worker updates its copy from the broadcast (1/n)ΣΔ_i; equal to (1/n)Σh_i⁺
        h_bar=state.h_bar + alpha * jnp.mean(msg_q.values, axis=0),
    )
    up = message_cost(msg_c) + message_cost(msg_q)
    down = broadcast_cost(n, d, state.x.dtype) + dense_cost(n, d, state.x.dtype)
    return new, Info(up=up, down=down)


def ec_sgd_diana(compressor, step_size, alpha, quantizer=None) -> Algorithm:
    """EC-SGD-DIANA (Kovalev et al. 2019; Gorbunov et al. 2020; as stated in seed 001 Alg. 7;
    spec ALGORITHMS.md §5.1)::

        worker:  Δ̂_i = C(e_i + g_i − h_i + h),   Δ_i = Q(g_i − h_i),
                 e_i ← e_i + g_i − h_i + h − Δ̂_i,   h_i ← h_i + αΔ_i;   sends Δ̂_i and Δ_i
        server:  x ← x − γ(1/n)Σ_i Δ̂_i,   h ← (1/n)Σ_i h_i.

    Workers need h each round, so the server also broadcasts ``(1/n)ΣΔ_i`` and every worker
    sets ``h ← h + α(1/n)ΣΔ_i`` (= (1/n)Σh_i⁺; this incremental form is what is simulated).
    Bits per step and worker: uplink C's plus Q's messages; downlink 32d (x) + 32d (the mean
    Δ), i.e. 64d. No setup traffic. ``compressor`` contractive, ``quantizer`` unbiased
    (default :func:`default_quantizer`), ``alpha`` ∈ (0, 1] (seed: α ≤ 1/(1+ω)).
    Theory parameters: :func:`ec_sgd_diana_theory`.
    """
    where = "ec_sgd_diana: "
    _check_bc(compressor, step_size, alpha, quantizer, where)
    return Algorithm(
        init=Partial(_ec_init, compressor, quantizer),
        step=Partial(_ec_step, compressor, quantizer, step_size, alpha),
        setup=no_setup,
    )


def _problem_sigma(problem) -> float:
    """σ of the problem's oracle at x*: √(σ_*²) over the wrapper chain (0 for exact)."""
    return float(np.sqrt(oracle_sigma2(problem)))


def _bc_theory(problem, compressor, quantizer, beta, sigma, where) -> dict:
    n, d = problem.n, problem.d
    check_contractive(compressor, where, d=d)
    q = _resolve_quantizer(compressor, quantizer, d)
    check_compressor(q, where, unbiased=True, name="quantizer")
    delta = require(compressor.delta(d), "delta(d)", compressor, where)
    omega = require(q.omega(d, n), "omega(d, n)", q, where)
    sigma = _problem_sigma(problem) if sigma is None else float(sigma)
    if beta is None:
        beta = delta if sigma > 0 else 1.0
    check_unit_interval(beta, "beta", where=where)
    alpha = float(beta) / (1.0 + omega)
    L = float(problem.constants.L_max)  # every f_i (and f) must be L-smooth: L = L_max
    return {"step_size": delta / (34.0 * L), "alpha": alpha, "quantizer": q,
            "beta": float(beta), "delta": delta, "omega": omega}  # fmt: skip


def ef_sgd_bc_theory(problem, compressor, quantizer=None, beta=None, sigma=None) -> dict:
    """Stich 2020 (seed 001) Thm 7 / Lemma 12: ``γ = δ/(34L)``, ``α = β/(1+ω)``, with
    ``β = δ`` if σ² > 0 else 1 (Remark 8; spec §5.1), δ of C and ω of Q. The seed's L bounds the
    smoothness of every f_i (Lemma 10, eq. 26) and of f, so L = L_max here. σ: given, else the
    problem's (:func:`jcomp.problems.stochastic`), else 0. Returns ``step_size``, ``alpha``,
    ``quantizer`` (resolved) and, for logs, ``beta``, ``delta``, ``omega``. The rate:
    ``Ψ_{t+1} ≤ (1 − min{γμ/2, α/2, δ/4})Ψ_t`` (σ = 0) with
    ``Ψ = ‖x̃ − x*‖² + a(1/n)Σ‖e_i‖² + b(1/n)Σ‖h_i − ∇f_i(x*)‖²``, ``a = 12γ³L/δ``,
    ``b = 8a(1−δ)/(αδ)``."""
    return _bc_theory(problem, compressor, quantizer, beta, sigma, "ef_sgd_bc_theory: ")


def ec_sgd_diana_theory(problem, compressor, quantizer=None, beta=None, sigma=None) -> dict:
    """The rule of :func:`ef_sgd_bc_theory` (``γ = δ/(34L_max)``, ``α = β/(1+ω)``) **(derived)**:
    seed 001 states no theorem for Alg. 7, but the proof of its Lemma 12 carries over: Lemmas 9
    and 11 are unchanged, and Lemma 10 holds with the same constants because
    ``(1/n)Σ‖(h_i − ∇f_i(x*)) − h‖² = H − ‖h‖² ≤ H`` (h is the mean of the h_i and
    ``(1/n)Σ∇f_i(x*) = 0``). Tested: reaches x* at that rate."""
    return _bc_theory(problem, compressor, quantizer, beta, sigma, "ec_sgd_diana_theory: ")


# --------------------------------------------------------------------------------------------
# EF21 (Richtárik, Sokolov, Fatkhullin 2021)


def _ef21_init(compressor, key, problem, x0):
    check_contractive(compressor, "ef21: ", d=problem.d)
    key_oracle = key
    g = _oracle(problem, x0, key_oracle)  # (n, d) g_i⁰ = ∇f_i(x⁰)
    return EF21State(x=x0, g=g, g_bar=jnp.mean(g, axis=0))


def _ef21_setup(problem):
    dtype = _dtype(problem)
    return Info(up=dense_cost(problem.n, problem.d, dtype), down=zero_cost(problem.n, dtype))


def _ef21_step(compressor, step_size, key, state, problem):
    key_oracle, key_c = jax.random.split(key)
    x_new = state.x - step_size * state.g_bar  # (d,)
    grads = _oracle(problem, x_new, key_oracle)  # (n, d) ∇f_i(x⁺)
    msg = compressor(key_c, grads - state.g)  # row i: c_i = C(∇f_i(x⁺) − g_i)
    new = EF21State(
        x=x_new,
        g=state.g + msg.values,
        g_bar=state.g_bar + jnp.mean(msg.values, axis=0),
    )
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x_new.dtype))
    return new, info


def ef21(compressor, step_size) -> Algorithm:
    """EF21 (Richtárik, Sokolov, Fatkhullin 2021, Alg. 1; spec ALGORITHMS.md §5.3)::

        init g_i⁰ = ∇f_i(x⁰),  g = (1/n)Σg_i;
        x ← x − γg,   c_i = C(∇f_i(x) − g_i) (at the new x),   g_i ← g_i + c_i,   g ← g + (1/n)Σc_i.

    Bits per worker: setup uplink 32d (the initial gradient, via ``setup``); per step uplink
    the message c_i; downlink one 32d broadcast of x. ``compressor`` must be contractive
    (B(δ)). With a stochastic problem the oracle is stochastic (EF21-SGD without minibatches).
    Theory step: :func:`ef21_theory` (external, unverified: not in the seeds).
    """
    where = "ef21: "
    check_contractive(compressor, where)
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_ef21_init, compressor),
        step=Partial(_ef21_step, compressor, step_size),
        setup=Partial(_ef21_setup),
    )


RULES_EF21 = ("nonconvex", "pl")


def ef21_theory(problem, compressor, rule="nonconvex") -> dict:
    """EF21 step **(external, unverified**: Richtárik, Sokolov, Fatkhullin 2021, not a seed),
    with ``α = δ = compressor.delta(d)``, ``θ = 1 − √(1−α)``, ``β = (1−α)/(1−√(1−α))``,
    ``L̃ = L_QM = √((1/n)ΣL_i²)``:

    * ``rule="nonconvex"`` (default; their Thm 1): ``γ = 1/(L + L̃√(β/θ))``;
    * ``rule="pl"`` (their Thm 2, μ-PL f): ``γ = min{1/(L + L̃√(2β/θ)), θ/(2μ)}``, with
      ``Ψ_T ≤ (1 − γμ)^T Ψ_0``, ``Ψ = f(x) − f* + (γ/θ)(1/n)Σ‖g_i − ∇f_i(x)‖²``.

    δ = 1 (identity) gives θ = 1, β = 0, γ = 1/L (GD) for the nonconvex rule.
    """
    where = "ef21_theory: "
    check_contractive(compressor, where, d=problem.d)
    if rule not in RULES_EF21:
        raise ValueError(f"{where}rule={rule!r} is not allowed: expected one of {RULES_EF21}")
    alpha = require(compressor.delta(problem.d), "delta(d)", compressor, where)
    r = math.sqrt(max(0.0, 1.0 - alpha))
    theta = 1.0 - r
    beta = (1.0 - alpha) / theta
    c = problem.constants
    L = float(c.L)
    L_qm = math.sqrt(float(np.mean(np.asarray(jax.device_get(c.L_i), np.float64) ** 2)))
    if rule == "nonconvex":
        gamma = 1.0 / (L + L_qm * math.sqrt(beta / theta))
    else:
        mu = require(None if c.mu is None else float(c.mu), "mu", compressor, where)
        gamma = min(1.0 / (L + L_qm * math.sqrt(2.0 * beta / theta)), theta / (2.0 * mu))
    return {"step_size": gamma, "theta": theta, "beta": beta}


ENTRIES = (
    AlgorithmEntry(
        "d-ef-sgd",
        ef_sgd,
        ef_sgd_theory,
        "Stich 2020 (seed 001) Alg. 2, Thm 4",
        "contractive",
        "γ = 1/(14L(1 + Z/δ)) (Thm 4), Z of eq. 5 (quadratics: Z² = 2λ_max(Ā⁻¹(1/n)ΣA_i²Ā⁻¹))",
    ),
    AlgorithmEntry(
        "d-ef-sgd-bc",
        ef_sgd_bc,
        ef_sgd_bc_theory,
        "Stich 2020 (seed 001) Alg. 4 (reconstructed), Thm 7 / Lemma 12",
        "contractive",
        "γ = δ/(34L_max), α = β/(1+ω), β = δ if σ > 0 else 1; Q default RandK(round(δd))",
    ),
    AlgorithmEntry(
        "ec-sgd-diana",
        ec_sgd_diana,
        ec_sgd_diana_theory,
        "Kovalev et al. 2019; Gorbunov et al. 2020; Stich 2020 (seed 001) Alg. 7",
        "contractive",
        "γ = δ/(34L_max), α = β/(1+ω) (seed 001 Lemma 12 carried over, derived)",
    ),
    AlgorithmEntry(
        "ef21",
        ef21,
        ef21_theory,
        "Richtárik, Sokolov, Fatkhullin 2021 (EF21), Alg. 1, Thm 1",
        "contractive",
        "γ = 1/(L + L_QM√(β/θ)), θ = 1−√(1−δ), β = (1−δ)/θ (external, unverified)",
    ),
)
