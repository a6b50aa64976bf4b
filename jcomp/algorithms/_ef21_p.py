"""EF21-P: error feedback on the downlink with one broadcast message (Gruntkowska et al. 2023)."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._base import Algorithm, Cost, Info, check_step_size, dense_cost, no_setup
from ._checks import check_contractive

__all__ = ["EF21PState", "ef21_p", "ef21_p_theory"]


class EF21PState(NamedTuple):
    x: jax.Array  # (d,) server model
    w: jax.Array  # (d,) the model every worker holds


def _init(compressor, key, problem, x0):
    del key
    check_contractive(compressor, "ef21_p: ", d=problem.d)
    return EF21PState(x=x0, w=x0)


def _step(compressor, step_size, key, state, problem):
    key_comp = key  # the step's only random draw: one compression of the broadcast
    n, d = problem.n, problem.d
    check_contractive(compressor, "ef21_p: ", d=d)
    x, w = state.x, state.w
    g = problem.grad(w)  # (d,) (1/n)Σ∇f_i(w): every worker holds the same w
    x_new = x - step_size * g  # (d,)
    msg = compressor(key_comp, (x_new - w)[None, :])  # one (1, d) row: C(x⁺ − w)
    w_new = w + msg.values[0]
    down = Cost(*(jnp.broadcast_to(a, (n,)) for a in (msg.bits, msg.bits_noidx, msg.coords)))
    info = Info(up=dense_cost(n, d, x.dtype), down=down)
    return EF21PState(x=x_new, w=w_new), info


def ef21_p(compressor, step_size) -> Algorithm:
    """EF21-P (Gruntkowska, Tyurin, Richtárik 2023; spec ALGORITHMS.md §5.3).

    ``w⁰ = x⁰``; ``x⁺ = x − γ(1/n)Σ∇f_i(w)``, ``w⁺ = w + C(x⁺ − w)``: the server compresses
    ``x⁺ − w`` once and broadcasts the one message to all workers.

    Bits per step and worker: uplink 32d (dense ∇f_i(w)); downlink the one message's
    ``bits``/``bits_noidx``/``coords``, charged to every worker (TopK: ``K(32 + ⌈log₂d⌉)`` bits,
    indices charged). No setup traffic. ``compressor`` must be contractive (B(δ):
    ``compressor.delta(d)`` defined). Theory step: :func:`ef21_p_theory`.
    """
    where = "ef21_p: "
    check_contractive(compressor, where)
    check_step_size(step_size, where=where)
    return Algorithm(
        init=Partial(_init, compressor), step=Partial(_step, compressor, step_size), setup=no_setup
    )


def ef21_p_theory(problem, compressor) -> dict:
    """ "×1" step (spec §5.3, **external, unverified**: from Gruntkowska et al. 2023, not a seed)::

    γ = 1/(L (1 + √(1−α)/(1 − √(1−α)))),   α = compressor.delta(d)  (K/d for TopK).
    """
    check_contractive(compressor, "ef21_p_theory: ", d=problem.d)
    alpha = float(compressor.delta(problem.d))
    r = math.sqrt(max(0.0, 1.0 - alpha))
    return {"step_size": 1.0 / (float(problem.constants.L) * (1.0 + r / (1.0 - r)))}
