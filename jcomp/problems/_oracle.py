"""Stochastic gradient oracle (seed 001 §3.2): exact gradients plus independent noise.

``stochastic(problem, sigma)`` wraps any problem so that ``worker_grads(X, key)`` returns
``g_i = ∇f_i(X[i]) + ξ_i`` with ``ξ_i ~ N(0, (σ²/d) I_d)``, hence ``E ξ_i = 0`` and
``E‖ξ_i‖² = σ²`` exactly (spec ALGORITHMS.md §1, "Stochastic oracle"; Stich 2020, seed 001
eq. 4 allows any noise with ``E‖ξ_i‖² ≤ σ²``). The noises are independent over workers and over
calls: worker i draws from ``fold_in(key_noise, i)`` (so results do not depend on how workers are
sharded), and an algorithm passes a fresh oracle subkey every step. ``key=None`` gives the exact
gradients, and ``loss``, ``grad``, ``worker_losses``, ``constants``, ``x_star``, ``f_star``
forward to the inner problem (the objective is unchanged; only the oracle is noisy).

The wrapper is a pytree with the inner problem and ``sigma`` as leaves: a new σ (or a traced σ
under ``vmap``) does not recompile a jitted function taking the problem as an argument.

Future work: a minibatch oracle for sample-based problems (L2 logistic regression, seed 000;
comes with those problems): ``∇f_i`` over a random minibatch of worker i's samples drawn from the
same per-worker key. It is not seed 001's noise model (its σ² depends on x), so it belongs to
the sample-based problem itself (``worker_grads(X, key)`` of that problem), and this wrapper then
passes the inner problem its own subkey (already done below: ``key_inner``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Problem, problem_dataclass

__all__ = ["StochasticProblem", "stochastic"]


@problem_dataclass
class StochasticProblem(Problem):
    """``inner`` with additive Gaussian gradient noise of total variance ``σ²`` per worker.

    ``worker_grads(X, key)``: split ``key`` into ``(key_noise, key_inner)``; return
    ``inner.worker_grads(X, key_inner) + ξ`` with row ``i`` of ``ξ`` drawn from
    ``fold_in(key_noise, i)`` as ``(σ/√d)·N(0, I_d)``. ``key=None``: exact gradients.
    """

    inner: Problem
    sigma: jax.Array  # () noise level σ ≥ 0: E‖ξ_i‖² = σ²
    name = "stochastic"

    @property
    def n(self) -> int:
        return self.inner.n

    @property
    def d(self) -> int:
        return self.inner.d

    @property
    def x_star(self):
        return self.inner.x_star

    @property
    def f_star(self):
        return self.inner.f_star

    @property
    def constants(self):
        return self.inner.constants

    def __getattr__(self, name):
        # Problem-specific data (a quadratic's A, b, ...) forwards to the inner problem, so theory
        # rules that read them work on the wrapper. Guard the fields themselves: during
        # construction and unflattening they may not be set yet.
        if name in ("inner", "sigma") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def noise(self, key: jax.Array, dtype) -> jax.Array:
        """(n, d) the noise ξ for ``key``: row i from ``fold_in(key, i)``, ``N(0, (σ²/d)I)``."""
        n, d = self.n, self.d
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(n))
        z = jax.vmap(lambda k: jax.random.normal(k, (d,), dtype))(keys)
        scale = (jnp.asarray(self.sigma) / np.sqrt(d)).astype(dtype)
        return z * scale

    def worker_grads(self, X, key=None):
        if key is None:
            return self.inner.worker_grads(X)
        key_noise, key_inner = jax.random.split(key)
        return self.inner.worker_grads(X, key_inner) + self.noise(key_noise, X.dtype)

    def worker_losses(self, X):
        return self.inner.worker_losses(X)

    def loss(self, x):
        return self.inner.loss(x)

    def grad(self, x, key=None):
        """The exact ∇f(x) without ``key``; with it, the mean of the n workers' oracles
        (the inner closed form plus the mean of the workers' noise)."""
        if key is None:
            return self.inner.grad(x)
        key_noise, key_inner = jax.random.split(key)
        return self.inner.grad(x, key_inner) + jnp.mean(self.noise(key_noise, x.dtype), axis=0)

    def describe(self) -> dict:
        out = dict(self.inner.describe())
        out["name"] = f"stochastic({out['name']})"
        out["sigma"] = float(jax.device_get(self.sigma))
        out["noise"] = "gaussian: xi_i ~ N(0, (sigma^2/d) I), E||xi_i||^2 = sigma^2"
        return out


def stochastic(problem: Problem, sigma) -> StochasticProblem:
    """Wrap ``problem`` with the seed-001 stochastic oracle of noise level ``sigma`` (σ ≥ 0):
    ``worker_grads(X, key) = ∇f_i(X[i]) + ξ_i``, ``ξ_i ~ N(0, (σ²/d)I)`` independent over
    workers (``E ξ_i = 0``, ``E‖ξ_i‖² = σ²``). ``sigma`` may be a traced value (``vmap`` over σ);
    a concrete one must be a finite number ≥ 0. ``key=None`` is the exact oracle."""
    where = "stochastic: "
    if not isinstance(problem, Problem):
        raise TypeError(
            f"{where}problem of type {type(problem).__name__} is not allowed: expected a jcomp "
            "Problem "
            "(e.g. jcomp.problems.quadratic(A, b))"
        )
    if not isinstance(sigma, jax.core.Tracer):
        try:
            s = np.asarray(sigma, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}sigma={sigma!r} is not allowed: expected a finite number >= 0"
            ) from None
        if s.ndim != 0 or not np.isfinite(s) or s < 0:
            raise ValueError(
                f"{where}sigma={sigma!r} is not allowed: expected a finite number >= 0"
            )
        dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
        sigma = jnp.asarray(s, dtype)
    return StochasticProblem(inner=problem, sigma=sigma)
