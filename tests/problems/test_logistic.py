"""Seed 000 L2 logistic regression: the objective against an independent formula (jax.grad and
central differences), the splits, the sample oracle, the smoothness matrices (valid and tight),
the constants, and x* by Newton; on a small synthetic set and on german.numer."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import DATA_DIR

from jcomp.problems._libsvm import load_libsvm
from jcomp.problems._logistic import Logistic, logistic, logistic_libsvm, split_indices
from jcomp.problems._oracle import minibatch

N_ROWS, D, N, LAM = 53, 6, 4, 1e-3  # m = 13, one row dropped


def _data(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N_ROWS, D)) * rng.uniform(0.1, 3.0, (N_ROWS, 1))
    b = np.where(rng.random(N_ROWS) < 0.4, 1.0, -1.0)
    return A, b


def _german():
    if not os.path.isfile(os.path.join(DATA_DIR, "libsvm", "german.numer")):
        pytest.skip(f"german.numer is absent from {DATA_DIR}/libsvm")
    return load_libsvm("german.numer", data_dir=DATA_DIR)


def _indep_f(rows, labels, lam, x):
    """Independent formula (1/m)Σ log(1 + exp(−b aᵀx)) + (λ/2)‖x‖² (log1p/exp: for |z| < 30)."""
    return jnp.mean(jnp.log1p(jnp.exp(-labels * (rows @ x)))) + 0.5 * lam * jnp.sum(x**2)


def test_loss_and_gradient_against_independent_formula():
    A, b = _data()
    p = logistic(A, b, N, LAM, split="contiguous", scale=None)
    m = N_ROWS // N
    assert (p.n, p.d, p.samples_per_worker) == (N, D, m) and isinstance(p, Logistic)
    X = jnp.asarray(np.random.default_rng(1).standard_normal((N, D)))
    for i in range(N):
        rows, lab = jnp.asarray(A[i * m : (i + 1) * m]), jnp.asarray(b[i * m : (i + 1) * m])
        f = _indep_f(rows, lab, LAM, X[i])
        g = jax.grad(_indep_f, argnums=3)(rows, lab, LAM, X[i])
        # same float64 arithmetic up to summation order: 1e-13 relative is ~500 ulps
        np.testing.assert_allclose(float(p.worker_losses(X)[i]), float(f), rtol=1e-13)
        np.testing.assert_allclose(np.asarray(p.worker_grads(X)[i]), g, rtol=1e-12, atol=1e-15)
        # central difference: error h²/6·|f'''|·(sum of |a|³) ≲ 1e-9 at h = 1e-5 (|a| ≲ 10) plus
        # rounding ε|f|/h ≈ 1e-11; 1e-7 leaves margin and still catches any wrong factor
        h = 1e-5
        fd = [
            (_indep_f(rows, lab, LAM, X[i] + h * e) - _indep_f(rows, lab, LAM, X[i] - h * e))
            / (2 * h)
            for e in jnp.eye(D)
        ]
        np.testing.assert_allclose(np.asarray(p.worker_grads(X)[i]), fd, rtol=0, atol=1e-7)


def test_stable_at_large_margins():
    A, b = _data()
    p = logistic(A, b, N, LAM, scale=None)
    x = jnp.full(D, 1e3)  # |z| up to ~1e4: exp overflows in a naive formula
    assert np.isfinite(float(p.loss(x))) and np.isfinite(np.asarray(p.grad(x))).all()


def test_worker_mean_is_the_global_objective():
    A, b = _data()
    for split in ("shuffle", "norm_sorted", "contiguous"):
        p = logistic(A, b, N, LAM, split=split)
        x = jnp.asarray(np.random.default_rng(2).standard_normal(D))
        X = p.broadcast(x)
        np.testing.assert_allclose(float(p.loss(x)), float(jnp.mean(p.worker_losses(X))), 1e-14)
        np.testing.assert_allclose(
            np.asarray(p.grad(x)), np.asarray(jnp.mean(p.worker_grads(X), 0)), 1e-13, 1e-16
        )
        # f is the objective over all kept rows (each worker has m of them)
        rows = np.asarray(p.features).reshape(-1, D)
        labs = np.asarray(p.labels).reshape(-1)
        np.testing.assert_allclose(float(p.loss(x)), float(_indep_f(rows, labs, LAM, x)), 1e-13)


def test_row_max_scaling_and_splits():
    A, b = _data()
    scaled = A / np.abs(A).max(axis=1, keepdims=True)
    m = N_ROWS // N
    for split in ("shuffle", "norm_sorted", "contiguous"):
        idx = split_indices(scaled, N, split, seed=3)
        assert idx.shape == (N, m)
        kept = idx.reshape(-1)
        assert len(np.unique(kept)) == N * m  # disjoint
        assert set(kept) <= set(range(N_ROWS))
        assert N_ROWS - len(kept) == N_ROWS - N * (N_ROWS // N) == 1  # remainder dropped
        p = logistic(A, b, N, LAM, split=split, seed=3)
        assert np.array_equal(np.asarray(p.features), scaled[idx])  # every kept row once
        assert np.array_equal(np.asarray(p.labels), b[idx])
        assert np.allclose(np.abs(np.asarray(p.features)).max(axis=2), 1.0, rtol=0, atol=1e-15)
    assert np.array_equal(split_indices(A, N, "contiguous"), np.arange(N * m).reshape(N, m))
    srt = split_indices(scaled, N, "norm_sorted")
    norms = np.linalg.norm(scaled, axis=1)
    assert (np.diff(norms[srt.reshape(-1)]) >= 0).all()
    dropped = np.setdiff1d(np.arange(N_ROWS), srt)
    assert norms[dropped].min() >= norms[srt].max()  # the largest norm is the one dropped
    sh = [split_indices(A, N, "shuffle", seed=s) for s in (0, 0, 1)]
    assert np.array_equal(sh[0], sh[1]) and not np.array_equal(sh[0], sh[2])
    assert not np.array_equal(np.sort(sh[0].reshape(-1)), np.arange(N * m))  # shuffled subset
    p = logistic(A, b, N, LAM, scale=None, split="contiguous")
    assert np.array_equal(np.asarray(p.features), A[: N * m].reshape(N, m, D))


def test_sample_grads():
    A, b = _data()
    p = logistic(A, b, N, LAM)
    X = jnp.asarray(np.random.default_rng(4).standard_normal((N, D)))
    m = p.samples_per_worker
    every = jnp.broadcast_to(jnp.arange(m), (N, m))
    np.testing.assert_allclose(
        np.asarray(p.sample_grads(X, every)), np.asarray(p.worker_grads(X)), rtol=1e-12, atol=1e-16
    )
    # one sample: ∇ of f_it = log(1 + exp(−b_t a_tᵀx)) + (λ/2)‖x‖² (independent formula)
    t = jnp.array([[0], [5], [12], [7]])
    one = np.asarray(p.sample_grads(X, t))
    for i in range(N):
        row, lab = p.features[i, t[i]], p.labels[i, t[i]]
        np.testing.assert_allclose(one[i], jax.grad(_indep_f, 3)(row, lab, LAM, X[i]), 1e-12)
    # works inside the minibatch oracle; full batch is exact
    full = minibatch(p, m)
    np.testing.assert_allclose(
        np.asarray(full.worker_grads(X, jax.random.key(0))), np.asarray(p.worker_grads(X)), 1e-12
    )


def _smoothness_check(p, rng, scales, pairs=40, factor=1.0):
    """min over tested pairs of the slack f_i(y) + ⟨∇f_i(y), x−y⟩ + ½‖x−y‖²_{factor·L_i} − f_i(x),
    relative to max(|f_i(x)|, 1)."""
    L = factor * p.smoothness_matrices()
    worst = np.inf
    for s in scales:
        for _ in range(pairs):
            Y = rng.standard_normal((p.n, p.d)) * s
            Xp = Y + rng.standard_normal((p.n, p.d)) * s
            fx = np.asarray(p.worker_losses(jnp.asarray(Xp)))
            fy = np.asarray(p.worker_losses(jnp.asarray(Y)))
            gy = np.asarray(p.worker_grads(jnp.asarray(Y)))
            v = Xp - Y
            bound = fy + np.sum(gy * v, 1) + 0.5 * np.einsum("ni,nij,nj->n", v, L, v)
            worst = min(worst, np.min((bound - fx) / np.maximum(np.abs(fx), 1.0)))
    return worst


@pytest.mark.parametrize("which", ["synthetic", "german"])
def test_smoothness_matrices_valid_and_tight(which):
    A, b = _data() if which == "synthetic" else _german()
    p = logistic(A, b, 4, LAM)
    rng = np.random.default_rng(5)
    Lm = p.smoothness_matrices()
    assert Lm.shape == (4, p.d, p.d) and Lm.dtype == np.float64
    feats = np.asarray(p.features)
    m = p.samples_per_worker
    np.testing.assert_allclose(
        Lm[1], feats[1].T @ feats[1] / (4 * m) + LAM * np.eye(p.d), rtol=1e-14, atol=1e-17
    )
    # rounding of the O(1) terms: 1e-13 relative; the inequality must hold up to that
    scales = (1e-2, 0.3, 3.0)
    assert _smoothness_check(p, rng, scales) >= -1e-13
    # tight near 0 (σ(1−σ) → 1/4 as z → 0): halving L_i breaks the inequality at some pair
    assert _smoothness_check(p, np.random.default_rng(5), scales, factor=0.5) < -1e-6
    # spec test: ∇²f_i(x) ⪯ L_i at random x
    for _ in range(3):
        X = jnp.asarray(rng.standard_normal((p.n, p.d)))
        for i in range(p.n):
            H = jax.hessian(lambda x, i=i, X=X: p.worker_losses(X.at[i].set(x))[i])(X[i])
            assert np.linalg.eigvalsh(Lm[i] - np.asarray(H)).min() >= -1e-13 * Lm[i].max()


def test_constants():
    A, b = _data()
    p = logistic(A, b, N, LAM)
    c = p.constants
    Lm = p.smoothness_matrices()
    L_i = np.linalg.eigvalsh(Lm).max(axis=1)
    np.testing.assert_allclose(np.asarray(c.L_i), L_i, rtol=1e-14)
    assert float(c.L_max) == L_i.max()
    np.testing.assert_allclose(float(c.L), np.linalg.eigvalsh(Lm.mean(0)).max(), rtol=1e-14)
    assert float(c.mu) == LAM and float(c.L) <= float(c.L_max)
    L_qm = np.sqrt(np.mean(L_i**2))
    assert float(c.L) <= float(c.L_plus) <= L_qm * (1 + 1e-14)
    assert c.L_pm is None and c.L_A is None and c.L_B is None
    # L and L_plus are valid Lipschitz bounds at random pairs
    rng = np.random.default_rng(6)
    for _ in range(50):
        x, y = jnp.asarray(rng.standard_normal(D)), jnp.asarray(rng.standard_normal(D) * 0.1)
        dx2 = float(jnp.sum((x - y) ** 2))
        gd = p.worker_grads(p.broadcast(x)) - p.worker_grads(p.broadcast(y))
        assert float(jnp.mean(jnp.sum(gd**2, 1))) <= float(c.L_plus) ** 2 * dx2 * (1 + 1e-12)
        assert float(jnp.sum(jnp.mean(gd, 0) ** 2)) <= float(c.L) ** 2 * dx2 * (1 + 1e-12)


@pytest.mark.parametrize("which", ["synthetic", "german"])
def test_x_star_by_newton(which):
    A, b = _data() if which == "synthetic" else _german()
    p = logistic(A, b, 10 if which == "german" else N, LAM)
    x = p.x_star
    assert float(jnp.linalg.norm(p.grad(x))) <= 1e-10
    np.testing.assert_allclose(float(p.f_star), float(p.loss(x)), rtol=1e-15)
    rng = np.random.default_rng(7)
    for s in (1e-4, 1e-2, 1.0):
        for _ in range(10):
            delta = rng.standard_normal(p.d) * s
            gap = float(p.loss(x + delta)) - float(p.f_star)
            # μ-strong convexity: gap ≥ (λ/2)‖δ‖² − (rounding of f, ~1e-16·f ≈ 1e-16)
            assert gap >= 0.5 * LAM * float(delta @ delta) * (1 - 1e-6) - 1e-15


def test_x_star_a9a():
    """The largest set used here (32,561 × 123): Newton reaches ‖∇f‖ ≤ 1e-12 (spec)."""
    if not os.path.isfile(os.path.join(DATA_DIR, "libsvm", "a9a")):
        pytest.skip(f"a9a is absent from {DATA_DIR}/libsvm")
    p = logistic_libsvm("a9a", 10, data_dir=DATA_DIR)
    assert p.samples_per_worker == 3256  # ⌊32561/10⌋, one row dropped
    assert float(jnp.linalg.norm(p.grad(p.x_star))) <= 1e-12
    d = jnp.asarray(np.random.default_rng(8).standard_normal(p.d)) * 1e-3
    assert float(p.loss(p.x_star + d)) - float(p.f_star) >= 0.5 * LAM * float(d @ d) * (1 - 1e-6)


def test_libsvm_convenience_and_jit():
    A, b = _german()
    p = logistic_libsvm("german.numer", 10, data_dir=DATA_DIR, split="norm_sorted")
    q = logistic(A, b, 10, 1e-3, split="norm_sorted")
    assert np.array_equal(np.asarray(p.features), np.asarray(q.features))
    assert (p.n, p.d, p.samples_per_worker) == (10, 24, 100)
    loss = jax.jit(lambda prob, x: prob.loss(x))
    x = jnp.zeros(24)
    assert float(loss(p, x)) == pytest.approx(np.log(2.0), rel=1e-15)  # f(0) = log 2
    assert loss._cache_size() == 1
    loss(logistic(A, b, 10, 1e-2, seed=1), x)  # new data, same shapes: no recompile
    assert loss._cache_size() == 1


def test_bad_input():
    A, b = _data()
    with pytest.raises(ValueError, match=r"n=0 is not allowed.*\[1, 53\]"):
        logistic(A, b, 0)
    with pytest.raises(ValueError, match=r"n=54 is not allowed.*N = 53"):
        logistic(A, b, 54)
    with pytest.raises(ValueError, match="n=2.0 is not allowed"):
        logistic(A, b, 2.0)
    with pytest.raises(ValueError, match="lam=-1 is not allowed.*≥ 0"):
        logistic(A, b, N, lam=-1)
    with pytest.raises(ValueError, match="split='random' is not allowed.*norm_sorted"):
        logistic(A, b, N, split="random")
    with pytest.raises(ValueError, match="scale='max' is not allowed.*row_max"):
        logistic(A, b, N, scale="max")
    with pytest.raises(ValueError, match=r"b must have shape \(N,\) = \(53,\)"):
        logistic(A, b[:-1], N)
    with pytest.raises(ValueError, match="A must have shape"):
        logistic(A[0], b, N)
    with pytest.raises(ValueError, match=r"labels in \{-1, \+1\}; found \[0.0\]"):
        logistic(A, np.where(b > 0, 1.0, 0.0), N)
    bad = A.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="A must be finite"):
        logistic(bad, b, N)
    # checked before any work: a bad argument is reported before the file is looked for
    with pytest.raises(ValueError, match="lam=-0.5"):
        logistic_libsvm("no_such_file", 2, lam=-0.5)
    with pytest.raises(ValueError, match="split='x'"):
        logistic_libsvm("no_such_file", 2, split="x")
