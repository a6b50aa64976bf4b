"""Structured quadratics A_i = c_i S + τI: closed-form constants, oracles, x*, pytree use."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jcomp.problems import (
    StructuredQuadratic,
    quadratic_constants,
    structured_constants,
    structured_quadratic,
    tridiag_apply,
    tridiag_eigenvalues,
)

N, D = 5, 7
C_MIXED = np.array([0.3, 2.5, -0.4, 1.2, 4.0])  # mixed sizes and one negative scale


def _dense_S(d=D, seed=3):
    G = np.random.default_rng(seed).standard_normal((d, d))
    return G + G.T


def _build(case, n=N, d=D, seed=0):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((n, d))
    if case == "tridiag":
        return structured_quadratic(C_MIXED[:n], b, S="tridiag", tau=0.7)
    if case == "tridiag_tau0":
        return structured_quadratic(np.abs(C_MIXED[:n]) + 0.1, b, S="tridiag")
    if case == "identity":
        return structured_quadratic(C_MIXED[:n], b, S="identity", tau=0.5)
    if case == "dense":
        S = _dense_S(d)
        s = np.linalg.eigvalsh(S)
        cbar = C_MIXED[:n].mean()
        tau = -cbar * s[0] + 0.3  # Ā = c̄S + τI positive definite, S indefinite
        return structured_quadratic(C_MIXED[:n], b, S=S, tau=tau)
    raise AssertionError(case)


CASES = ["tridiag", "tridiag_tau0", "identity", "dense"]


def _eigvecs(p):
    """Eigenvectors of S (columns) for the smallest and largest eigenvalue."""
    if p.kind == "identity":
        return np.eye(p.d)[:, [0, -1]]
    if p.kind == "tridiag":
        j = np.arange(1, p.d + 1)
        V = np.stack([np.sin(j * k * np.pi / (p.d + 1)) for k in (1, p.d)], axis=1)
        return V / np.linalg.norm(V, axis=0)
    return np.linalg.eigh(np.asarray(p.S))[1][:, [0, -1]]


def test_tridiag_helpers():
    for d in (1, 2, 5, 64):
        T = 2 * np.eye(d) - np.eye(d, k=1) - np.eye(d, k=-1)
        np.testing.assert_allclose(tridiag_eigenvalues(d), np.linalg.eigvalsh(T), rtol=1e-12)
        np.testing.assert_allclose(
            tridiag_eigenvalues(d), 2 - 2 * np.cos(np.arange(1, d + 1) * np.pi / (d + 1)),
            rtol=1e-12, atol=1e-15,
        )  # fmt: skip
        X = np.random.default_rng(d).standard_normal((3, d))
        np.testing.assert_allclose(tridiag_apply(jnp.asarray(X)), X @ T, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case", CASES)
def test_constants_equal_dense_eigh(case):
    p = _build(case)
    dense, _ = quadratic_constants(p.to_dense().A)
    got = p.constants.to_dict()
    for k, v in dense.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-12, atol=0, err_msg=k)


@pytest.mark.parametrize("case", CASES)
def test_constants_equal_full_spectrum_formulas(case):
    """Spec §6 formulas over every k (a_ik = c_i s_k + τ) equal the extreme-eigenvalue forms."""
    p = _build(case)
    c = np.asarray(p.c)
    s = np.linalg.eigvalsh(p.S_matrix())
    a = c[:, None] * s[None, :] + float(p.tau)
    abar = a.mean(0)
    L_i = np.abs(a).max(1)
    want = dict(
        L=np.abs(abar).max(),
        L_i=L_i,
        L_max=L_i.max(),
        L_plus=np.sqrt(np.max(np.mean(a**2, 0))),
        L_pm=np.sqrt(np.max(np.var(a, 0))),
        L_A=np.sqrt(2) * np.abs(a - abar).max(),
        L_B=np.sqrt(2) * L_i.mean(),
        mu=abar.min(),
    )
    got = p.constants.to_dict()
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-12, err_msg=k)
    got_full = structured_constants(c, s, float(p.tau))
    for k, v in want.items():
        np.testing.assert_allclose(got_full[k], v, rtol=1e-12, err_msg=k)


@pytest.mark.parametrize("case", CASES)
def test_oracles_equal_dense_and_autodiff(case):
    p = _build(case)
    q = p.to_dense()
    rng = np.random.default_rng(11)
    X = jnp.asarray(rng.standard_normal((p.n, p.d)))
    x = jnp.asarray(rng.standard_normal(p.d))
    tol = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.worker_grads(X), q.worker_grads(X), **tol)
    np.testing.assert_allclose(p.worker_losses(X), q.worker_losses(X), **tol)
    np.testing.assert_allclose(p.grad(x), q.grad(x), **tol)
    np.testing.assert_allclose(p.loss(x), q.loss(x), **tol)
    auto = jax.grad(lambda Y: p.worker_losses(Y).sum())(X)
    np.testing.assert_allclose(p.worker_grads(X), auto, **tol)
    np.testing.assert_allclose(p.grad(x), jax.grad(p.loss)(x), **tol)
    np.testing.assert_allclose(p.grad(x), p.worker_grads(p.broadcast(x)).mean(0), **tol)
    np.testing.assert_allclose(p.loss(x), p.worker_losses(p.broadcast(x)).mean(), **tol)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("d", [D, 300])
def test_x_star(case, d):
    p = _build(case, d=d)
    x = np.asarray(p.x_star)
    bbar = np.asarray(p.b).mean(0)
    scale = float(p.constants.L) * np.linalg.norm(x) + np.linalg.norm(bbar)
    assert np.linalg.norm(p.grad(p.x_star)) <= 1e-12 * scale
    assert np.linalg.norm(p.worker_grads(p.broadcast(p.x_star)).mean(0)) <= 1e-12 * scale
    np.testing.assert_allclose(p.f_star, p.loss(p.x_star), rtol=1e-12)
    if d == D:
        q = p.to_dense()
        np.testing.assert_allclose(p.x_star, q.x_star, rtol=1e-11, atol=1e-12 * np.abs(x).max())
        np.testing.assert_allclose(p.f_star, q.f_star, rtol=1e-12)


def test_no_x_star_without_strong_convexity():
    b = np.ones((3, 4))
    p = structured_quadratic(np.array([1.0, -1.0, 0.0]), b, S="identity")
    assert p.x_star is None and p.f_star is None and float(p.constants.mu) == 0.0


@pytest.mark.parametrize("case", CASES)
def test_L_plus_L_pm_definitions_hold_and_are_tight(case):
    p = _build(case)
    Lp2, Lpm2 = float(p.constants.L_plus) ** 2, float(p.constants.L_pm) ** 2
    rng = np.random.default_rng(5)

    def ratios(x, h):
        X, H = p.broadcast(jnp.asarray(x)), p.broadcast(jnp.asarray(h))
        Dw = np.asarray(p.worker_grads(X + H) - p.worker_grads(X))
        plus = np.mean(np.sum(Dw**2, 1))
        dbar = np.asarray(p.grad(jnp.asarray(x + h)) - p.grad(jnp.asarray(x)))
        hh = np.sum(h**2)
        return plus / hh, (plus - np.sum(dbar**2)) / hh

    for _ in range(20):
        rp, rpm = ratios(rng.standard_normal(p.d), rng.standard_normal(p.d))
        assert rp <= Lp2 * (1 + 1e-12)
        assert rpm <= Lpm2 * (1 + 1e-12) + 1e-12 * Lp2
    V = _eigvecs(p)
    x = rng.standard_normal(p.d)
    best = [ratios(x, V[:, j]) for j in range(V.shape[1])]
    np.testing.assert_allclose(max(r[0] for r in best), Lp2, rtol=1e-12)
    np.testing.assert_allclose(max(r[1] for r in best), Lpm2, rtol=1e-12, atol=1e-12 * Lp2)


def test_homogeneous_has_zero_hessian_variance():
    b = np.random.default_rng(0).standard_normal((4, 6))
    for S in ("tridiag", "identity", _dense_S(6)):
        p = structured_quadratic(2.5, b, S=S, tau=1.0)
        assert float(p.constants.L_pm) == 0.0 and float(p.constants.L_A) == 0.0
        np.testing.assert_allclose(float(p.constants.L_plus), float(p.constants.L), rtol=1e-15)


def test_pytree_jit_compiles_once():
    f = jax.jit(lambda p, X: p.worker_grads(X))
    g = jax.jit(lambda p, x: p.loss(x))
    X = jnp.ones((N, D))
    p1, p2 = _build("tridiag", seed=0), _build("tridiag", seed=1)
    assert isinstance(p1, StructuredQuadratic)
    np.testing.assert_allclose(f(p1, X), p1.worker_grads(X), rtol=1e-14)
    np.testing.assert_allclose(f(p2, X), p2.worker_grads(X), rtol=1e-14)
    g(p1, X[0]), g(p2, X[0])
    assert f._cache_size() == 1 and g._cache_size() == 1
    leaves, treedef = jax.tree.flatten(p1)
    assert jax.tree.unflatten(treedef, leaves).kind == "tridiag"


def test_dtype_follows_default_float():
    p = _build("tridiag")
    assert p.b.dtype == jnp.result_type(float) and p.constants.L.dtype == p.b.dtype


def test_large_build_is_structured():
    """n = 1000, d = 10^4: O(nd) memory (b only), nothing d×d."""
    n, d = 1000, 10_000
    b = np.random.default_rng(0).standard_normal((n, d))
    p = structured_quadratic(np.linspace(0.5, 1.5, n), b, S="tridiag")
    sizes = [leaf.size for leaf in jax.tree.leaves(p)]
    assert sum(sizes) <= n * d + 3 * n + 3 * d + 16
    assert np.linalg.norm(p.grad(p.x_star)) <= 1e-12 * (
        float(p.constants.L) * np.linalg.norm(p.x_star) + np.linalg.norm(p.b_bar)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(c=np.ones(3), b=np.zeros((4, 5))), r"c must have shape \(n,\) = \(4,\).*\(3,\)"),
        (dict(c=np.ones((4, 1)), b=np.zeros((4, 5))), r"c must have shape .*\(4, 1\)"),
        (dict(c=np.ones(4), b=np.zeros(5)), r"b must have shape \(n, d\).*\(5,\)"),
        (dict(c=np.ones(2), b=np.zeros((2, 3)), S="tri"), r"S must be .*'tri'"),
        (dict(c=np.ones(2), b=np.zeros((2, 3)), S=np.eye(4)), r"S must have shape .*\(4, 4\)"),
        (dict(c=np.ones(2), b=np.zeros((2, 2)), S=np.array([[1.0, 2], [0, 1]])), "S must be sym"),
        (dict(c=np.ones(2), b=np.zeros((2, 3)), tau=np.ones(2)), r"tau must be .*\(2,\)"),
        (dict(c=np.array([1.0, np.nan]), b=np.zeros((2, 3))), "c must be finite"),
        (dict(c=np.ones(2), b=np.zeros((2, 3)), tau=np.inf), "tau must be finite"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        structured_quadratic(**kwargs)
