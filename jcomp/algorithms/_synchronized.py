"""Synchronized linear compressors: D-QSGD and D-EF-SGD with one linear Q_t shared by all workers
(Stich 2020, seed 001 §6, Alg. 5–6; spec ALGORITHMS.md §5.1).

Each step draws ONE linear map ``Q_t`` from the step's compressor key (the key folds in the step
t only, never the worker index): every worker applies the same ``Q_t``, so by linearity
``(1/n)Σ_i Q_t(a_i) = Q_t((1/n)Σ_i a_i)`` and the methods behave like their n = 1 versions on f
(the data-dissimilarity terms ζ², Z of seed 001 Thms 1 and 4 disappear).

Admissible compressors (shared randomness, linear for a fixed key):

* D-QSGD (unbiased, U(ω)): ``same_rand_k(k)`` (scaled d/K), ``sketch(p, unbiased=True)``
  (``(d/p)S_V``), also ``core(m)`` and ``identity()``;
* D-EF-SGD (contractive, B(δ)): ``same_rand_k(k, scaled=False)`` (δ = K/d),
  ``sketch(p)`` (S_V, δ = p/d), also ``identity()``;
* a ``scaled(...)`` of one of these. TopK is rejected (its support is chosen from each
  worker's own data: not one linear map shared by all workers), as is any independent
  compressor (RandK, PermK, quantizers, ...).

Modes (spec §3): parameter server (default): each worker uploads its compressed vector and
receives a 32d broadcast of x. ``allreduce=True``: each worker sends one compressed vector into
the all-reduce and receives one compressed vector (the aggregate ``Q_t(ḡ)``, the same size),
and no x is broadcast (every worker applies the same update to its own copy of x).
Step keys: ``key_oracle, key_c = split(key)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ..compressors._combinators import Scaled
from ..compressors._sparsifiers import TopK
from ._base import Algorithm, Info, broadcast_cost, check_step_size, message_cost, no_setup
from ._checks import check_compressor, check_contractive, compressor_name, require
from ._entry import AlgorithmEntry

__all__ = [
    "ENTRIES",
    "SyncEFState",
    "SyncQSGDState",
    "check_synchronized",
    "ef_sgd_sync",
    "ef_sgd_sync_theory",
    "qsgd_sync",
    "qsgd_sync_theory",
]


class SyncQSGDState(NamedTuple):
    x: jax.Array  # (d,) model (the server's, or every worker's identical copy under all-reduce)


class SyncEFState(NamedTuple):
    x: jax.Array  # (d,) model
    e: jax.Array  # (n, d) worker errors e_i


def check_synchronized(compressor, where: str):
    """Reject a compressor that is not one linear map shared by all workers for a given key."""
    check_compressor(compressor, where)
    inner = compressor.c if isinstance(compressor, Scaled) else compressor
    if isinstance(inner, TopK):
        raise ValueError(
            f"{where}compressor={compressor_name(compressor)} is not allowed: TopK is not a "
            "synchronized linear compressor (each worker chooses its support from its own data, "
            "so (1/n)Σ_i C(g_i) ≠ C(ḡ)); use same_rand_k(k, scaled=False) or sketch(p)"
        )
    if not compressor.linear_shared:
        raise ValueError(
            f"{where}compressor={compressor_name(compressor)} is not allowed: this method needs "
            "a synchronized linear compressor (one linear map per step shared by all workers): "
            "same_rand_k(k[, scaled=False]), sketch(p[, unbiased=True]), core(m), identity()"
        )
    return compressor


def _check_allreduce(allreduce, where):
    if not isinstance(allreduce, bool):
        raise ValueError(f"{where}allreduce={allreduce!r} is not allowed: expected True or False")


def _info(msg, allreduce, problem, dtype):
    up = message_cost(msg)
    down = up if allreduce else broadcast_cost(problem.n, problem.d, dtype)
    return Info(up=up, down=down)


def _qsgd_init(key, problem, x0):
    del key, problem
    return SyncQSGDState(x=x0)


def _qsgd_update(compressor, allreduce, step_size, key, state, problem):
    key_oracle, key_c = jax.random.split(key)
    x = state.x
    g = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d)
    msg = compressor(key_c, g)  # row i: Q_t(g_i), one Q_t for all rows
    new = SyncQSGDState(x=x - step_size * jnp.mean(msg.values, axis=0))
    return new, _info(msg, allreduce, problem, x.dtype)


# the mode is static: one module-level step function per mode (a bool bound in a Partial would
# be a traced leaf)
def _qsgd_step(compressor, step_size, key, state, problem):
    return _qsgd_update(compressor, False, step_size, key, state, problem)


def _qsgd_step_allreduce(compressor, step_size, key, state, problem):
    return _qsgd_update(compressor, True, step_size, key, state, problem)


def qsgd_sync(compressor, step_size, allreduce=False) -> Algorithm:
    """D-QSGD with synchronized linear quantizers (seed 001 Alg. 5)::

        Δ̂_i = Q_t(g_i)  (one linear Q_t ∈ U(ω) per step, shared by all workers),
        x ← x − γ(1/n)Σ_iΔ̂_i = x − γQ_t(ḡ).

    Bits per step and worker: uplink the compressed vector (SameRandK: 32K, sketch: 32p,
    indices free); downlink a 32d broadcast of x, or with ``allreduce=True`` one compressed
    vector (the aggregate) and no broadcast. No setup traffic. ``compressor``: unbiased and
    synchronized linear (see the module docstring). Theory step: :func:`qsgd_sync_theory`.
    """
    where = "qsgd_sync: "
    check_synchronized(compressor, where)
    check_compressor(compressor, where, unbiased=True)
    check_step_size(step_size, where=where)
    _check_allreduce(allreduce, where)
    return Algorithm(
        init=Partial(_qsgd_init),
        step=Partial(_qsgd_step_allreduce if allreduce else _qsgd_step, compressor, step_size),
        setup=no_setup,
    )


def _ef_init(compressor, key, problem, x0):
    del key
    check_contractive(compressor, "ef_sgd_sync: ", d=problem.d)
    return SyncEFState(x=x0, e=jnp.zeros((problem.n, problem.d), x0.dtype))


def _ef_update(compressor, allreduce, step_size, key, state, problem):
    key_oracle, key_c = jax.random.split(key)
    x = state.x
    g = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d)
    v = state.e + g
    msg = compressor(key_c, v)  # row i: Δ̂_i = C_t(e_i + g_i), one C_t for all rows
    new = SyncEFState(x=x - step_size * jnp.mean(msg.values, axis=0), e=v - msg.values)
    return new, _info(msg, allreduce, problem, x.dtype)


def _ef_step(compressor, step_size, key, state, problem):
    return _ef_update(compressor, False, step_size, key, state, problem)


def _ef_step_allreduce(compressor, step_size, key, state, problem):
    return _ef_update(compressor, True, step_size, key, state, problem)


def ef_sgd_sync(compressor, step_size, allreduce=False) -> Algorithm:
    """D-EF-SGD with synchronized linear compressors (seed 001 Alg. 6)::

        Δ̂_i = C_t(e_i + g_i) (one linear C_t ∈ B(δ) per step, shared),   e_i ← e_i + g_i − Δ̂_i,
        x ← x − γ(1/n)Σ_iΔ̂_i = x − γC_t(ē + ḡ).

    Bits as :func:`qsgd_sync`. ``compressor``: contractive and synchronized linear
    (``same_rand_k(k, scaled=False)``, ``sketch(p)``). Theory step: :func:`ef_sgd_sync_theory`.
    """
    where = "ef_sgd_sync: "
    check_synchronized(compressor, where)
    check_contractive(compressor, where)
    check_step_size(step_size, where=where)
    _check_allreduce(allreduce, where)
    return Algorithm(
        init=Partial(_ef_init, compressor),
        step=Partial(_ef_step_allreduce if allreduce else _ef_step, compressor, step_size),
        setup=no_setup,
    )


def qsgd_sync_theory(problem, compressor, allreduce=False) -> dict:
    """``γ = 1/(2L(1+ω))`` **(derived)**: seed 001 Thm 1 with n = 1, Z = 1, ζ = 0, which applies
    because ``E‖Q_t(ḡ) − ∇f‖² ≤ ω‖∇f‖² + (1+ω)σ²/n`` for a shared linear Q_t (seed §6; Table 1,
    "D-QSGD, Q_ω linear"). Then ``E‖x_{t+1} − x*‖² ≤ (1−μγ)E‖x_t − x*‖² + γ²(1+ω)σ²/n``
    (seed eq. 29 with this variance), neighbourhood ``γ(1+ω)σ²/(μn)``. Returns ``step_size``
    and the mode ``allreduce`` (passed through)."""
    where = "qsgd_sync_theory: "
    check_synchronized(compressor, where)
    check_compressor(compressor, where, unbiased=True)
    _check_allreduce(allreduce, where)
    omega = require(compressor.omega(problem.d, problem.n), "omega(d, n)", compressor, where)
    L = float(problem.constants.L)
    return {"step_size": 1.0 / (2.0 * L * (1.0 + omega)), "allreduce": allreduce, "omega": omega}


def ef_sgd_sync_theory(problem, compressor, allreduce=False) -> dict:
    """``γ = 1/(14L(1 + 1/δ))`` **(derived)**: seed 001 Thm 4 with n = 1, Z = 1, ζ = 0 (the mean
    error ``ē`` follows single-worker EF on f, seed §6). Returns ``step_size`` and ``allreduce``.
    (Seed Table 1 lists ``L/μ`` without δ for this row; Thm 4 with n = 1 gives ``L/(μδ)``.)"""
    where = "ef_sgd_sync_theory: "
    check_synchronized(compressor, where)
    check_contractive(compressor, where, d=problem.d)
    _check_allreduce(allreduce, where)
    delta = require(compressor.delta(problem.d), "delta(d)", compressor, where)
    L = float(problem.constants.L)
    return {"step_size": 1.0 / (14.0 * L * (1.0 + 1.0 / delta)), "allreduce": allreduce,
            "delta": delta}  # fmt: skip


ENTRIES = (
    AlgorithmEntry(
        "d-qsgd-sync",
        qsgd_sync,
        qsgd_sync_theory,
        "Stich 2020 (seed 001) Alg. 5, §6 (synchronized linear quantizers)",
        "linear-unbiased",
        "γ = 1/(2L(1+ω)) (Thm 1 with n = 1, Z = 1; derived)",
    ),
    AlgorithmEntry(
        "d-ef-sgd-sync",
        ef_sgd_sync,
        ef_sgd_sync_theory,
        "Stich 2020 (seed 001) Alg. 6, §6 (synchronized linear compressors)",
        "linear-contractive",
        "γ = 1/(14L(1 + 1/δ)) (Thm 4 with n = 1, Z = 1; derived)",
    ),
)
