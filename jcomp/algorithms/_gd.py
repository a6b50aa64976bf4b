"""Gradient descent, the uncompressed baseline."""

from __future__ import annotations

from typing import NamedTuple

import jax
from jax.tree_util import Partial

from ._base import Algorithm, Info, broadcast_cost, check_step_size, dense_cost, no_setup

__all__ = ["GDState", "gd", "gd_theory"]


class GDState(NamedTuple):
    x: jax.Array  # (d,) server model


def _init(key, problem, x0):
    del key, problem
    return GDState(x=x0)


def _step(step_size, key, state, problem):
    key_oracle = key  # the step's only random draw: the (possibly stochastic) gradient oracle
    n, d = problem.n, problem.d
    g = problem.grad(state.x, key_oracle)  # (d,) (1/n)Σ_i g_i(x), closed form when exact
    info = Info(up=dense_cost(n, d, g.dtype), down=broadcast_cost(n, d, g.dtype))
    return GDState(x=state.x - step_size * g), info


def gd(step_size) -> Algorithm:
    """Gradient descent: ``x ← x − γ(1/n)Σ_i g_i(x)``, ``g_i`` worker i's oracle (``∇f_i(x)``
    for an exact problem; ``∇f_i(x) + ξ_i`` under :func:`jcomp.problems.stochastic`, i.e.
    distributed SGD). The step's key is the oracle key.

    Every worker uploads its full gradient (32d bits) and receives the model (32d bits).
    Theory step ``γ = 1/L`` (:func:`gd_theory`).
    """
    check_step_size(step_size, where="gd: ")
    return Algorithm(init=Partial(_init), step=Partial(_step, step_size), setup=no_setup)


def gd_theory(problem) -> dict:
    """``γ = 1/L`` (spec ALGORITHMS.md §5.1, GD)."""
    return {"step_size": 1.0 / float(problem.constants.L)}
