"""MARINA-P with PermK on homogeneous quadratics is GD (seed 004 Thm 4.5/4.6; spec §5.3).

With A_i = A for all i, ``(1/n)Σ∇f_i(w_i) = A·mean(w) − b̄``, and PermK's ``(1/n)ΣC_i(v) = v``
keeps ``mean(w) = x`` on every round, so MARINA-P takes GD's steps (any p, same γ).
"""

import jax
import numpy as np
import pytest
from algorithm_helpers import STEPS, assert_same_iterates, homogeneous_quadratic, run_steps, x0_for

from jcomp import problems
from jcomp.algorithms import gd, marina_p, marina_p_default_p, marina_p_theory
from jcomp.compressors import perm_k


@pytest.mark.parametrize(
    ("n", "d"),
    [(5, 10), (4, 10), (3, 3), (7, 3), (6, 3)],
    ids=["n-divides-d", "n-not-divides-d", "d-eq-n", "d-lt-n-r1", "d-lt-n-r0"],
)
def test_perm_k_equals_gd_dense(n, d):
    problem = homogeneous_quadratic(seed=n * 100 + d, n=n, d=d)
    x0 = x0_for(problem)
    gamma = 1.0 / float(problem.constants.L)
    key = jax.random.key(n + d)
    p = marina_p_default_p(problem, perm_k())
    ref = run_steps(gd(gamma), problem, x0, key, steps=STEPS)[0].x
    states, infos = run_steps(marina_p(perm_k(), gamma, p), problem, x0, key, steps=STEPS)
    assert_same_iterates(states.x, ref)
    # compressed rounds happened (the check is not only about full rounds)
    assert np.any(np.asarray(infos.down.coords).sum(axis=1) < n * d)


@pytest.mark.parametrize(("n", "d"), [(7, 300), (400, 300)])
def test_perm_k_equals_gd_structured(n, d):
    """The seed-004 setting: a homogeneous tridiagonal quadratic, x⁰ = 0, theory step (= 1/L
    since L_A = 0) and default p = K/d."""
    problem = problems.homogeneous_quadratic(n, d, S="tridiag", seed=1)
    x0 = np.zeros(d)
    params = marina_p_theory(problem, perm_k())
    assert params["step_size"] == pytest.approx(1 / float(problem.constants.L), rel=1e-12)
    gamma, p = params["step_size"], params["p"]
    key = jax.random.key(3)
    ref = run_steps(gd(gamma), problem, x0, key, steps=STEPS)[0].x
    xs = run_steps(marina_p(perm_k(), gamma, p), problem, x0, key, steps=STEPS)[0].x
    assert_same_iterates(xs, ref)


@pytest.mark.parametrize("p", [0.1, 0.5, 1.0])
def test_perm_k_equals_gd_any_p(p):
    problem = homogeneous_quadratic(seed=2, n=4, d=10)  # the n∤d shape above: no recompile
    x0 = x0_for(problem)
    gamma = 1.0 / float(problem.constants.L)
    ref = run_steps(gd(gamma), problem, x0, jax.random.key(0), steps=STEPS)[0].x
    xs = run_steps(marina_p(perm_k(), gamma, p), problem, x0, jax.random.key(1), steps=STEPS)[0].x
    assert_same_iterates(xs, ref)
