"""Structured quadratics ``A_i = c_i S + τI`` that never store n dense d×d matrices.

``f_i(x) = ½ xᵀA_i x − b_iᵀx`` with one shared symmetric ``S``:

- ``"identity"``: ``S = I``;
- ``"tridiag"``: ``S = tridiag(−1, 2, −1)``, applied in O(d) with shifts (no matrix);
- a dense symmetric (d, d) array.

Memory is O(nd) (the ``b_i``) plus O(d²) only for a dense ``S``. All ``A_i`` share S's
eigenbasis, so every constant has a closed form in the eigenvalues ``s_k`` of S
(spec ALGORITHMS.md §6, **derived**): with ``a_ik = c_i s_k + τ``,
``L = max_k|ā_k|``, ``L_i = max_k|a_ik|``, ``L_+² = max_k mean_i a_ik²``,
``L_±² = max_k var_i a_ik`` (1/n variance), ``L_A = √2 max_{i,k}|a_ik − ā_k|``,
``L_B = √2 mean_i L_i``, ``μ = min_k ā_k``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ._base import Constants, Problem, problem_dataclass
from ._quadratic import (
    _as_constants,
    _as_float_array,
    _check_finite,
    _check_symmetric,
    _host64,
    quadratic,
)

__all__ = [
    "StructuredQuadratic",
    "structured_constants",
    "structured_quadratic",
    "tridiag_apply",
    "tridiag_eigenvalues",
]

KINDS = ("identity", "tridiag", "dense")


def tridiag_eigenvalues(d: int) -> np.ndarray:
    """Eigenvalues of ``tridiag(−1, 2, −1) ∈ R^{d×d}``, ascending, float64:
    ``s_k = 2 − 2cos(kπ/(d+1)) = 4 sin²(kπ/(2(d+1)))``, k = 1..d (the sine form avoids the
    cancellation of ``2 − 2cos`` at small k)."""
    k = np.arange(1, d + 1, dtype=np.float64)
    return 4.0 * np.sin(k * np.pi / (2.0 * (d + 1))) ** 2


def tridiag_apply(X: jax.Array) -> jax.Array:
    """``tridiag(−1, 2, −1) @ x`` along the last axis of ``X``, in O(size), zero boundary."""
    zero = jnp.zeros_like(X[..., :1])
    prev = jnp.concatenate([zero, X[..., :-1]], axis=-1)  # x_{j−1}
    nxt = jnp.concatenate([X[..., 1:], zero], axis=-1)  # x_{j+1}
    return 2 * X - prev - nxt


def structured_constants(c, s, tau: float = 0.0) -> dict:
    """Exact float64 constants of ``A_i = c_i S + τI`` from ``c`` (n,) and eigenvalues ``s`` of S.

    Formulas of spec ALGORITHMS.md §6 (**derived**) with ``a_ik = c_i s_k + τ``. Every quantity
    is a max (min for μ) over k of a convex (linear for μ) function of ``s_k``, so only
    ``s_min`` and ``s_max`` matter: ``s`` may be the full spectrum or just its two extremes.
    ``mean_i a_ik² = ā_k² + s_k² var(c)`` is evaluated as that sum of non-negative terms
    (no cancellation).
    """
    c = np.asarray(c, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    ext = np.array([s.min(), s.max()])
    tau = float(tau)
    cbar = c.mean()
    dc = c - cbar
    var_c = np.mean(dc**2)
    abar = cbar * ext + tau  # ā_k at the two extremes
    L_i = np.abs(c[:, None] * ext[None, :] + tau).max(axis=1)
    s_abs = np.abs(ext).max()
    return dict(
        L=float(np.abs(abar).max()),
        L_i=L_i,
        L_max=float(L_i.max()),
        L_plus=float(np.sqrt(np.max(abar**2 + ext**2 * var_c))),
        L_pm=float(s_abs * np.sqrt(var_c)),
        L_A=float(np.sqrt(2.0) * np.abs(dc).max() * s_abs),
        L_B=float(np.sqrt(2.0) * L_i.mean()),
        mu=float(abar.min()),
    )


@problem_dataclass
class StructuredQuadratic(Problem):
    """``f_i(x) = ½ xᵀ(c_i S + τI)x − b_iᵀx`` with one shared S (see module docstring).

    Build with :func:`structured_quadratic` (or a generator); fields are:
    ``kind`` (static) in ``{"identity", "tridiag", "dense"}``; ``c`` (n,); ``tau`` ();
    ``b`` (n, d); ``b_bar`` (d,) the mean of ``b`` (so ``grad``/``loss`` cost O(d) plus one
    application of S); ``S`` (d, d) for ``kind == "dense"``, else None; ``x_star``, ``f_star``
    (None unless ``μ > 0``); ``constants``.
    """

    kind: str = dataclasses.field(metadata={"static": True})
    c: jax.Array  # (n,)
    tau: jax.Array  # ()
    b: jax.Array  # (n, d)
    b_bar: jax.Array  # (d,)
    S: jax.Array | None  # (d, d) if kind == "dense" else None
    x_star: jax.Array | None  # (d,)
    f_star: jax.Array | None  # ()
    constants: Constants
    name = "structured_quadratic"

    @property
    def n(self) -> int:
        return self.b.shape[0]

    @property
    def d(self) -> int:
        return self.b.shape[1]

    def apply_S(self, X: jax.Array) -> jax.Array:
        """``S x`` for every row (or for a single vector) along the last axis."""
        if self.kind == "identity":
            return X
        if self.kind == "tridiag":
            return tridiag_apply(X)
        return X @ self.S  # S symmetric: (S xᵀ)ᵀ = x S

    def _worker_hx(self, X):
        return self.c[:, None] * self.apply_S(X) + self.tau * X

    def worker_grads(self, X, key=None):
        del key
        return self._worker_hx(X) - self.b

    def worker_losses(self, X):
        return 0.5 * jnp.sum(X * self._worker_hx(X), axis=1) - jnp.sum(self.b * X, axis=1)

    def _bar_hx(self, x):
        return jnp.mean(self.c) * self.apply_S(x) + self.tau * x

    def grad(self, x, key=None):
        del key  # exact oracle
        return self._bar_hx(x) - self.b_bar

    def mean_worker_grad(self, X, key=None):
        """``(1/n)Σ(c_i S X_i + τX_i − b_i) = S((1/n)Σc_iX_i) + τ·mean(X) − b̄``: one pass over
        X and one application of S, never reading the (n, d) ``b`` (linearity of S)."""
        del key  # exact oracle
        return (
            self.apply_S(jnp.mean(self.c[:, None] * X, axis=0))
            + self.tau * jnp.mean(X, axis=0)
            - self.b_bar
        )

    def loss(self, x):
        return 0.5 * x @ self._bar_hx(x) - self.b_bar @ x

    def S_matrix(self) -> np.ndarray:
        """S as a dense float64 (d, d) numpy array (for tests and small d)."""
        d = self.d
        if self.kind == "identity":
            return np.eye(d)
        if self.kind == "tridiag":
            return 2.0 * np.eye(d) - np.eye(d, k=1) - np.eye(d, k=-1)
        return np.asarray(self.S, dtype=np.float64)

    def to_dense(self):
        """The same problem as a dense :class:`Quadratic` (materializes n d×d matrices)."""
        c = np.asarray(self.c, dtype=np.float64)
        A = c[:, None, None] * self.S_matrix()[None] + float(self.tau) * np.eye(self.d)[None]
        return quadratic(A, np.asarray(self.b, dtype=np.float64))

    def describe(self) -> dict:
        out = super().describe()
        out.update(S=self.kind, tau=float(self.tau))
        return out


def _solve_bar(kind: str, cbar: float, tau: float, S: np.ndarray | None, rhs: np.ndarray):
    """Solve ``(c̄ S + τI) x = rhs`` in float64 (Ā positive definite)."""
    d = rhs.shape[0]
    if kind == "identity":
        return rhs / (cbar + tau)
    if kind == "tridiag":
        ab = np.empty((2, d))
        ab[0, 0] = 0.0
        ab[0, 1:] = -cbar  # superdiagonal (upper banded storage)
        ab[1, :] = 2.0 * cbar + tau
        return scipy.linalg.solveh_banded(ab, rhs, check_finite=False)
    return scipy.linalg.solve(cbar * S + tau * np.eye(d), rhs, assume_a="pos")


def _matvec_bar(kind: str, cbar: float, tau: float, S: np.ndarray | None, x: np.ndarray):
    if kind == "identity":
        sx = x
    elif kind == "tridiag":
        sx = 2.0 * x
        sx[1:] -= x[:-1]
        sx[:-1] -= x[1:]
    else:
        sx = S @ x
    return cbar * sx + tau * x


def structured_quadratic(c, b, S="tridiag", tau=0.0) -> StructuredQuadratic:
    """Structured quadratic ``f_i(x) = ½ xᵀ(c_i S + τI)x − b_iᵀx``.

    Args:
      c: (n,) per-worker scale (a scalar is broadcast to all n workers).
      b: (n, d) linear terms.
      S: ``"tridiag"`` (``tridiag(−1, 2, −1)``, applied in O(d)), ``"identity"``, or a dense
        symmetric (d, d) array.
      tau: shift τ (may be 0).

    Constants are the closed forms of :func:`structured_constants`; ``x* = Ā⁻¹b̄`` with
    ``Ā = c̄S + τI`` (banded Cholesky for tridiag, a division for identity, a dense Cholesky
    solve otherwise; one refinement step) and ``f* = f(x*)``, all in float64 on the host from
    the data as stored (``jnp.result_type(float)``). Memory O(nd) (+ d² for a dense S).
    """
    where = "structured_quadratic"
    b_np = _as_float_array(where, "b", b)
    if b_np.ndim != 2 or b_np.shape[0] == 0 or b_np.shape[1] == 0:
        raise ValueError(f"{where}: b must have shape (n, d) with n, d ≥ 1; got shape {b_np.shape}")
    n, d = b_np.shape
    c_np = _as_float_array(where, "c", c)
    if c_np.ndim == 0:
        c_np = np.full(n, float(c_np))
    if c_np.shape != (n,):
        raise ValueError(
            f"{where}: c must have shape (n,) = ({n},) to match b of shape {b_np.shape} "
            f"(or be a scalar); got shape {c_np.shape}"
        )
    tau_np = _as_float_array(where, "tau", tau)
    if tau_np.ndim != 0:
        raise ValueError(f"{where}: tau must be a real scalar; got shape {tau_np.shape}")
    _check_finite(where, "b", b_np)
    _check_finite(where, "c", c_np)
    _check_finite(where, "tau", tau_np.reshape(1))

    S_np = None
    if isinstance(S, str):
        if S not in ("identity", "tridiag"):
            raise ValueError(
                f"{where}: S must be 'tridiag', 'identity' or a symmetric (d, d) array; got {S!r}"
            )
        kind = S
    else:
        S_np = _as_float_array(where, "S", S)
        if S_np.shape != (d, d):
            raise ValueError(
                f"{where}: a dense S must have shape (d, d) = ({d}, {d}) to match b; got shape "
                f"{S_np.shape}"
            )
        _check_finite(where, "S", S_np)
        _check_symmetric(where, "S", S_np)
        kind = "dense"

    dtype = jnp.result_type(float)
    b_np = _host64(b_np, dtype)
    c_np = _host64(c_np, dtype)
    tau_f = float(_host64(tau_np, dtype))
    if kind == "identity":
        s = np.ones(1)
    elif kind == "tridiag":
        s = tridiag_eigenvalues(d)[[0, -1]]
    else:
        S_np = _host64(0.5 * (S_np + S_np.T), dtype)
        s = np.linalg.eigvalsh(S_np)
    consts = structured_constants(c_np, s, tau_f)

    bbar = b_np.mean(axis=0)
    x_star = f_star = None
    if consts["mu"] > 0:
        cbar = float(c_np.mean())
        x_np = _solve_bar(kind, cbar, tau_f, S_np, bbar)
        r = bbar - _matvec_bar(kind, cbar, tau_f, S_np, x_np)
        x_np = x_np + _solve_bar(kind, cbar, tau_f, S_np, r)  # one refinement step
        f_np = 0.5 * x_np @ _matvec_bar(kind, cbar, tau_f, S_np, x_np) - bbar @ x_np
        x_star = jnp.asarray(x_np, dtype)
        f_star = jnp.asarray(f_np, dtype)

    return StructuredQuadratic(
        kind=kind,
        c=jnp.asarray(c_np, dtype),
        tau=jnp.asarray(tau_f, dtype),
        b=jnp.asarray(b_np, dtype),
        b_bar=jnp.asarray(bbar, dtype),
        S=None if S_np is None else jnp.asarray(S_np, dtype),
        x_star=x_star,
        f_star=f_star,
        constants=_as_constants(consts, dtype),
    )
