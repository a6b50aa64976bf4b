"""Householder QR in plain JAX operations (no LAPACK custom call).

Why not ``jnp.linalg.qr``/``solve``: on CPU those lower to LAPACK custom calls, and under
``vmap`` (a batch of keys, as in Monte Carlo tests and sweeps) jaxlib 0.10 splits the batch
over XLA's intra-op thread pool and blocks a pool thread until the pieces finish; with a small
pool (2 cores) that wait can deadlock the whole process. The compressors that need an
orthonormal basis (DRIVE-Haar, the Gaussian sketch) call :func:`householder_qr` instead: p
reflections in a ``lax.fori_loop``, O(d·p²) time, which batches under ``vmap`` as ordinary
array work on every backend.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["forward_substitution", "householder_qr"]


def householder_qr(A: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Thin QR of a d×p matrix (p ≤ d) with a **positive** diagonal of R: ``A = QR``, Q d×p
    with orthonormal columns, R p×p upper triangular, ``R_kk ≥ 0``.

    For full-rank A this is the unique such factorization (so it equals
    ``Q·diag(sign(diag R))`` of any other QR). Reflection k maps column k of the working matrix,
    restricted to rows ≥ k, to ``α_k e_k`` with ``α_k = −sign(a_kk)‖a‖`` (no cancellation); a
    zero column is left as is. Q is accumulated by applying the reflections to ``I[:, :p]`` in
    reverse order."""
    d, p = A.shape
    if p > d:
        raise ValueError(f"householder_qr: expected a d×p matrix with p ≤ d; got shape {A.shape}")
    rows = jnp.arange(d)
    dtype = A.dtype

    def reflect(k, carry):
        R, V = carry  # (d, p) working matrix; (d, p) unit reflection vectors as columns
        x = jnp.where(rows >= k, R[:, k], 0.0)  # (d,)
        nrm = jnp.sqrt(jnp.sum(x * x))
        xk = x[k]
        alpha = jnp.where(xk >= 0, -nrm, nrm)
        v = x - alpha * (rows == k).astype(dtype)  # (d,)
        vn = jnp.sqrt(jnp.sum(v * v))
        ok = vn > 0
        v = jnp.where(ok, v / jnp.where(ok, vn, 1.0), 0.0)
        R = R - 2.0 * jnp.outer(v, v @ R)
        return R, V.at[:, k].set(v)

    R, V = lax.fori_loop(0, p, reflect, (A, jnp.zeros((d, p), dtype)))

    def accumulate(j, Q):
        v = V[:, p - 1 - j]
        return Q - 2.0 * jnp.outer(v, v @ Q)

    Q = lax.fori_loop(0, p, accumulate, jnp.eye(d, p, dtype=dtype))
    R = jnp.triu(R[:p])
    s = jnp.where(jnp.diagonal(R) < 0, -1.0, 1.0).astype(dtype)  # (p,)
    return Q * s[None, :], R * s[:, None]


def forward_substitution(L: jax.Array, B: jax.Array) -> jax.Array:
    """``L⁻¹B`` for a p×p lower-triangular L with a nonzero diagonal and B of shape (p, m):
    ``y_k = (b_k − Σ_{j<k} L_kj y_j)/L_kk``, p steps of a ``lax.fori_loop`` (plain JAX)."""
    p = L.shape[0]
    if L.shape != (p, p) or B.shape[0] != p:
        raise ValueError(
            f"forward_substitution: expected L of shape (p, p) and B of shape (p, m); "
            f"got {L.shape} and {B.shape}"
        )

    def row(k, Y):
        y = (B[k] - L[k] @ Y) / L[k, k]  # rows ≥ k of Y are still zero
        return Y.at[k].set(y)

    return lax.fori_loop(0, p, row, jnp.zeros(B.shape, jnp.result_type(L, B)))
