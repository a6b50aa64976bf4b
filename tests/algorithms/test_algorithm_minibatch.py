"""Algorithms on the minibatch oracle (seed 002 ridge with per-worker samples): the oracle is
the one the algorithm sees (full batch = the exact run, a smaller batch stops at a noise floor),
and theory rules read its σ_*²."""

import jax
import numpy as np
from algorithm_helpers import rel_dist, x0_for

from jcomp.algorithms import dcgd
from jcomp.algorithms._ef import ec_sgd_diana_theory, ef_sgd_bc_theory
from jcomp.compressors import identity, rand_k, top_k
from jcomp.problems import minibatch, oracle_sigma2, ridge, stochastic


def _ridge():
    rng = np.random.default_rng(0)
    return ridge(rng.standard_normal((24, 5)), rng.standard_normal(24), 3)


def test_full_batch_run_is_the_exact_run_and_small_batch_plateaus():
    base = _ridge()
    m = base.samples_per_worker
    c = base.constants
    gamma = 1.0 / float(c.L)
    steps = int(np.ceil(np.log(1e-24) / np.log(1 - float(c.mu) * gamma)))
    x0, key = x0_for(base), jax.random.key(0)
    alg = dcgd(identity(), gamma)
    exact = np.asarray(rel_dist(alg, base, x0, key, steps=steps))
    full = np.asarray(rel_dist(alg, minibatch(base, m), x0, key, steps=steps))
    part = np.asarray(rel_dist(alg, minibatch(base, 2), x0, key, steps=steps))
    assert exact[-1] < 1e-20  # GD with γ = 1/L converges linearly to x*
    # the same iterates up to rounding (per-sample rows vs the Hessian form: different sums)
    np.testing.assert_allclose(full, exact, rtol=1e-9, atol=1e-22)
    # the stochastic run stays at its noise floor (σ_*² > 0): far above the exact run
    assert oracle_sigma2(minibatch(base, 2)) > 0
    assert part[-steps // 4 :].min() > 1e6 * exact[-1]


def test_theory_reads_the_minibatch_variance():
    base = _ridge()
    m = base.samples_per_worker
    sig2 = oracle_sigma2(minibatch(base, 2))
    assert sig2 == float(np.max(minibatch(base, 2).sigma2()))
    # composed oracles add their variances at x*
    assert oracle_sigma2(stochastic(minibatch(base, 2), 0.5)) == sig2 + 0.25
    assert oracle_sigma2(minibatch(base, m)) == 0.0
    for rule in (ef_sgd_bc_theory, ec_sgd_diana_theory):
        comp = top_k(2)
        assert rule(minibatch(base, 2), comp, rand_k(2))["beta"] == comp.delta(base.d)
        assert rule(minibatch(base, m), comp, rand_k(2))["beta"] == 1.0
