"""M3: MARINA-P downlink + momentum + MARINA uplink (Gruntkowska, Tyurin, Richtárik 2024)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import (
    Algorithm,
    Info,
    broadcast_cost,
    check_probability,
    check_step_size,
    dense_cost,
    message_cost,
    zero_cost,
)
from ._checks import check_compressor, check_unit_interval, compressor_name, require
from ._entry import AlgorithmEntry

__all__ = ["ENTRIES", "M3State", "m3", "m3_default_worker", "m3_theory"]


class M3State(NamedTuple):
    x: jax.Array  # (d,) server model
    w: jax.Array  # (n, d) worker i's model shift w_i (MARINA-P downlink)
    z: jax.Array  # (n, d) worker i's momentum point z_i (where it evaluates ∇f_i)
    g: jax.Array  # (d,) the server's estimator g = (1/n)Σ g_i (the g_i are virtual)
    grads: jax.Array  # (n, d) ∇f_i(z_i), kept so each step evaluates the oracle once


def m3_default_worker(d: int, n: int):
    """The default worker compressor: independent RandK with ``K = max(1, ⌊d/n⌋)`` (Thm 5.1's
    RandK with K = d/n)."""
    from ..compressors import rand_k

    return rand_k(max(1, d // n))


def _worker(worker_compressor, d, n):
    return m3_default_worker(d, n) if worker_compressor is None else worker_compressor


def _init(key, problem, x0):
    key_oracle = key
    X0 = jnp.array(problem.broadcast(x0))  # w_i⁰ = z_i⁰ = x⁰
    grads = problem.worker_grads(X0, key_oracle)  # (n, d) g_i⁰ = ∇f_i(x⁰)
    return M3State(x=x0, w=X0, z=X0, g=jnp.mean(grads, axis=0), grads=grads)


def _setup(problem):
    dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
    return Info(up=dense_cost(problem.n, problem.d, dtype), down=zero_cost(problem.n, dtype))


def _step(compressor, worker_compressor, step_size, p_server, p_worker, beta, key, state, problem):
    key_coin_p, key_coin_d, key_server, key_worker, key_oracle = jax.random.split(key, 5)
    n, d = problem.n, problem.d
    Q = _worker(worker_compressor, d, n)
    x = state.x
    # 1. server step
    x_new = x - step_size * state.g  # (d,)
    # 2. two independent coins, each shared by all workers
    c_p = jax.random.bernoulli(key_coin_p, p_server)
    c_d = jax.random.bernoulli(key_coin_d, p_worker)
    # 3. downlink (s2w): x⁺ to all, or C_i(x⁺ − x) to worker i
    down_msg = compressor(key_server, problem.broadcast(x_new - x))  # row i: C_i(x⁺ − x)
    w_new = jnp.where(c_p, problem.broadcast(x_new), state.w + down_msg.values)
    # 4. momentum with the new w
    z_new = beta * w_new + (1.0 - beta) * state.z
    # 5. uplink (w2s): ∇f_i(z_i⁺), or Q_i(∇f_i(z_i⁺) − ∇f_i(z_i))
    grads_new = problem.worker_grads(z_new, key_oracle)  # (n, d)
    up_msg = Q(key_worker, grads_new - state.grads)
    # 6. g⁺ = (1/n)Σ g_i⁺
    g_new = jnp.where(c_d, jnp.mean(grads_new, axis=0), state.g + jnp.mean(up_msg.values, axis=0))
    down = broadcast_cost(n, d, x.dtype).where(c_p, message_cost(down_msg))
    up = dense_cost(n, d, x.dtype).where(c_d, message_cost(up_msg))
    new = M3State(x=x_new, w=w_new, z=z_new, g=g_new, grads=grads_new)
    return new, Info(up=up, down=down)


def _check_worker(worker_compressor, where):
    if worker_compressor is None:
        return
    check_compressor(worker_compressor, where, unbiased=True, name="worker_compressor")
    if not worker_compressor.independent:
        raise ValueError(
            f"{where}worker_compressor={compressor_name(worker_compressor)} is not allowed: M3's "
            "worker compressors Q_i must be independent across workers (seed 004 Asm. 1.6), "
            "e.g. rand_k(k) or compose(natural(), rand_k(k))"
        )


def m3(compressor, step_size, p_server, p_worker, beta, worker_compressor=None) -> Algorithm:
    """M3 (seed 004 Alg. 2; spec ALGORITHMS.md §5.3): MARINA-P on the downlink, a momentum
    step, MARINA on the uplink.

    Init ``w_i⁰ = z_i⁰ = x⁰``, ``g_i⁰ = ∇f_i(x⁰)``. Step, in this order:

    1. ``x⁺ = x − γg``;
    2. draw ``c_P ~ Bern(p_server)``, ``c_D ~ Bern(p_worker)``, independent, each shared;
    3. ``w_i⁺ = x⁺`` if c_P else ``w_i + C_i(x⁺ − x)`` (s2w, ``compressor`` on the broadcast
       difference, so correlated collections such as PermK split it);
    4. ``z_i⁺ = βw_i⁺ + (1−β)z_i`` (the new w);
    5. ``g_i⁺ = ∇f_i(z_i⁺)`` if c_D else ``g_i + Q_i(∇f_i(z_i⁺) − ∇f_i(z_i))`` (w2s);
    6. ``g⁺ = (1/n)Σg_i⁺`` (only g is stored, as Alg. 2 notes).

    Bits per worker: setup uplink 32d (g_i⁰); per step downlink 32d if c_P else C_i's message,
    uplink 32d if c_D else Q_i's message. ``compressor`` (server): unbiased, U(ω_P) ∩ P(θ);
    ``worker_compressor``: unbiased and independent, default (``None``) RandK with
    ``K = max(1, ⌊d/n⌋)`` (:func:`m3_default_worker`, resolved from the problem's sizes).
    ``p_server``, ``p_worker``, ``beta`` ∈ (0, 1]. Each step splits its key into
    ``key_coin_p, key_coin_d, key_server, key_worker, key_oracle``. Theory: :func:`m3_theory`.
    """
    where = "m3: "
    check_compressor(compressor, where, unbiased=True)
    _check_worker(worker_compressor, where)
    check_step_size(step_size, where=where)
    check_probability(p_server, name="p_server", where=where)
    check_probability(p_worker, name="p_worker", where=where)
    check_unit_interval(beta, "beta", where=where)
    return Algorithm(
        init=Partial(_init),
        step=Partial(_step, compressor, worker_compressor, step_size, p_server, p_worker, beta),
        setup=Partial(_setup),
    )


_RULES = ("cor_e2", "thm_5_1")


def m3_theory(problem, compressor, worker_compressor=None, rule="cor_e2") -> dict:
    """M3 parameters (seed 004; spec §5.3), ω_P = ``compressor.omega(d, n)``,
    ω_D = ``worker_compressor.omega(d, n)``::

        rule "cor_e2" (default, Cor. E.2, θ = 0, general ω):
            p_server = 1/(ω_P + 1),  p_worker = 1/(ω_D + 1),
            β = min{(n/(ω_D ω_P (ω_D + 1)))^{1/3}, 1}   (β = 1 when ω_Dω_P = 0);
        rule "thm_5_1" (Thm 5.1: PermK server, RandK workers, K = d/n):
            p_server = p_worker = 1/n,  β = n^{−2/3};
        both: γ = (L + 34(n L_A + n^{2/3} L_B + n^{2/3} L_max))⁻¹   (Thm 5.1; Thm E.1's γ is
            garbled in the seed, so the "×1" γ is Thm 5.1's).

    (L_A, L_B) from ``problem.constants`` (Thm 4.9 for quadratics), else (L_max, 0) (Thm 4.4).
    Cor. E.2 assumes θ = 0; the server compressor's θ is returned as ``theta`` for logs (e.g.
    PermK∘C_nat has θ = 1/8). Returns ``step_size``, ``p_server``, ``p_worker``, ``beta``,
    ``worker_compressor`` (the resolved default when ``None``), ``theta``, ``rule``.
    """
    where = "m3_theory: "
    check_compressor(compressor, where, unbiased=True)
    _check_worker(worker_compressor, where)
    if rule not in _RULES:
        raise ValueError(f"{where}rule={rule!r} is not allowed: expected one of {_RULES}")
    n, d = problem.n, problem.d
    Q = _worker(worker_compressor, d, n)
    omega_p = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    omega_d = require(Q.omega(d, n), "omega(d, n)", Q, where)
    theta = compressor.theta(d, n)
    if rule == "cor_e2":
        p_server = 1.0 / (omega_p + 1.0)
        p_worker = 1.0 / (omega_d + 1.0)
        prod = omega_d * omega_p * (omega_d + 1.0)
        beta = 1.0 if prod <= 0 else min((n / prod) ** (1.0 / 3.0), 1.0)
    else:
        p_server = p_worker = 1.0 / n
        beta = n ** (-2.0 / 3.0)
    c = problem.constants
    L = float(c.L)
    if c.L_A is not None and c.L_B is not None:
        L_A, L_B = float(c.L_A), float(c.L_B)
    else:
        L_A, L_B = float(c.L_max), 0.0
    n23 = n ** (2.0 / 3.0)
    gamma = 1.0 / (L + 34.0 * (n * L_A + n23 * L_B + n23 * float(c.L_max)))
    return {
        "step_size": gamma,
        "p_server": p_server,
        "p_worker": p_worker,
        "beta": beta,
        "worker_compressor": Q,
        "theta": None if theta is None else float(theta),
        "rule": rule,
    }


ENTRIES = (
    AlgorithmEntry(
        "m3",
        m3,
        m3_theory,
        "Gruntkowska, Tyurin, Richtárik 2024 (seed 004) Alg. 2, Thm 5.1, Cor. E.2",
        "unbiased",
        "γ = (L + 34(nL_A + n^{2/3}L_B + n^{2/3}L_max))⁻¹ (Thm 5.1); p_P = 1/(ω_P+1), "
        "p_D = 1/(ω_D+1), β = min{(n/(ω_Dω_P(ω_D+1)))^{1/3}, 1} (Cor. E.2)",
    ),
)
