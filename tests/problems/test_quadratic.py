"""Dense quadratic: constants, oracles, x*, input validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jcomp.problems import Quadratic, quadratic, quadratic_constants


def _random_problem(n=5, d=6, seed=0, shift=3.0):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d, d))
    A = G @ np.swapaxes(G, 1, 2) / d + shift * np.eye(d)
    b = rng.standard_normal((n, d))
    return A, b


def test_oracles_match_definitions_and_autodiff():
    A, b = _random_problem()
    p = quadratic(A, b)
    assert isinstance(p, Quadratic) and (p.n, p.d) == (5, 6)
    X = np.random.default_rng(1).standard_normal((5, 6))
    G = np.einsum("nij,nj->ni", A, X) - b
    F = 0.5 * np.einsum("ni,nij,nj->n", X, A, X) - np.sum(b * X, axis=1)
    np.testing.assert_allclose(p.worker_grads(jnp.asarray(X)), G, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(p.worker_losses(jnp.asarray(X)), F, rtol=1e-12, atol=1e-13)
    auto = jax.grad(lambda Y: p.worker_losses(Y).sum())(jnp.asarray(X))
    np.testing.assert_allclose(auto, G, rtol=1e-12, atol=1e-13)
    x = jnp.asarray(X[0])
    np.testing.assert_allclose(p.grad(x), A.mean(0) @ X[0] - b.mean(0), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(p.grad(x), jax.grad(p.loss)(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(
        p.loss(x), np.mean(p.worker_losses(p.broadcast(x))), rtol=1e-12, atol=1e-13
    )


def test_x_star_and_constants():
    A, b = _random_problem()
    p = quadratic(A, b)
    Abar = A.mean(0)
    scale = np.linalg.norm(Abar, 2) * np.linalg.norm(p.x_star) + np.linalg.norm(b.mean(0))
    assert np.linalg.norm(p.grad(p.x_star)) <= 1e-12 * scale
    np.testing.assert_allclose(p.f_star, p.loss(p.x_star), rtol=1e-12)
    c, _ = quadratic_constants(A)
    np.testing.assert_allclose(float(p.constants.L), np.linalg.norm(Abar, 2), rtol=1e-12)
    np.testing.assert_allclose(float(p.constants.mu), np.linalg.eigvalsh(Abar)[0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(p.constants.L_i), c["L_i"], rtol=1e-12)
    assert float(p.constants.L) <= float(p.constants.L_plus) * (1 + 1e-12)
    assert float(p.constants.L_plus) <= np.sqrt(np.mean(c["L_i"] ** 2)) * (1 + 1e-12)


def test_no_x_star_when_not_positive_definite():
    A = np.stack([np.diag([1.0, -1.0]), np.diag([1.0, -1.0])])
    p = quadratic(A, np.ones((2, 2)))
    assert p.x_star is None and p.f_star is None
    assert float(p.constants.mu) == -1.0


@pytest.mark.parametrize(
    "A, b, match",
    [
        (np.zeros((2, 3, 4)), np.zeros((2, 3)), r"A must have shape \(n, d, d\).*\(2, 3, 4\)"),
        (np.zeros((3, 3)), np.zeros((3, 3)), r"A must have shape .*\(3, 3\)"),
        (np.zeros((2, 3, 3)), np.zeros((2, 4)), r"b must have shape \(n, d\) = \(2, 3\).*\(2, 4\)"),
        (np.array([[[1.0, 2.0], [0.0, 1.0]]]), np.zeros((1, 2)), "A must be symmetric"),
        (np.full((1, 2, 2), np.nan), np.zeros((1, 2)), "A must be finite"),
        (np.eye(2)[None], np.array([[np.inf, 0.0]]), "b must be finite"),
    ],
)
def test_bad_input(A, b, match):
    with pytest.raises(ValueError, match=match):
        quadratic(A, b)


def test_tiny_asymmetry_is_symmetrized():
    A = np.array([[[2.0, 1.0], [1.0 + 1e-15, 2.0]]])
    p = quadratic(A, np.ones((1, 2)))
    np.testing.assert_array_equal(np.asarray(p.A[0]), np.asarray(p.A[0]).T)
