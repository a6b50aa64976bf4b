"""Householder QR and forward substitution in plain JAX (jcomp/compressors/_householder.py),
checked against their defining identities and numpy's LAPACK QR, in float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jcomp.compressors._householder import forward_substitution, householder_qr


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (12, 4), (33, 33), (40, 1)])
def test_qr_identities_and_uniqueness(shape):
    A = np.asarray(jax.random.normal(jax.random.key(shape[0] * 100 + shape[1]), shape))
    Q, R = map(np.asarray, householder_qr(jnp.asarray(A)))
    d, p = shape
    assert Q.shape == (d, p) and R.shape == (p, p)
    np.testing.assert_allclose(Q @ R, A, atol=1e-13 * np.abs(A).max() * d)
    np.testing.assert_allclose(Q.T @ Q, np.eye(p), atol=1e-14 * d)
    assert np.array_equal(R, np.triu(R)) and (np.diagonal(R) > 0).all()
    # The positive-diagonal thin QR of a full-rank matrix is unique: numpy's, sign-fixed.
    Qn, Rn = np.linalg.qr(A)
    s = np.sign(np.diagonal(Rn))
    np.testing.assert_allclose(Q, Qn * s, atol=1e-12)
    np.testing.assert_allclose(R, Rn * s[:, None], atol=1e-12 * np.abs(A).max() * d)


def test_qr_zero_column_and_float32():
    A = np.zeros((6, 3))
    A[:, 0] = np.arange(1.0, 7.0)
    A[:, 2] = np.ones(6)
    Q, R = map(np.asarray, householder_qr(jnp.asarray(A)))
    np.testing.assert_allclose(Q @ R, A, atol=1e-13)
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-14)
    assert R[1, 1] == 0
    A32 = jax.random.normal(jax.random.key(1), (64, 64), jnp.float32)
    Q32, _ = householder_qr(A32)
    assert Q32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(Q32.T @ Q32), np.eye(64), atol=2e-5)


def test_qr_rejects_wide_matrix():
    with pytest.raises(ValueError, match="p ≤ d"):
        householder_qr(jnp.zeros((3, 4)))


def test_forward_substitution():
    k1, k2 = jax.random.split(jax.random.key(2))
    L = np.tril(np.asarray(jax.random.normal(k1, (7, 7)))) + 3 * np.eye(7)
    B = np.asarray(jax.random.normal(k2, (7, 3)))
    Y = np.asarray(forward_substitution(jnp.asarray(L), jnp.asarray(B)))
    np.testing.assert_allclose(L @ Y, B, atol=1e-13)
    with pytest.raises(ValueError, match="forward_substitution"):
        forward_substitution(jnp.eye(3), jnp.zeros((4, 1)))


def test_vmapped_qr_lowers_without_custom_call():
    keys = jax.random.split(jax.random.key(3), 8)
    f = jax.vmap(lambda k: householder_qr(jax.random.normal(k, (6, 6))))
    assert "custom_call" not in jax.jit(f).lower(keys).as_text()
