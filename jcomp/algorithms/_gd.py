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
    del key
    g = problem.grad(state.x)
    n, d = problem.n, problem.d
    info = Info(up=dense_cost(n, d, g.dtype), down=broadcast_cost(n, d, g.dtype))
    return GDState(x=state.x - step_size * g), info


def gd(step_size) -> Algorithm:
    """Gradient descent: ``x ← x − γ∇f(x)``.

    Every worker uploads its full gradient (32d bits) and receives the model (32d bits).
    Theory step ``γ = 1/L`` (:func:`gd_theory`).
    """
    check_step_size(step_size, where="gd: ")
    return Algorithm(init=Partial(_init), step=Partial(_step, step_size), setup=no_setup)


def gd_theory(problem) -> dict:
    """``γ = 1/L`` (spec ALGORITHMS.md §5.1, GD)."""
    return {"step_size": 1.0 / float(problem.constants.L)}
