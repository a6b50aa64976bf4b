"""EF21-P: error feedback on the downlink with one broadcast message (Gruntkowska et al. 2023),
alone (dense uplink) or with DCGD on the uplink (EF21-P + DCGD)."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import Algorithm, Cost, Info, check_step_size, dense_cost, message_cost, no_setup
from ._checks import check_compressor, check_contractive, require
from ._entry import AlgorithmEntry

__all__ = [
    "ENTRIES",
    "EF21PState",
    "ef21_p",
    "ef21_p_dcgd",
    "ef21_p_dcgd_default_worker",
    "ef21_p_dcgd_theory",
    "ef21_p_theory",
]


class EF21PState(NamedTuple):
    x: jax.Array  # (d,) server model
    w: jax.Array  # (d,) the model every worker holds


def _init(compressor, key, problem, x0):
    del key
    check_contractive(compressor, "ef21_p: ", d=problem.d)
    return EF21PState(x=x0, w=x0)


def _broadcast_cost(msg, n) -> Cost:
    """One (1, d) message sent to every worker: its cost charged to each of the n workers."""
    return Cost(*(jnp.broadcast_to(a, (n,)) for a in (msg.bits, msg.bits_noidx, msg.coords)))


def _step(compressor, step_size, key, state, problem):
    key_comp, key_oracle = jax.random.split(key)
    n, d = problem.n, problem.d
    check_contractive(compressor, "ef21_p: ", d=d)
    x, w = state.x, state.w
    # (d,) (1/n)Σ∇f_i(w): every worker holds the same w, so this is the problem's gradient
    # (with a key: the mean of the workers' oracles), in closed form where the problem has one
    g = problem.grad(w, key_oracle)
    x_new = x - step_size * g  # (d,)
    msg = compressor(key_comp, (x_new - w)[None, :])  # one (1, d) row: C(x⁺ − w)
    w_new = w + msg.values[0]
    info = Info(up=dense_cost(n, d, x.dtype), down=_broadcast_cost(msg, n))
    return EF21PState(x=x_new, w=w_new), info


def ef21_p(compressor, step_size) -> Algorithm:
    """EF21-P (Gruntkowska, Tyurin, Richtárik 2023; spec ALGORITHMS.md §5.3).

    ``w⁰ = x⁰``; ``x⁺ = x − γ(1/n)Σ∇f_i(w)``, ``w⁺ = w + C(x⁺ − w)``: the server compresses
    ``x⁺ − w`` once and broadcasts the one message to all workers.

    Bits per step and worker: uplink 32d (dense ∇f_i(w)); downlink the one message's
    ``bits``/``bits_noidx``/``coords``, charged to every worker (TopK: ``K(32 + ⌈log₂d⌉)`` bits,
    indices charged). No setup traffic. ``compressor`` must be contractive (B(δ):
    ``compressor.delta(d)`` defined). Each step splits its key into ``key_comp, key_oracle``.
    Theory step: :func:`ef21_p_theory`.
    """
    where = "ef21_p: "
    check_contractive(compressor, where)
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_init, compressor), step=Partial(_step, compressor, step_size), setup=no_setup
    )


def _ef21_p_gamma(problem, compressor, where) -> float:
    check_contractive(compressor, where, d=problem.d)
    alpha = float(compressor.delta(problem.d))
    r = math.sqrt(max(0.0, 1.0 - alpha))
    return 1.0 / (float(problem.constants.L) * (1.0 + r / (1.0 - r)))


def ef21_p_theory(problem, compressor) -> dict:
    """ "×1" step (spec §5.3, **external, unverified**: from Gruntkowska et al. 2023, not a seed)::

    γ = 1/(L (1 + √(1−α)/(1 − √(1−α)))),   α = compressor.delta(d)  (K/d for TopK).
    """
    return {"step_size": _ef21_p_gamma(problem, compressor, "ef21_p_theory: ")}


# ---------------------------------------------------------------------------------------------
# EF21-P + DCGD


def ef21_p_dcgd_default_worker(d: int, n: int):
    """The default uplink compressor of EF21-P + DCGD: ``compose(natural(), rand_k(K))``
    (RandK∘C_nat, seed 004 F.2) with ``K = max(1, ⌊d/n⌋)``, independent across workers."""
    from ..compressors import compose, natural, rand_k

    return compose(natural(), rand_k(max(1, d // n)))


def _worker(worker_compressor, d, n):
    return ef21_p_dcgd_default_worker(d, n) if worker_compressor is None else worker_compressor


def _check_worker(worker_compressor, where):
    if worker_compressor is not None:
        check_compressor(worker_compressor, where, unbiased=True, name="worker_compressor")


def _init_dcgd(compressor, worker_compressor, key, problem, x0):
    del key, worker_compressor
    check_contractive(compressor, "ef21_p_dcgd: ", d=problem.d)
    return EF21PState(x=x0, w=x0)


def _step_dcgd(compressor, worker_compressor, step_size, key, state, problem):
    key_up, key_down, key_oracle = jax.random.split(key, 3)
    n, d = problem.n, problem.d
    check_contractive(compressor, "ef21_p_dcgd: ", d=d)
    Q = _worker(worker_compressor, d, n)
    x, w = state.x, state.w
    grads = problem.worker_grads(problem.broadcast(w), key_oracle)  # (n, d) ∇f_i(w)
    up = Q(key_up, grads)  # row i: Q_i(∇f_i(w)), independent across workers
    x_new = x - step_size * jnp.mean(up.values, axis=0)  # (d,)
    down = compressor(key_down, (x_new - w)[None, :])  # one (1, d) row: C(x⁺ − w)
    w_new = w + down.values[0]
    info = Info(up=message_cost(up), down=_broadcast_cost(down, n))
    return EF21PState(x=x_new, w=w_new), info


def ef21_p_dcgd(compressor, step_size, worker_compressor=None) -> Algorithm:
    """EF21-P + DCGD (Gruntkowska, Tyurin, Richtárik 2023; spec ALGORITHMS.md §5.3).

    ``w⁰ = x⁰``. Step: each worker sends ``Q_i(∇f_i(w))``; the server takes
    ``x⁺ = x − γ(1/n)Σ Q_i(∇f_i(w))``, compresses ``x⁺ − w`` once with the contractive
    ``compressor`` C and broadcasts it; everyone sets ``w⁺ = w + C(x⁺ − w)``. With
    ``worker_compressor = identity()`` this is EF21-P exactly.

    Bits per step and worker: uplink the worker compressor's message; downlink the one C
    message, charged to every worker. No setup traffic. ``compressor``: contractive (B(δ));
    ``worker_compressor``: unbiased (U(ω)), default (``None``) RandK∘C_nat with
    ``K = max(1, ⌊d/n⌋)`` (:func:`ef21_p_dcgd_default_worker`, resolved from the problem's
    sizes). For seed 004 F.2's server side use ``scaled(compose(natural(), rand_k(K)))``.
    Each step splits its key into ``key_up, key_down, key_oracle``. Theory:
    :func:`ef21_p_dcgd_theory`.
    """
    where = "ef21_p_dcgd: "
    check_contractive(compressor, where)
    _check_worker(worker_compressor, where)
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_init_dcgd, compressor, worker_compressor),
        step=Partial(_step_dcgd, compressor, worker_compressor, step_size),
        setup=no_setup,
    )


def ef21_p_dcgd_theory(problem, compressor, worker_compressor=None) -> dict:
    """Step of EF21-P + DCGD, **assumed** (no seed states it; the EF21-P paper's own theorem is
    not reproduced here): the smaller of the two one-sided rules it reduces to::

        γ = min{ 1/(L(1 + √(1−α)/(1−√(1−α)))),  1/(L + 2 L_max ω/n) },

    α = ``compressor.delta(d)`` (EF21-P "×1", external) and ω = ``worker_compressor.omega(d, n)``
    (DCGD, Shulgin Thm 1). Identity workers (ω = 0) give EF21-P's step; an identity server
    (α = 1) gives DCGD's. Returns ``step_size`` and ``worker_compressor`` (the resolved
    default when ``None``), the factory's keywords.
    """
    where = "ef21_p_dcgd_theory: "
    _check_worker(worker_compressor, where)
    n, d = problem.n, problem.d
    Q = _worker(worker_compressor, d, n)
    omega = require(Q.omega(d, n), "omega(d, n)", Q, where)
    c = problem.constants
    g_dcgd = 1.0 / (float(c.L) + 2.0 * float(c.L_max) * omega / n)
    gamma = min(_ef21_p_gamma(problem, compressor, where), g_dcgd)
    return {"step_size": gamma, "worker_compressor": Q}


ENTRIES = (
    AlgorithmEntry(
        "ef21-p-dcgd",
        ef21_p_dcgd,
        ef21_p_dcgd_theory,
        "Gruntkowska, Tyurin, Richtárik 2023 (EF21-P + DCGD); seed 004 F.2",
        "contractive",
        "γ = min{1/(L(1 + √(1−α)/(1−√(1−α)))), 1/(L + 2L_maxω/n)} (assumed), α = δ(C), ω of Q",
    ),
)
