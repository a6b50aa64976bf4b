"""Per-step Info equals the fixed-size counts of spec §3 (realized coins, per worker)."""

import jax
import numpy as np
import pytest
from algorithm_helpers import STEPS, homogeneous_quadratic, run_steps, small_problem, x0_for
from mc import assert_mean_equals

from jcomp.algorithms import dcgd, diana, ef21_p, gd, marina, marina_p
from jcomp.compressors import identity, index_bits, perm_k, rand_k, same_rand_k, top_k


def _np(cost):
    return [np.asarray(a) for a in cost]


def assert_cost(cost, bits, bits_noidx, coords, n):
    for name, a, v in zip(
        ("bits", "bits_noidx", "coords"), _np(cost), (bits, bits_noidx, coords), strict=True
    ):
        assert a.shape[-1] == n, name
        assert a.dtype == np.float64, name
        np.testing.assert_array_equal(a, np.broadcast_to(v, a.shape), err_msg=name)


def _problem():
    return small_problem()


@pytest.mark.parametrize("name", ["gd", "dcgd", "diana"])
def test_fixed_costs(name):
    problem = _problem()
    n, d = problem.n, problem.d
    k = 2
    alg = {
        "gd": gd(0.05),
        "dcgd": dcgd(rand_k(k), 0.02),
        "diana": diana(rand_k(k), 0.02, 0.25),
    }[name]
    _, info = run_steps(alg, problem, x0_for(problem), jax.random.key(0), steps=STEPS)
    if name == "gd":
        assert_cost(info.up, 32 * d, 32 * d, d, n)
    else:
        assert_cost(info.up, k * (32 + index_bits(d)), 32 * k, k, n)
    assert_cost(info.down, 32 * d, 32 * d, d, n)
    setup = alg.setup(problem)
    assert_cost(setup.up, 0, 0, 0, n)
    assert_cost(setup.down, 0, 0, 0, n)


def test_marina_costs():
    problem = _problem()
    n, d = problem.n, problem.d
    k, p = 2, 0.3
    alg = marina(rand_k(k), 0.02, p)
    setup = alg.setup(problem)
    assert_cost(setup.up, 32 * d, 32 * d, d, n)  # the initial ∇f_i(x⁰)
    assert_cost(setup.down, 0, 0, 0, n)
    states, info = run_steps(alg, problem, x0_for(problem), jax.random.key(1), steps=STEPS)
    # a full round is the one where every g_i was reset to ∇f_i(x⁺) exactly
    full = np.all(np.asarray(states.g) == np.asarray(states.grads), axis=(1, 2))
    up_bits = np.where(full[:, None], 32 * d, k * (32 + index_bits(d)))
    up_noidx = np.where(full[:, None], 32 * d, 32 * k)
    up_coords = np.where(full[:, None], d, k)
    assert_cost(info.up, up_bits, up_noidx, up_coords, n)
    assert_cost(info.down, 32 * d, 32 * d, d, n)
    # the shared coin: full rounds at rate p (Monte Carlo, standard-error tolerance)
    assert 0 < full.sum() < STEPS
    assert_mean_equals(full.astype(float), p)


def _marina_p_full_rounds(states, info, d):
    coords = np.asarray(info.down.coords)
    full = np.all(coords == d, axis=1)
    w, x = np.asarray(states.w), np.asarray(states.x)
    np.testing.assert_array_equal(w[full], np.broadcast_to(x[full][:, None, :], w[full].shape))
    return full, coords


@pytest.mark.parametrize(("n", "d"), [(5, 10), (4, 10), (7, 3)])
def test_marina_p_perm_k_costs(n, d):
    problem = homogeneous_quadratic(seed=0, n=n, d=d)
    p = 0.2
    states, info = run_steps(
        marina_p(perm_k(), 0.05, p), problem, x0_for(problem), jax.random.key(2), steps=STEPS
    )
    assert_cost(info.up, 32 * d, 32 * d, d, n)  # dense ∇f_i(w_i)
    full, coords = _marina_p_full_rounds(states, info, d)
    comp = coords[~full]
    if d >= n:
        assert set(np.unique(comp)) <= {d // n, -(-d // n)}
        np.testing.assert_array_equal(comp.sum(axis=1), d)  # the blocks partition [d]
    else:
        assert set(np.unique(comp)) <= {0, 1}
        np.testing.assert_array_equal(comp.sum(axis=1), (n // d) * d)  # q workers per coord
    bits = np.asarray(info.down.bits)
    np.testing.assert_array_equal(bits, 32 * coords)  # indices free, full rounds 32d
    np.testing.assert_array_equal(np.asarray(info.down.bits_noidx), 32 * coords)
    assert_mean_equals(full.astype(float), p)


@pytest.mark.parametrize("comp", ["rand_k", "same_rand_k"])
def test_marina_p_sparsifier_costs(comp):
    problem = _problem()
    n, d = problem.n, problem.d
    k = 2
    c = rand_k(k) if comp == "rand_k" else same_rand_k(k)
    states, info = run_steps(
        marina_p(c, 0.02, 0.25), problem, x0_for(problem), jax.random.key(3), steps=STEPS
    )
    assert_cost(info.up, 32 * d, 32 * d, d, n)
    full, _ = _marina_p_full_rounds(states, info, d)
    idx = index_bits(d) if comp == "rand_k" else 0
    f = full[:, None]
    assert_cost(
        info.down,
        np.where(f, 32 * d, k * (32 + idx)),
        np.where(f, 32 * d, 32 * k),
        np.where(f, d, k),
        n,
    )
    assert 0 < full.sum() < STEPS


def test_ef21_p_costs():
    problem = _problem()
    n, d = problem.n, problem.d
    k = 2
    _, info = run_steps(
        ef21_p(top_k(k), 0.02), problem, x0_for(problem), jax.random.key(4), steps=STEPS
    )
    assert_cost(info.up, 32 * d, 32 * d, d, n)
    # one TopK message broadcast: charged to every worker, indices included
    assert_cost(info.down, k * (32 + index_bits(d)), 32 * k, k, n)
    _, info = run_steps(
        ef21_p(identity(), 0.02), problem, x0_for(problem), jax.random.key(4), steps=STEPS
    )
    assert_cost(info.down, 32 * d, 32 * d, d, n)
