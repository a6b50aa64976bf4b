"""Seed 003 non-convex logistic regression: the objective against an independent formula, the
curvature bounds behind its constants (−λ/2 ≤ the regularizer's curvature ≤ 2λ, ∇f_i is
L_i-Lipschitz with L_i = λ_max(A_iᵀA_i)/(4m) + 2λ) and that they are attained, on synthetic data
and on the real splice set."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import DATA_DIR

from jcomp.problems import minibatch, nonconvex_logistic
from jcomp.problems._libsvm import load_libsvm

N_ROWS, D, N, LAM = 42, 5, 3, 0.1


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N_ROWS, D)), np.where(rng.random(N_ROWS) < 0.5, 1.0, -1.0)


def _indep_worker_f(rows, labels, lam, x):
    sq = x**2
    return jnp.mean(jnp.log1p(jnp.exp(-labels * (rows @ x)))) + lam * jnp.sum(sq / (1 + sq))


def test_objective_and_gradient_against_independent_formula():
    A, b = _data()
    p = nonconvex_logistic(A, b, N, LAM, split="contiguous")
    X = jnp.asarray(np.random.default_rng(1).standard_normal((N, D)) * 2)
    feats, labs = np.asarray(p.features), np.asarray(p.labels)
    for i in range(N):
        f = _indep_worker_f(feats[i], labs[i], LAM, X[i])
        g = jax.grad(_indep_worker_f, argnums=3)(feats[i], labs[i], LAM, X[i])
        np.testing.assert_allclose(float(p.worker_losses(X)[i]), float(f), rtol=1e-13)
        np.testing.assert_allclose(np.asarray(p.worker_grads(X)[i]), np.asarray(g), rtol=1e-12)
    x = X[0]
    np.testing.assert_allclose(float(p.loss(x)), float(jnp.mean(p.worker_losses(p.broadcast(x)))))
    np.testing.assert_allclose(
        np.asarray(p.grad(x)), np.asarray(jnp.mean(p.worker_grads(p.broadcast(x)), 0)), rtol=1e-12
    )
    every = jnp.broadcast_to(jnp.arange(p.samples_per_worker), (N, p.samples_per_worker))
    np.testing.assert_allclose(
        np.asarray(p.sample_grads(X, every)), np.asarray(p.worker_grads(X)), rtol=1e-12, atol=1e-15
    )
    assert p.x_star is None and p.f_star is None and p.constants.mu is None
    assert minibatch(p, 2).describe()["name"] == "minibatch(nonconvex_logistic)"


def test_constants_closed_forms():
    A, b = _data()
    p = nonconvex_logistic(A, b, N, LAM)
    feats = np.asarray(p.features)
    m = p.samples_per_worker
    L_i = [np.linalg.eigvalsh(F.T @ F).max() / (4 * m) + 2 * LAM for F in feats]
    np.testing.assert_allclose(np.asarray(p.constants.L_i), L_i, rtol=1e-13)
    rows = feats.reshape(-1, D)
    L = np.linalg.eigvalsh(rows.T @ rows).max() / (4 * len(rows)) + 2 * LAM
    assert float(p.constants.L) == pytest.approx(L, rel=1e-13)
    assert float(p.constants.L_plus) == pytest.approx(np.sqrt(np.mean(np.square(L_i))), rel=1e-13)


def _pairs(p, count, scale, seed):
    rng = np.random.default_rng(seed)
    X = jnp.asarray(rng.standard_normal((count, p.n, p.d)) * scale)
    Y = jnp.asarray(rng.standard_normal((count, p.n, p.d)) * scale)
    return X, Y


@pytest.mark.parametrize("source", ["synthetic", "splice"])
def test_curvature_bounds_hold_and_are_attained(source):
    if source == "synthetic":
        p = nonconvex_logistic(*_data(), N, LAM)
    else:
        if not os.path.isfile(os.path.join(DATA_DIR, "libsvm", "splice")):
            pytest.skip(f"splice is absent from {DATA_DIR}/libsvm")
        p = nonconvex_logistic(*load_libsvm("splice", data_dir=DATA_DIR), 10, LAM)
    Lmat = p.smoothness_matrices()  # (n, d, d)
    L_i = np.asarray(p.constants.L_i)
    X, Y = _pairs(p, 64, 3.0, 0)
    f = jax.vmap(p.worker_losses)
    g = jax.vmap(p.worker_grads)
    fx, fy, gx, gy = map(np.asarray, (f(X), f(Y), g(X), g(Y)))
    V = np.asarray(X - Y)  # (S, n, d)
    lin = fy + np.einsum("snd,snd->sn", gy, V)
    quad = 0.5 * np.einsum("snd,nde,sne->sn", V, Lmat, V)
    scale = np.abs(fx).max()
    assert (fx <= lin + quad + 1e-12 * scale).all()  # upper: ∇²f_i ⪯ 𝐋_i
    assert (fx >= lin - 0.25 * LAM * np.sum(V**2, -1) - 1e-12 * scale).all()  # lower: ⪰ −λ/2
    # ∇f_i is L_i-Lipschitz
    ratio = np.linalg.norm(gx - gy, axis=-1) / np.linalg.norm(V, axis=-1)
    assert (ratio <= L_i * (1 + 1e-12)).all()
    # the regularizer's curvature bounds are attained (2λ at 0, −λ/2 at |x_j| = 1), so the
    # constants cannot be lowered: second derivative along e_1 by central differences
    h = 1e-4
    e = np.zeros(p.d)
    e[0] = h

    def reg_curv(t):
        x = np.zeros(p.d)
        x[0] = t
        r = [float(p.regularizer(jnp.asarray(x + s * e))) for s in (-1, 0, 1)]
        return (r[0] - 2 * r[1] + r[2]) / h**2

    assert reg_curv(0.0) == pytest.approx(2 * LAM, rel=1e-6)
    assert reg_curv(1.0) == pytest.approx(-0.5 * LAM, rel=1e-6)


def test_bad_input():
    A, b = _data()
    with pytest.raises(ValueError, match="nonconvex_logistic.*lam=-1"):
        nonconvex_logistic(A, b, N, lam=-1.0)
    with pytest.raises(ValueError, match="nonconvex_logistic"):
        nonconvex_logistic(A, b[:-1], N)
