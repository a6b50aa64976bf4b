"""Seed 002 ridge regression (the paper's f exactly, x* by linear solve) and the minibatch oracle
(unbiased, the exact finite-population variance, uniform subsets without replacement, composing
with the Gaussian oracle), by Monte Carlo with standard-error tolerances."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_equals

from jcomp import problems as P

N_ROWS, D, N, BATCH, SAMPLES = 24, 5, 3, 3, 20_000


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N_ROWS, D)), rng.standard_normal(N_ROWS)


def _paper_f(A, y, lam, x):
    return 0.5 * np.sum((A @ x - y) ** 2) + 0.5 * lam * x @ x


def test_ridge_is_the_papers_objective():
    A, y = _data()
    r = P.ridge(A, y, N)
    lam = 1.0 / N_ROWS
    assert r.n == N and r.d == D and r.samples_per_worker == N_ROWS // N
    x = np.random.default_rng(1).standard_normal(D)
    np.testing.assert_allclose(float(r.loss(jnp.asarray(x))), _paper_f(A, y, lam, x), rtol=1e-13)
    grad = A.T @ (A @ x - y) + lam * x
    np.testing.assert_allclose(np.asarray(r.grad(jnp.asarray(x))), grad, rtol=1e-12, atol=1e-12)
    # worker i holds rows [i·m, (i+1)·m): f_i = (n/2)‖A_ix − y_i‖² + (λ/2)‖x‖²
    m = N_ROWS // N
    f_i = [
        N / 2 * np.sum((A[i * m : (i + 1) * m] @ x - y[i * m : (i + 1) * m]) ** 2) for i in range(N)
    ]
    np.testing.assert_allclose(
        np.asarray(r.worker_losses(r.broadcast(jnp.asarray(x)))),
        np.asarray(f_i) + 0.5 * lam * x @ x,
        rtol=1e-13,
    )
    # x* solves the normal equations; f* is the paper's optimal value
    x_star = np.linalg.solve(A.T @ A + lam * np.eye(D), A.T @ y)
    np.testing.assert_allclose(np.asarray(r.x_star), x_star, rtol=1e-12)
    np.testing.assert_allclose(float(r.f_star), _paper_f(A, y, lam, x_star), rtol=1e-12)
    # constants are those of the Hessians H_i = nA_iᵀA_i + λI
    consts, _ = P.quadratic_constants(np.asarray(r.A))
    np.testing.assert_allclose(float(r.constants.L), consts["L"], rtol=1e-14)
    np.testing.assert_allclose(float(r.constants.L), np.linalg.eigvalsh(A.T @ A).max() + lam)


def test_ridge_regression_generator():
    r = P.ridge_regression(m=100, d=80, n=10, seed=0)
    assert (r.n, r.d, r.samples_per_worker) == (10, 80, 10)
    assert float(r.lam) == 1 / 100
    assert float(jnp.max(jnp.abs(r.grad(r.x_star)))) < 1e-9 * float(r.constants.L)


def test_sample_grads_over_all_samples_is_the_gradient():
    r = P.ridge(*_data(), N)
    X = jnp.asarray(np.random.default_rng(2).standard_normal((N, D)))
    every = jnp.broadcast_to(jnp.arange(r.samples_per_worker), (N, r.samples_per_worker))
    np.testing.assert_allclose(
        np.asarray(r.sample_grads(X, every)), np.asarray(r.worker_grads(X)), rtol=1e-12, atol=1e-9
    )


@jax.jit
def _samples(problem, X, keys):
    return jax.vmap(lambda k: problem.worker_grads(X, k))(keys)


def test_minibatch_unbiased_with_the_exact_variance():
    r = P.ridge(*_data(), N)
    mb = P.minibatch(r, BATCH)
    X = jnp.asarray(np.random.default_rng(3).standard_normal((N, D)))
    g = np.asarray(_samples(mb, X, jax.random.split(jax.random.key(0), SAMPLES)))  # (S, n, d)
    exact = np.asarray(r.worker_grads(X))
    assert_mean_equals(g.reshape(SAMPLES, -1), exact.reshape(-1))
    err = np.sum((g - exact) ** 2, axis=2)  # (S, n)
    # sigma2 at every worker's own point: evaluate per worker and keep the diagonal
    sig = np.array([mb.sigma2(X[i])[i] for i in range(N)])
    assert_mean_equals(err, sig)
    # the finite-population correction is resolved: sampling with replacement would give
    # (m − 1)/(m − b) times more, which the samples reject by far more than 5 SE
    m = r.samples_per_worker
    mean, se = err.mean(axis=0), err.std(axis=0, ddof=1) / np.sqrt(SAMPLES)
    assert (np.abs(mean - sig * (m - 1) / (m - BATCH)) > 5 * se).all()


def test_minibatch_indices_uniform_without_replacement():
    mb = P.minibatch(P.ridge(*_data(), N), BATCH)
    idx = np.asarray(jax.jit(jax.vmap(mb.indices))(jax.random.split(jax.random.key(1), SAMPLES)))
    assert idx.shape == (SAMPLES, N, BATCH)
    srt = np.sort(idx, axis=2)
    assert (np.diff(srt, axis=2) > 0).all()  # distinct within a worker's batch
    m = mb.inner.samples_per_worker
    hits = (idx[..., None] == np.arange(m)).any(axis=2)  # (S, n, m) sample t in the batch
    assert_mean_equals(hits.reshape(SAMPLES, -1).astype(float), BATCH / m)


def test_full_batch_is_exact_and_no_key_is_exact():
    r = P.ridge(*_data(), N)
    X = jnp.asarray(np.random.default_rng(4).standard_normal((N, D)))
    full = P.minibatch(r, r.samples_per_worker)
    np.testing.assert_allclose(
        np.asarray(full.worker_grads(X, jax.random.key(0))),
        np.asarray(r.worker_grads(X)),
        rtol=1e-12,
    )
    assert np.all(full.sigma2() == 0)
    mb = P.minibatch(r, 1)
    assert np.array_equal(np.asarray(mb.worker_grads(X)), np.asarray(r.worker_grads(X)))
    assert mb.x_star is r.x_star and mb.constants is r.constants and mb.A is r.A


def test_minibatch_composes_with_gaussian_noise():
    r = P.ridge(*_data(), N)
    sigma = 0.5
    both = P.stochastic(P.minibatch(r, BATCH), sigma)
    X = r.broadcast(r.x_star)
    g = np.asarray(_samples(both, X, jax.random.split(jax.random.key(2), SAMPLES)))
    err = np.sum((g - np.asarray(r.worker_grads(X))) ** 2, axis=2)
    # independent zero-mean noises: the variances add
    assert_mean_equals(err, both.inner.sigma2() + sigma**2)
    assert both.describe()["name"] == "stochastic(minibatch(ridge))"


def test_bad_input():
    A, y = _data()
    with pytest.raises(ValueError, match="n=5 is not allowed.*divides"):
        P.ridge(A, y, 5)
    with pytest.raises(ValueError, match="lam=-1"):
        P.ridge(A, y, N, lam=-1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        P.ridge(A, y[:-1], N)
    r = P.ridge(A, y, N)
    with pytest.raises(ValueError, match=r"batch=9 is out of range.*\[1, 8\]"):
        P.minibatch(r, 9)
    with pytest.raises(TypeError, match="keeps no samples"):
        P.minibatch(P.quadratic(np.asarray(r.A), np.asarray(r.b)), 2)
