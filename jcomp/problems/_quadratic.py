"""Quadratic problems ``f_i(x) = ½ xᵀA_i x − b_iᵀx`` with dense per-worker matrices."""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from ._base import Constants, Problem, problem_dataclass

__all__ = ["Quadratic", "quadratic", "quadratic_constants"]


@problem_dataclass
class Quadratic(Problem):
    """Dense quadratic: ``f_i(x) = ½ xᵀA_i x − b_iᵀx``, ``A_i`` symmetric.

    ``x* = Ā⁻¹b̄`` (linear solve in float64) when Ā is positive definite.
    """

    A: jax.Array  # (n, d, d)
    b: jax.Array  # (n, d)
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
        return jnp.einsum("nij,nj->ni", self.A, X) - self.b

    def worker_losses(self, X):
        return 0.5 * jnp.einsum("ni,nij,nj->n", X, self.A, X) - jnp.sum(self.b * X, axis=1)

    def grad(self, x):
        return jnp.mean(self.A, axis=0) @ x - jnp.mean(self.b, axis=0)

    def loss(self, x):
        return 0.5 * x @ (jnp.mean(self.A, axis=0) @ x) - jnp.mean(self.b, axis=0) @ x


def quadratic_constants(A: np.ndarray) -> tuple[dict, np.ndarray]:
    """Exact float64 constants of quadratics with per-worker Hessians ``A`` (n, d, d).

    ``L = ‖Ā‖``, ``L_i = ‖A_i‖``, ``L_+² = λ_max((1/n)ΣA_i²)``, ``L_±² = λ_max((1/n)ΣA_i² − Ā²)``,
    ``(L_A, L_B) = (√2 max_i‖A_i−Ā‖, √2 (1/n)Σ‖A_i‖)`` (seed 004 Thm 4.9), ``μ = λ_min(Ā)``.
    Returns the constants and Ā.
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


def quadratic(A, b) -> Quadratic:
    """Quadratic problem from explicit per-worker matrices ``A`` (n, d, d) and vectors ``b`` (n, d).

    ``f_i(x) = ½ xᵀA_i x − b_iᵀx``. Constants, x* and f* are computed in float64 on the host.
    """
    A_np = np.asarray(A, dtype=np.float64)
    b_np = np.asarray(b, dtype=np.float64)
    if A_np.ndim != 3 or A_np.shape[1] != A_np.shape[2]:
        raise ValueError(f"quadratic: A must have shape (n, d, d); got {A_np.shape}")
    if b_np.shape != A_np.shape[:2]:
        raise ValueError(
            f"quadratic: b must have shape (n, d) = {A_np.shape[:2]} to match A; got {b_np.shape}"
        )
    if not np.allclose(A_np, np.swapaxes(A_np, 1, 2), rtol=1e-12, atol=1e-12):
        raise ValueError("quadratic: every A_i must be symmetric")
    consts, Abar = quadratic_constants(A_np)
    bbar = b_np.mean(axis=0)
    x_star = f_star = None
    if consts["mu"] > 0:
        x_star_np = np.linalg.solve(Abar, bbar)
        f_star = jnp.asarray(-0.5 * bbar @ x_star_np)
        x_star = jnp.asarray(x_star_np)
    dtype = jnp.result_type(float)
    return Quadratic(
        A=jnp.asarray(A_np, dtype),
        b=jnp.asarray(b_np, dtype),
        x_star=None if x_star is None else x_star.astype(dtype),
        f_star=None if f_star is None else f_star.astype(dtype),
        constants=_as_constants(consts, dtype),
    )
