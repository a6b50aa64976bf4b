"""Ridge regression split over workers (seed 002 §4), a quadratic that keeps its samples.

The paper's objective ``f(x) = ½‖Ax − y‖² + (λ/2)‖x‖²`` (A: N×d, λ = 1/N by default) with the
N rows split evenly over n workers, ``A_i`` (m×d, m = N/n) and ``y_i``:

    ``f_i(x) = (n/2)‖A_ix − y_i‖² + (λ/2)‖x‖²``,  so ``(1/n)Σ_i f_i = f`` exactly

(spec ALGORITHMS.md §6, "Seed 002 ridge"). As a quadratic ``f_i = ½xᵀH_ix − b_iᵀx + c_i`` with
``H_i = nA_iᵀA_i + λI``, ``b_i = nA_iᵀy_i``, ``c_i = (n/2)‖y_i‖²``; every algorithm and theory
rule that reads a dense quadratic (``A`` = the Hessians, ``b``) works unchanged, and ``f*``
includes the constant, so ``f(x*)`` is the paper's optimal value.

Samples (for the minibatch oracle, :func:`jcomp.problems.minibatch`): worker i's objective is
the mean of m per-sample terms ``f_it(x) = (nm/2)(a_tᵀx − y_t)² + (λ/2)‖x‖²`` over its rows,
so ``∇f_i = (1/m)Σ_t ∇f_it`` and a uniform minibatch of those terms is unbiased.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._base import problem_dataclass
from ._checks import check_lam
from ._quadratic import Quadratic, _check_finite, _data_matrix, quadratic

__all__ = ["Ridge", "ridge", "ridge_regression"]


@problem_dataclass
class Ridge(Quadratic):
    """Ridge regression over n workers (seed 002): a :class:`Quadratic` in Hessian form plus the
    samples ``features`` (n, m, d), ``targets`` (n, m), the constants ``c`` (n,) and λ."""

    features: jax.Array = None  # (n, m, d) worker i's rows A_i
    targets: jax.Array = None  # (n, m) worker i's y_i
    c: jax.Array = None  # (n,) c_i = (n/2)‖y_i‖²
    lam: jax.Array = None  # () λ
    name = "ridge"

    @property
    def samples_per_worker(self) -> int:
        return self.targets.shape[1]

    def worker_losses(self, X):
        return super().worker_losses(X) + self.c

    def loss(self, x):
        return super().loss(x) + jnp.mean(self.c)

    def sample_grads(self, X: jax.Array, idx: jax.Array) -> jax.Array:
        """(n, d): row i is the mean of ``∇f_it(X[i])`` over the samples ``idx[i]`` ((n, b)
        indices into worker i's m rows); with all m rows it equals ``∇f_i(X[i])``."""
        n, m = self.targets.shape
        rows = jnp.take_along_axis(self.features, idx[..., None], axis=1)  # (n, b, d)
        y = jnp.take_along_axis(self.targets, idx, axis=1)  # (n, b)
        resid = jnp.einsum("nbd,nd->nb", rows, X) - y  # (n, b)
        scale = n * m / idx.shape[1]
        return scale * jnp.einsum("nb,nbd->nd", resid, rows) + self.lam * X

    def describe(self) -> dict:
        out = super().describe()
        out["samples_per_worker"] = self.samples_per_worker
        out["lam"] = float(jax.device_get(self.lam))
        return out


def ridge(A, y, n: int, lam=None) -> Ridge:
    """Ridge regression ``f = ½‖Ax − y‖² + (λ/2)‖x‖²`` (λ default 1/N) with the N rows of A
    (N×d) and y (N,) split in order into n contiguous equal parts (N divisible by n; shuffle
    first if the rows are ordered). Constants, x* (linear solve) and f* in float64."""
    where = "ridge"
    A_np, y_np = _data_matrix(where, A, y, "y")
    N, d = A_np.shape
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 or N % n:
        raise ValueError(
            f"{where}: n={n!r} is not allowed: expected an integer ≥ 1 that divides the number "
            f"of rows N = {N} (every worker holds N/n rows)"
        )
    lam = 1.0 / N if lam is None else lam
    check_lam(f"{where}: ", lam)
    _check_finite(where, "A", A_np)
    _check_finite(where, "y", y_np)
    dtype = jnp.result_type(float)
    A_np = A_np.astype(dtype).astype(np.float64)
    y_np = y_np.astype(dtype).astype(np.float64)
    feats = A_np.reshape(n, N // n, d)
    targs = y_np.reshape(n, N // n)
    H = n * np.einsum("nmi,nmj->nij", feats, feats) + lam * np.eye(d)
    b = n * np.einsum("nmi,nm->ni", feats, targs)
    c = 0.5 * n * np.sum(targs**2, axis=1)
    q = quadratic(H, b)
    f_star = None if q.f_star is None else q.f_star + jnp.asarray(c.mean(), dtype)
    fields = {f: getattr(q, f) for f in ("A", "b", "A_bar", "b_bar", "x_star", "constants")}
    return Ridge(
        **fields,
        f_star=f_star,
        features=jnp.asarray(feats, dtype),
        targets=jnp.asarray(targs, dtype),
        c=jnp.asarray(c, dtype),
        lam=jnp.asarray(lam, dtype),
    )


def ridge_regression(m: int = 100, d: int = 80, n: int = 10, seed: int = 0, lam=None) -> Ridge:
    """Seed 002's task: ``sklearn.datasets.make_regression(n_samples=m, n_features=d,
    random_state=seed)`` (other arguments default), rows permuted by ``seed``, split into n
    equal parts; λ = 1/m by default."""
    from sklearn.datasets import make_regression

    A, y = make_regression(n_samples=m, n_features=d, random_state=seed)
    perm = np.random.default_rng(seed).permutation(m)
    return ridge(A[perm], y[perm], n, lam)
