"""The Algorithm contract.

An algorithm is ``Algorithm(init, step, setup)``, built by a factory that closes over its
configuration: ``marina_p(compressor, step_size=..., p=...)``.

* ``init(key, problem, x0) -> State``
* ``step(key, state, problem) -> (State, Info)``
* ``setup(problem) -> Info``: one-off setup traffic per worker (e.g. MARINA's initial full
  gradient upload, 32d bits), logged as ``setup_bits`` and used as an offset on bit axes.

The three functions are :class:`jax.tree_util.Partial` objects: module-level functions with the
static configuration (compressors, which are hashable) and numeric hyperparameters (step size,
p, ...) as their bound arguments. The numeric ones are pytree leaves, so an ``Algorithm`` can be
passed to a jitted driver as an argument and a new step size or p does not recompile, and a
factory can be called inside ``vmap`` with traced hyperparameters to sweep them.

Every ``State`` is a NamedTuple with the server model in a field ``x`` of shape ``(d,)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ..compressors._base import Message

__all__ = [
    "Algorithm",
    "Cost",
    "Info",
    "broadcast_cost",
    "check_probability",
    "check_step_size",
    "dense_cost",
    "message_cost",
    "no_setup",
    "zero_cost",
]


class Cost(NamedTuple):
    """Traffic of one direction in one step, per worker."""

    bits: jax.Array  # (n,)
    bits_noidx: jax.Array  # (n,)
    coords: jax.Array  # (n,)

    def __add__(self, other: Cost) -> Cost:  # type: ignore[override]
        return Cost(*(a + b for a, b in zip(self, other, strict=True)))

    def where(self, cond, other: Cost) -> Cost:
        """Elementwise ``cond ? self : other`` (cond a scalar or (n,) boolean)."""
        return Cost(*(jnp.where(cond, a, b) for a, b in zip(self, other, strict=True)))


class Info(NamedTuple):
    """Both directions of one step: uplink = worker→server, downlink = server→worker."""

    up: Cost
    down: Cost


class Algorithm(NamedTuple):
    init: Partial  # (key, problem, x0) -> State
    step: Partial  # (key, state, problem) -> (State, Info)
    setup: Partial  # (problem) -> Info, one-off traffic per worker


def message_cost(m: Message) -> Cost:
    """The cost of a compressor's message."""
    return Cost(m.bits, m.bits_noidx, m.coords)


def dense_cost(n: int, d: int, dtype, float_bits: int = 32) -> Cost:
    """Every worker sends (or receives) one dense d-vector of floats."""
    return Cost(
        jnp.full((n,), float_bits * d, dtype),
        jnp.full((n,), float_bits * d, dtype),
        jnp.full((n,), d, dtype),
    )


def broadcast_cost(n: int, d: int, dtype, float_bits: int = 32) -> Cost:
    """A broadcast of the model x: 32d bits per worker on the downlink (spec §3)."""
    return dense_cost(n, d, dtype, float_bits)


def zero_cost(n: int, dtype) -> Cost:
    z = jnp.zeros((n,), dtype)
    return Cost(z, z, z)


def _no_setup(problem) -> Info:
    dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
    z = zero_cost(problem.n, dtype)
    return Info(z, z)


no_setup = Partial(_no_setup)


def _is_concrete(v) -> bool:
    return not isinstance(v, jax.core.Tracer)


def check_step_size(value, name: str = "step_size", where: str = "") -> None:
    """Reject a non-positive or non-finite step size (skipped for traced values)."""
    if not _is_concrete(value):
        return
    import numpy as np

    a = np.asarray(value, dtype=float)
    if not (np.all(np.isfinite(a)) and np.all(a > 0)):
        raise ValueError(
            f"{where}{name}={value!r} is not allowed: expected a positive finite number"
        )


def check_probability(value, name: str = "p", where: str = "") -> None:
    """Reject a probability outside (0, 1] (skipped for traced values)."""
    if not _is_concrete(value):
        return
    import numpy as np

    a = np.asarray(value, dtype=float)
    if not (np.all(a > 0) and np.all(a <= 1)):
        raise ValueError(f"{where}{name}={value!r} is out of range: expected a number in (0, 1]")
