"""Quadratic problems ``f_i(x) = ½ xᵀA_i x − b_iᵀx`` with dense per-worker matrices."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Constants, Problem, problem_dataclass

__all__ = ["Quadratic", "quadratic", "quadratic_constants"]


@problem_dataclass
class Quadratic(Problem):
    """Dense quadratic: ``f_i(x) = ½ xᵀA_i x − b_iᵀx``, ``A_i`` symmetric.

    ``x* = Ā⁻¹b̄`` (linear solve in float64) when Ā is positive definite; otherwise
    ``x_star``/``f_star`` are None. ``A_bar``/``b_bar`` are the worker means, kept so that
    ``grad``/``loss`` of the average cost O(d²) instead of O(nd²).
    """

    A: jax.Array  # (n, d, d)
    b: jax.Array  # (n, d)
    A_bar: jax.Array  # (d, d)
    b_bar: jax.Array  # (d,)
    x_star: jax.Array | None  # (d,)
    f_star: jax.Array | None  # ()
    constants: Constants
    name = "quadratic"

    @property
    def n(self) -> int:
        return self.b.shape[0]

    @property
    def d(self) -> int:
        return self.b.shape[1]

    def worker_grads(self, X, key=None):
        del key
        return jnp.einsum("nij,nj->ni", self.A, X) - self.b

    def worker_losses(self, X):
        return 0.5 * jnp.einsum("ni,nij,nj->n", X, self.A, X) - jnp.sum(self.b * X, axis=1)

    def grad(self, x, key=None):
        del key  # exact oracle
        return self.A_bar @ x - self.b_bar

    def loss(self, x):
        return 0.5 * x @ (self.A_bar @ x) - self.b_bar @ x


def quadratic_constants(A: np.ndarray) -> tuple[dict, np.ndarray]:
    """Exact float64 constants of quadratics with per-worker Hessians ``A`` (n, d, d).

    ``L = ‖Ā‖``, ``L_i = ‖A_i‖``, ``L_+² = λ_max((1/n)ΣA_i²)``, ``L_±² = λ_max((1/n)ΣA_i² − Ā²)``,
    ``(L_A, L_B) = (√2 max_i‖A_i−Ā‖, √2 (1/n)Σ‖A_i‖)`` (seed 004 Thm 4.9), ``μ = λ_min(Ā)``
    (spec ALGORITHMS.md §1). Returns the constants and Ā.
    """
    A = np.asarray(A, dtype=np.float64)
    Abar = A.mean(axis=0)
    eig_bar = np.linalg.eigvalsh(Abar)
    L_i = np.abs(np.linalg.eigvalsh(A)).max(axis=1)
    sq = np.einsum("nij,njk->ik", A, A) / A.shape[0]
    L_plus2 = np.linalg.eigvalsh(sq).max()
    L_pm2 = np.linalg.eigvalsh(sq - Abar @ Abar).max()
    dev = np.abs(np.linalg.eigvalsh(A - Abar)).max()
    consts = dict(
        L=float(np.abs(eig_bar).max()),
        L_i=L_i,
        L_max=float(L_i.max()),
        L_plus=float(np.sqrt(max(L_plus2, 0.0))),
        L_pm=float(np.sqrt(max(L_pm2, 0.0))),
        L_A=float(np.sqrt(2.0) * dev),
        L_B=float(np.sqrt(2.0) * L_i.mean()),
        mu=float(eig_bar.min()),
    )
    return consts, Abar


def _as_constants(c: dict, dtype) -> Constants:
    return Constants(**{k: None if v is None else jnp.asarray(v, dtype) for k, v in c.items()})


def _host64(x, dtype) -> np.ndarray:
    """``x`` rounded to ``dtype`` (the dtype the problem stores), as float64 numpy.

    Constants, x* and f* are computed from these values, so they are exact for the data the
    problem actually holds (also when it is stored in float32)."""
    x = np.asarray(x, dtype=np.float64)
    if np.dtype(dtype) == np.float64:
        return x
    return x.astype(np.dtype(dtype)).astype(np.float64)


def _check_finite(where: str, name: str, x: np.ndarray) -> None:
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0].tolist()
        raise ValueError(f"{where}: {name} must be finite; got a non-finite entry at index {bad}")


def _as_float_array(where: str, name: str, x) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {name} must be a real array; got {type(x).__name__}") from e
    return arr


def _data_matrix(where: str, A, y, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    """``A`` (N, d) with N, d ≥ 1 and a target/label vector ``y`` (N,), as float64 arrays."""
    A_np = _as_float_array(where, "A", A)
    y_np = _as_float_array(where, y_name, y)
    if A_np.ndim != 2 or A_np.shape[0] == 0 or A_np.shape[1] == 0:
        raise ValueError(f"{where}: A must have shape (N, d) with N, d ≥ 1; got {A_np.shape}")
    N = A_np.shape[0]
    if y_np.shape != (N,):
        raise ValueError(
            f"{where}: {y_name} must have shape (N,) = ({N},) to match A; got {y_np.shape}"
        )
    return A_np, y_np


def _check_symmetric(where: str, name: str, M: np.ndarray) -> None:
    """M (..., d, d) symmetric up to 1e-12 relative (to its max-abs entry); raises otherwise."""
    asym = np.abs(M - np.swapaxes(M, -1, -2)).max(initial=0.0)
    scale = np.abs(M).max(initial=0.0)
    if asym > 1e-12 * scale:
        raise ValueError(
            f"{where}: {name} must be symmetric; max |{name} − {name}ᵀ| = {asym:.3g} "
            f"(max |entry| = {scale:.3g}, allowed relative asymmetry 1e-12)"
        )


def quadratic(A, b) -> Quadratic:
    """Quadratic problem from explicit per-worker matrices ``A`` (n, d, d) and vectors ``b`` (n, d).

    ``f_i(x) = ½ xᵀA_i x − b_iᵀx``. Each ``A_i`` must be symmetric up to 1e-12 relative; it is
    symmetrized exactly. Constants, x* and f* are computed in float64 on the host from the data as
    stored (in ``jnp.result_type(float)``).
    """
    where = "quadratic"
    A_np = _as_float_array(where, "A", A)
    b_np = _as_float_array(where, "b", b)
    if A_np.ndim != 3 or A_np.shape[1] != A_np.shape[2] or A_np.shape[0] == 0:
        raise ValueError(f"{where}: A must have shape (n, d, d) with n ≥ 1; got shape {A_np.shape}")
    if b_np.shape != A_np.shape[:2]:
        raise ValueError(
            f"{where}: b must have shape (n, d) = {A_np.shape[:2]} to match A; got shape "
            f"{b_np.shape}"
        )
    _check_finite(where, "A", A_np)
    _check_finite(where, "b", b_np)
    _check_symmetric(where, "A", A_np)
    A_np = 0.5 * (A_np + np.swapaxes(A_np, 1, 2))
    dtype = jnp.result_type(float)
    A_np = _host64(A_np, dtype)
    b_np = _host64(b_np, dtype)
    consts, Abar = quadratic_constants(A_np)
    bbar = b_np.mean(axis=0)
    x_star = f_star = None
    if consts["mu"] > 0:
        x_np = np.linalg.solve(Abar, bbar)
        x_np = x_np + np.linalg.solve(Abar, bbar - Abar @ x_np)  # one refinement step
        x_star = jnp.asarray(x_np, dtype)
        f_star = jnp.asarray(0.5 * x_np @ (Abar @ x_np) - bbar @ x_np, dtype)
    return Quadratic(
        A=jnp.asarray(A_np, dtype),
        b=jnp.asarray(b_np, dtype),
        A_bar=jnp.asarray(Abar, dtype),
        b_bar=jnp.asarray(bbar, dtype),
        x_star=x_star,
        f_star=f_star,
        constants=_as_constants(consts, dtype),
    )
