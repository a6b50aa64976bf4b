"""The seed-001 stochastic oracle: E ξ_i = 0, E‖ξ_i‖² = σ², independent workers, pure in the key,
exact without a key, no recompilation for a new σ."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_equals

from jcomp.problems import quadratic
from jcomp.problems._oracle import StochasticProblem, stochastic

N, D, SIGMA, SAMPLES = 3, 5, 0.7, 4000


def _problem():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((N, D, D))
    A = G @ np.swapaxes(G, 1, 2) / D + np.eye(D)
    return quadratic(A, rng.standard_normal((N, D)))


def _X(problem):
    return jnp.asarray(np.random.default_rng(1).standard_normal((problem.n, problem.d)))


#: one compiled oracle call shared by the tests (the problem is an argument: no recompiles)
_grads = jax.jit(lambda problem, X, key: problem.worker_grads(X, key))


@jax.jit
def _noise_samples(problem, X, keys):
    """(SAMPLES, n, d): g(X, key) − ∇f(X) for every key."""
    exact = problem.worker_grads(X)
    return jax.vmap(lambda k: problem.worker_grads(X, k) - exact)(keys)


def test_mean_second_moment_and_worker_independence():
    problem = stochastic(_problem(), SIGMA)
    keys = jax.random.split(jax.random.key(0), SAMPLES)
    xi = np.asarray(_noise_samples(problem, _X(problem), keys))  # (S, n, d)
    # E ξ_i = 0 coordinatewise
    assert_mean_equals(xi.reshape(SAMPLES, -1), 0.0)
    # E⟨ξ_i, ξ_j⟩ = σ² on the diagonal (E‖ξ_i‖² = σ²), 0 off it (independent, zero mean)
    gram = np.einsum("sid,sjd->sij", xi, xi).reshape(SAMPLES, -1)
    assert_mean_equals(gram, (SIGMA**2 * np.eye(N)).reshape(-1))
    # and the per-coordinate covariance is isotropic: E ξ_ia² = σ²/d
    assert_mean_equals(xi.reshape(SAMPLES, -1) ** 2, SIGMA**2 / D)


def test_worker_noise_is_its_own_fold_in():
    """Worker i's noise depends only on (key, i): the same for any worker count or sharding."""
    problem = stochastic(_problem(), SIGMA)
    key = jax.random.key(3)
    xi = np.asarray(_grads(problem, _X(problem), key) - problem.worker_grads(_X(problem)))
    key_noise, _ = jax.random.split(key)
    ref = jax.jit(
        lambda k: jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(k, i), (D,)))(
            jnp.arange(N)
        )
    )(key_noise)
    np.testing.assert_allclose(xi, ref * (SIGMA / np.sqrt(D)), rtol=1e-12, atol=1e-15)


def test_same_key_same_noise_and_exact_without_key():
    inner = _problem()
    problem = stochastic(inner, SIGMA)
    X = _X(problem)
    a = _grads(problem, X, jax.random.key(5))
    np.testing.assert_array_equal(a, _grads(problem, X, jax.random.key(5)))
    assert not np.allclose(a, _grads(problem, X, jax.random.key(6)))
    np.testing.assert_array_equal(problem.worker_grads(X), inner.worker_grads(X))
    # σ = 0: exact even with a key
    zero = stochastic(inner, 0.0)
    np.testing.assert_array_equal(_grads(zero, X, jax.random.key(5)), inner.worker_grads(X))
    # the objective forwards to the inner problem
    x = X[0]
    assert problem.loss(x) == inner.loss(x)
    np.testing.assert_array_equal(problem.grad(x), inner.grad(x))
    np.testing.assert_array_equal(problem.worker_losses(X), inner.worker_losses(X))
    np.testing.assert_array_equal(problem.x_star, inner.x_star)
    assert problem.f_star == inner.f_star and problem.constants is inner.constants
    assert (problem.n, problem.d) == (N, D)
    np.testing.assert_array_equal(problem.A, inner.A)  # problem data forwards too
    desc = problem.describe()
    assert desc["name"] == "stochastic(quadratic)" and desc["sigma"] == pytest.approx(SIGMA)


def test_new_sigma_does_not_recompile_and_sigma_can_be_traced():
    inner = _problem()
    X = _X(inner)

    key = jax.random.key(0)
    a = _grads(stochastic(inner, 0.5), X, key)
    compiled = _grads._cache_size()
    b = _grads(stochastic(inner, 1.0), X, key)
    assert _grads._cache_size() == compiled  # σ is a leaf: a new value reuses the program
    # the noise scales linearly with σ for a fixed key
    exact = inner.worker_grads(X)
    np.testing.assert_allclose(b - exact, 2 * (a - exact), rtol=1e-12)
    # σ as a traced value (vmap over noise levels)
    sig = jnp.array([0.5, 1.0])
    out = jax.vmap(lambda s: stochastic(inner, s).worker_grads(X, key))(sig)
    np.testing.assert_allclose(out[0], a, rtol=1e-12)
    np.testing.assert_allclose(out[1], b, rtol=1e-12)
    # pytree round trip keeps the type
    leaves, tree = jax.tree.flatten(stochastic(inner, 0.5))
    assert isinstance(jax.tree.unflatten(tree, leaves), StochasticProblem)


def test_float32_keeps_dtype():
    problem = jax.tree.map(lambda a: a.astype(jnp.float32), stochastic(_problem(), SIGMA))
    X = _X(problem).astype(jnp.float32)
    assert _grads(problem, X, jax.random.key(0)).dtype == jnp.float32


@pytest.mark.parametrize("sigma", [-0.1, float("nan"), float("inf"), [1.0, 2.0], "a"])
def test_bad_sigma(sigma):
    with pytest.raises(ValueError, match=r"stochastic: sigma=.*finite number >= 0"):
        stochastic(_problem(), sigma)


def test_bad_problem():
    with pytest.raises(TypeError, match=r"stochastic: problem of type ndarray .*jcomp Problem"):
        stochastic(np.eye(3), 1.0)
