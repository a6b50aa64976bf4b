"""The Problem contract: per-worker objectives ``f_i`` on a leading worker axis.

A problem is a pytree (arrays only; sizes are static from the shapes) so it can be passed to a
jitted function as an argument: a new instance of the same shapes does not recompile.
``f = (1/n) Σ_i f_i``. ``worker_grads(X)`` evaluates worker ``i`` at row ``i`` of ``X``
(MARINA-P and M3 evaluate each worker at its own point).

Known optimum ``x_star``/``f_star`` and the smoothness constants are computed once, on the host
in float64, when the problem is built, and stored as array leaves (so theory step sizes can be
computed inside traced code as well as on the host).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Constants", "Problem", "problem_dataclass"]


class Constants(NamedTuple):
    """Smoothness constants of spec ALGORITHMS.md §1 (``None`` where not defined).

    L: smoothness of f (L_−); L_i: (n,) of each f_i; L_max = max L_i; L_plus: L_+;
    L_pm: Hessian variance L_±; L_A, L_B: a valid pair for the functional (L_A, L_B)
    inequality (Thm 4.9 for quadratics); mu: strong convexity of f.
    """

    L: jax.Array  # ()
    L_i: jax.Array  # (n,)
    L_max: jax.Array  # ()
    L_plus: jax.Array | None = None  # ()
    L_pm: jax.Array | None = None  # ()
    L_A: jax.Array | None = None  # ()
    L_B: jax.Array | None = None  # ()
    mu: jax.Array | None = None  # ()

    def to_dict(self) -> dict:
        """Host floats (lists for L_i); ``None`` where undefined."""
        out = {}
        for k, v in self._asdict().items():
            if v is None:
                out[k] = None
            else:
                a = jax.device_get(v)
                out[k] = a.tolist() if getattr(a, "ndim", 0) else float(a)
        return out


def problem_dataclass(cls):
    """Decorator: a frozen dataclass registered as a pytree. Fields marked
    ``dataclasses.field(metadata={"static": True})`` are static (hashable config); every other
    field is a leaf (arrays, ``Constants``, or ``None``)."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    data, meta = [], []
    for f in dataclasses.fields(cls):
        (meta if f.metadata.get("static", False) else data).append(f.name)
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)


class Problem:
    """Base class of all problems. Subclasses are :func:`problem_dataclass` dataclasses with at
    least the leaves ``x_star`` (d,) or None, ``f_star`` () or None, and ``constants``.

    Subclasses implement ``worker_grads`` and ``worker_losses``; ``loss``, ``grad`` and
    ``mean_worker_grad`` default to evaluating every worker and averaging, and may be
    overridden with a cheaper closed form.
    """

    name: str = "problem"

    @property
    def n(self) -> int:
        raise NotImplementedError

    @property
    def d(self) -> int:
        raise NotImplementedError

    def worker_grads(self, X: jax.Array, key: jax.Array | None = None) -> jax.Array:
        """(n, d): row i is ∇f_i(X[i]). ``key`` is for stochastic oracles (ignored if exact)."""
        raise NotImplementedError

    def worker_losses(self, X: jax.Array) -> jax.Array:
        """(n,): entry i is f_i(X[i])."""
        raise NotImplementedError

    def mean_worker_grad(self, X: jax.Array, key: jax.Array | None = None) -> jax.Array:
        """(d,): ``(1/n) Σ_i ∇f_i(X[i])``, the server's average of the workers' gradients at
        their own points (MARINA-P's server step). Equals ``mean(worker_grads(X, key), axis=0)``,
        which is the default; problems override it with a cheaper form."""
        return jnp.mean(self.worker_grads(X, key), axis=0)

    def broadcast(self, x: jax.Array) -> jax.Array:
        """(n, d): x repeated for every worker."""
        return jnp.broadcast_to(x, (self.n, self.d))

    def loss(self, x: jax.Array) -> jax.Array:
        """f(x) = (1/n) Σ f_i(x)."""
        return jnp.mean(self.worker_losses(self.broadcast(x)))

    def grad(self, x: jax.Array, key: jax.Array | None = None) -> jax.Array:
        """∇f(x) = (1/n) Σ ∇f_i(x); with ``key``, the mean of the workers' oracles at x."""
        return jnp.mean(self.worker_grads(self.broadcast(x), key), axis=0)

    def describe(self) -> dict:
        """JSON-friendly description (name, sizes, constants)."""
        c = getattr(self, "constants", None)
        return {
            "name": self.name,
            "n": self.n,
            "d": self.d,
            "constants": c.to_dict() if c is not None else None,
            "f_star": None if self.f_star is None else float(self.f_star),
        }
