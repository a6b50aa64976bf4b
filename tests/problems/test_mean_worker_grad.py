"""Problem.mean_worker_grad(X) = (1/n)Σ∇f_i(X[i]) for every problem kind, overrides included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jcomp.problems import (
    logistic,
    marina_p_quadratic,
    minibatch,
    quadratic,
    stochastic,
    structured_quadratic,
)

rng = np.random.default_rng(0)
n, d = 5, 12


def _dense_S():
    M = rng.normal(size=(d, d))
    return M @ M.T / d


PROBLEMS = {
    "structured tridiag": lambda: marina_p_quadratic(n, d, seed=1),
    "structured identity": lambda: structured_quadratic(
        rng.uniform(1, 2, n), rng.normal(size=(n, d)), S="identity", tau=0.1
    ),
    "structured dense": lambda: structured_quadratic(
        rng.uniform(1, 2, n), rng.normal(size=(n, d)), S=_dense_S(), tau=0.1
    ),
    "dense quadratic": lambda: quadratic(
        np.stack([_dense_S() + np.eye(d) for _ in range(n)]), rng.normal(size=(n, d))
    ),
    "logistic": lambda: logistic(rng.normal(size=(40, d)), np.sign(rng.normal(size=40)), n),
    "stochastic(structured)": lambda: stochastic(marina_p_quadratic(n, d, seed=2), 0.5),
    "minibatch(logistic)": lambda: minibatch(
        logistic(rng.normal(size=(40, d)), np.sign(rng.normal(size=40)), n), 3
    ),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_mean_worker_grad_is_the_mean_of_worker_grads(name):
    problem = PROBLEMS[name]()
    X = jnp.asarray(rng.normal(size=(n, d)))  # every worker at its own point
    key = jax.random.key(3)
    for k in (None, key):
        expect = np.mean(np.asarray(problem.worker_grads(X, k)), axis=0)
        got = np.asarray(jax.jit(problem.mean_worker_grad)(X, k))
        np.testing.assert_allclose(got, expect, rtol=1e-12, atol=1e-12 * np.abs(expect).max())
