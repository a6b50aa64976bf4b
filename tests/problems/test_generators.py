"""Seed 004 generators: Alg. 3 hits its (L_A, L_B) targets, F.1 near-homogeneous, homogeneous."""

import jax.numpy as jnp
import numpy as np
import pytest

from jcomp.problems import (
    StructuredQuadratic,
    homogeneous_quadratic,
    marina_p_quadratic,
    near_homogeneous_quadratic,
    quadratic_constants,
    tridiag_eigenvalues,
)


@pytest.mark.parametrize(
    "L_A2, L_B2, n",
    [
        (1.0, 1e4, 10),
        (0.0, 1e4, 10),
        (0.0, 1.0, 1),
        (100.0, 100.0, 10),  # edge L_A = L_B: the most negative ξ_i may reach −v
        (10.0, 1e3, 100),
        (1e3, 1e5, 900),
        (1.0, 1e2, 2),
    ],
)
def test_marina_p_hits_targets(L_A2, L_B2, n):
    p = marina_p_quadratic(n, d=300, L_A2=L_A2, L_B2=L_B2, seed=1)
    assert isinstance(p, StructuredQuadratic) and p.kind == "tridiag" and (p.n, p.d) == (n, 300)
    c = p.constants
    np.testing.assert_allclose(float(c.L_B) ** 2, L_B2, rtol=1e-12)
    if L_A2 == 0:
        assert float(c.L_A) == 0.0 and float(c.L_pm) == 0.0
    else:
        np.testing.assert_allclose(float(c.L_A) ** 2, L_A2, rtol=1e-12)
    cmin, cbar = np.asarray(p.c).min(), float(np.asarray(p.c).mean())
    assert cmin >= -1e-12 * cbar
    if L_A2 == L_B2:  # with seed 1 the most negative ξ_i is the largest in size: c_i reaches 0
        assert cmin <= 1e-12 * cbar
    assert float(p.tau) == 0.0 and p.x_star is not None


def test_marina_p_structure_and_draws():
    n, d = 6, 12
    p = marina_p_quadratic(n, d=d, L_A2=2.0, L_B2=50.0, seed=7)
    rng = np.random.default_rng(7)
    z = rng.standard_normal(n)
    b = rng.standard_normal((n, d))
    np.testing.assert_array_equal(np.asarray(p.b), -b)  # f_i = ½xᵀA_ix + b_iᵀx
    norm_M = 2 - 2 * np.cos(d * np.pi / (d + 1))
    v = np.sqrt(50.0) / (np.sqrt(2) * norm_M)
    xi = np.asarray(p.c) - v
    np.testing.assert_allclose(xi.mean(), 0.0, atol=1e-14 * v)
    np.testing.assert_allclose(np.sqrt(2) * np.abs(xi).max() * norm_M, np.sqrt(2.0), rtol=1e-12)
    zc = z - z.mean()
    np.testing.assert_allclose(xi, zc * np.abs(xi).max() / np.abs(zc).max(), rtol=1e-11)
    # Thm 4.9 constants of the materialized problem agree (dense float64 eigh)
    dense, _ = quadratic_constants(p.to_dense().A)
    np.testing.assert_allclose(dense["L_A"] ** 2, 2.0, rtol=1e-12)
    np.testing.assert_allclose(dense["L_B"] ** 2, 50.0, rtol=1e-12)
    # same seed, other targets: same b
    q = marina_p_quadratic(n, d=d, L_A2=0.0, L_B2=1.0, seed=7)
    np.testing.assert_array_equal(np.asarray(q.b), np.asarray(p.b))


@pytest.mark.parametrize("L_A2, L_B2, n", [(1.0, 1e2, 8), (0.0, 10.0, 8), (4.0, 4.0, 5)])
def test_functional_LA_LB_inequality(L_A2, L_B2, n):
    """‖(1/n)Σ(∇f_i(x+u_i) − ∇f_i(x))‖² ≤ L_A²(1/n)Σ‖u_i‖² + L_B²‖(1/n)Σu_i‖²."""
    d = 20
    p = marina_p_quadratic(n, d=d, L_A2=L_A2, L_B2=L_B2, seed=3)
    LA2, LB2 = float(p.constants.L_A) ** 2, float(p.constants.L_B) ** 2
    rng = np.random.default_rng(4)
    j = np.arange(1, d + 1)
    top = np.sin(j * d * np.pi / (d + 1))
    top /= np.linalg.norm(top)
    for trial in range(30):
        x = rng.standard_normal(d)
        if trial % 3 == 0:
            U = rng.standard_normal((n, d))
        elif trial % 3 == 1:  # along the top eigenvector, random signs and sizes
            U = rng.standard_normal(n)[:, None] * top[None, :]
        else:  # same u for all workers
            U = np.broadcast_to(rng.standard_normal(d), (n, d))
        X = jnp.asarray(np.broadcast_to(x, (n, d)))
        G = np.asarray(p.worker_grads(X + jnp.asarray(U)) - p.worker_grads(X))
        lhs = np.sum(G.mean(0) ** 2)
        rhs = LA2 * np.mean(np.sum(U**2, 1)) + LB2 * np.sum(U.mean(0) ** 2)
        assert lhs <= rhs * (1 + 1e-12)


def test_marina_p_literal_option():
    n, d = 50, 30
    sigma = 0.05
    p = marina_p_quadratic(n, d=d, L_B2=1.0, seed=2, literal=True, sigma=sigma)
    v = 1.0 / (np.sqrt(2) * tridiag_eigenvalues(d)[-1])
    z = np.random.default_rng(2).standard_normal(n)
    np.testing.assert_allclose(np.asarray(p.c), v + np.clip(sigma * z, -v, v), rtol=1e-15)
    q = marina_p_quadratic(n, d=d, L_B2=1.0, seed=2, literal=True, sigma=100.0)
    assert np.asarray(q.c).min() >= 0.0 and np.asarray(q.c).max() <= 2 * v * (1 + 1e-15)


def test_near_homogeneous():
    n, d, var = 40, 25, 0.01
    p = near_homogeneous_quadratic(n, d=d, var=var, seed=5)
    assert p.kind == "identity" and float(p.tau) == 0.0
    rng = np.random.default_rng(5)
    xi = np.sqrt(var) * rng.standard_normal(n)
    b = rng.standard_normal((n, d))
    np.testing.assert_allclose(np.asarray(p.c), 1 + xi, rtol=1e-15)
    np.testing.assert_array_equal(np.asarray(p.b), -b)
    c = 1 + xi
    np.testing.assert_allclose(float(p.constants.L_pm), np.std(c), rtol=1e-12)
    np.testing.assert_allclose(float(p.constants.L), c.mean(), rtol=1e-12)
    np.testing.assert_allclose(float(p.constants.mu), c.mean(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(p.x_star), -b.mean(0) / c.mean(), rtol=1e-13)
    h = near_homogeneous_quadratic(n, d=d, var=0.0)
    assert float(h.constants.L_pm) == 0.0 and float(h.constants.L_A) == 0.0


@pytest.mark.parametrize("S, tau", [("tridiag", 0.0), ("identity", 0.0), ("tridiag", 0.5)])
def test_homogeneous(S, tau):
    p = homogeneous_quadratic(6, 9, S=S, tau=tau, seed=1)
    c = p.constants
    assert float(c.L_pm) == 0.0 and float(c.L_A) == 0.0
    np.testing.assert_allclose(float(c.L_B), np.sqrt(2) * float(c.L), rtol=1e-15)
    assert p.x_star is not None
    assert np.all(np.asarray(p.c) == 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=1, L_A2=1.0), r"n ≥ 2.*n=1, L_A2=1.0"),
        (dict(n=5, L_A2=-1.0), r"L_A2 must be .*≥ 0.*-1.0"),
        (dict(n=5, L_B2=-2.0), r"L_B2 must be .*-2.0"),
        (dict(n=10, L_A2=100.0, L_B2=1.0), r"L_B2=1.0 is too small for L_A2=100.0"),
        (dict(n=0), r"n must be an integer ≥ 1; got 0"),
        (dict(n=2.5), r"n must be an integer ≥ 1; got 2.5"),
        (dict(n=4, d=0), r"d must be an integer ≥ 1; got 0"),
        (dict(n=4, L_A2=float("nan")), r"L_A2 must be a finite"),
        (dict(n=4, literal=True), r"literal=True needs sigma"),
        (dict(n=4, sigma=1.0), r"sigma is only used with literal=True"),
    ],
)
def test_marina_p_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        marina_p_quadratic(**kwargs)


def test_other_generators_bad_input():
    with pytest.raises(ValueError, match=r"var must be .*-0.1"):
        near_homogeneous_quadratic(4, d=3, var=-0.1)
    with pytest.raises(ValueError, match=r"d must be an integer"):
        homogeneous_quadratic(4, d=None)
    with pytest.raises(ValueError, match=r"S must be"):
        homogeneous_quadratic(4, 3, S="diag")
