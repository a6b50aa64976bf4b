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

Minibatch option (spec §1: "option minibatch gradients (not seed 001's model)"):
``minibatch(problem, batch)`` wraps a problem that keeps its samples (``samples_per_worker`` m
and ``sample_grads(X, idx)``, e.g. :func:`jcomp.problems.ridge`): worker i averages the gradients
of ``batch`` of its m per-sample terms, drawn uniformly **without replacement** from
``fold_in(key, i)`` (the first ``batch`` of the ``lax.top_k`` order of m uniforms: an exact
uniform subset without a sort). Unbiased; its variance depends on x, exactly
``E‖g_i − ∇f_i(x)‖² = ((m − b)/(b(m − 1)))·(1/m)Σ_t‖∇f_it(x) − ∇f_i(x)‖²`` (finite-population
correction); :meth:`MinibatchProblem.sigma2` evaluates it (e.g. σ_*² at x*) for theory rules.
The wrappers compose: ``stochastic(minibatch(p, b), σ)`` adds Gaussian noise on top.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Problem, problem_dataclass

__all__ = ["MinibatchProblem", "StochasticProblem", "minibatch", "oracle_sigma2", "stochastic"]


def _check_problem(where: str, problem) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(
            f"{where}problem of type {type(problem).__name__} is not allowed: expected a jcomp "
            "Problem (e.g. jcomp.problems.quadratic(A, b))"
        )


class _Forwarding(Problem):
    """Wrapper base: sizes, optimum, constants and problem data forward to ``inner``."""

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
        # Guard the dataclass fields: during construction and unflattening they may be unset.
        if name in ("inner", "sigma", "batch") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def worker_losses(self, X):
        return self.inner.worker_losses(X)

    def loss(self, x):
        return self.inner.loss(x)


@problem_dataclass
class StochasticProblem(_Forwarding):
    """``inner`` with additive Gaussian gradient noise of total variance ``σ²`` per worker.

    ``worker_grads(X, key)``: split ``key`` into ``(key_noise, key_inner)``; return
    ``inner.worker_grads(X, key_inner) + ξ`` with row ``i`` of ``ξ`` drawn from
    ``fold_in(key_noise, i)`` as ``(σ/√d)·N(0, I_d)``. ``key=None``: exact gradients.
    """

    inner: Problem
    sigma: jax.Array  # () noise level σ ≥ 0: E‖ξ_i‖² = σ²
    name = "stochastic"

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
    _check_problem(where, problem)
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


@problem_dataclass
class MinibatchProblem(_Forwarding):
    """``inner`` (a problem with samples) with minibatch gradients of ``batch`` samples per
    worker, drawn without replacement from ``fold_in(key, i)``. ``key=None``: exact gradients.
    See the module docstring for the exact variance."""

    inner: Problem
    batch: int = dataclasses.field(metadata={"static": True})
    name = "minibatch"

    def indices(self, key: jax.Array) -> jax.Array:
        """(n, batch) worker i's sample indices: a uniform ``batch``-subset of ``range(m)``."""
        m = self.inner.samples_per_worker
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(self.n))
        u = jax.vmap(lambda k: jax.random.uniform(k, (m,)))(keys)  # (n, m)
        return jax.lax.top_k(u, self.batch)[1]

    def worker_grads(self, X, key=None):
        if key is None:
            return self.inner.worker_grads(X)
        return self.inner.sample_grads(X, self.indices(key))

    def grad(self, x, key=None):
        if key is None:
            return self.inner.grad(x)
        return jnp.mean(self.worker_grads(self.broadcast(x), key), axis=0)

    def sigma2(self, x=None) -> np.ndarray:
        """(n,) the exact minibatch variance ``E‖g_i(x) − ∇f_i(x)‖²`` of each worker at x
        (default x*), in float64 on the host."""
        if x is None:
            x = self.x_star
        if x is None:
            raise ValueError("minibatch.sigma2: the problem has no known x_star; pass x")
        n, m, b = self.n, self.inner.samples_per_worker, self.batch
        X = jnp.broadcast_to(jnp.asarray(x), (n, self.d))
        each = jax.vmap(lambda t: self.inner.sample_grads(X, jnp.full((n, 1), t)))(jnp.arange(m))
        G = np.asarray(jax.device_get(each), np.float64)  # (m, n, d) per-sample gradients
        spread = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=2), axis=0)  # (n,)
        fpc = 0.0 if m == 1 else (m - b) / (b * (m - 1))
        return fpc * spread

    def describe(self) -> dict:
        out = dict(self.inner.describe())
        out["name"] = f"minibatch({out['name']})"
        out["batch"] = self.batch
        return out


def minibatch(problem: Problem, batch: int) -> MinibatchProblem:
    """Wrap a problem that keeps its samples (``samples_per_worker``, ``sample_grads``; e.g.
    :func:`jcomp.problems.ridge`) with minibatch gradients: worker i averages ``batch`` of its m
    per-sample gradients, a uniform subset without replacement (``1 ≤ batch ≤ m``)."""
    where = "minibatch: "
    _check_problem(where, problem)
    m = getattr(problem, "samples_per_worker", None)
    if m is None or not hasattr(problem, "sample_grads"):
        raise TypeError(
            f"{where}problem {problem.name!r} is not allowed: it keeps no samples (expected "
            "samples_per_worker and sample_grads, e.g. jcomp.problems.ridge); use "
            "jcomp.problems.stochastic(problem, sigma) for additive noise"
        )
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or not 1 <= batch <= m:
        raise ValueError(
            f"{where}batch={batch!r} is out of range: expected an integer in [1, {m}] "
            f"(samples per worker)"
        )
    return MinibatchProblem(inner=problem, batch=int(batch))


def oracle_sigma2(problem: Problem, x=None) -> float:
    """The oracle's variance bound at x (default x*), over the wrapper chain: Gaussian noise adds
    σ², a minibatch adds ``max_i E‖g_i(x) − ∇f_i(x)‖²``; 0 for an exact problem. Host float,
    for theory rules (seed 001's σ², here σ_*² at x*)."""
    total = 0.0
    while isinstance(problem, _Forwarding):
        if isinstance(problem, StochasticProblem):
            total += float(jax.device_get(problem.sigma)) ** 2
        elif isinstance(problem, MinibatchProblem):
            total += float(np.max(problem.sigma2(x)))
        problem = problem.inner
    return total
