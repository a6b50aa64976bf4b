"""induced / scaled combinators, PermK+CQ and ISCC (spec §2 conversions, §4 rows).

Monte Carlo with fixed keys, M draws from one compiled program per group, tolerances z = 5
standard errors (tests/mc.py). Targets:

* induced(C, Q) = C(x) + Q(x − C(x)): unbiased, ``E‖out − x‖² ≤ ω_Q(1 − δ_C)‖x‖²`` (TopK with
  RandK and with natural); δ = 1 (identity, TopK at K = d) gives x exactly, ω = 0;
* scaled(C) = C/(1 + ω): ``E‖out − x‖² = (1 − 1/(1 + ω))‖x‖²`` for the ω-tight RandK;
* PermK+CQ: aggregate ``(1/n)Σ_i C_i(a_i)`` unbiased for ā, per-worker unbiased, ω = d − 1
  (s = 1, exact), each coordinate owned by n/b workers in a block structure, fixed cost; b = 1
  is CQ (same message for the same key, and the same mean-square error law);
* ISCC: aggregate unbiased and ``E‖S(a) − ā‖² = A(1/n)Σ(1/(nq_i))‖a_i‖² − B‖ā‖²`` with
  ``(A, B) = ((ω+1)/τ, 1/τ)`` for the ω-tight RandK base, at τ = 1 (spec) and τ = 3.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import Z, assert_mean_at_most, assert_mean_equals, mean_and_se

from jcomp.compressors._basic import identity, rand_k
from jcomp.compressors._combinators import compose, induced, scaled
from jcomp.compressors._correlated import cq
from jcomp.compressors._iscc import iscc
from jcomp.compressors._natural import natural
from jcomp.compressors._permk import perm_k
from jcomp.compressors._permk_cq import perm_k_cq
from jcomp.compressors._sparsifiers import top_k

fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

M = 20_000
D, N = 12, 4
Q_W = (0.1, 0.2, 0.3, 0.4)

COMPS = {
    "induced-top_k": induced(top_k(3), rand_k(4)),
    "induced-top_k-nat": induced(top_k(5), natural()),
    "scaled-rand_k": scaled(rand_k(3)),
    "pkcq-b1": perm_k_cq(1),
    "cq": cq(),
    "pkcq-b2": perm_k_cq(2),
    "pkcq-b4": perm_k_cq(4),
    "iscc-t1": iscc(rand_k(3), weights=Q_W),
    "iscc-t3": iscc(rand_k(3), weights=Q_W, tau=3),
}


def _input():
    rng = np.random.default_rng(7)
    return jnp.asarray(rng.normal(size=D) + 0.8 * rng.normal(size=(N, D)))


@functools.cache
def _samples():
    X = _input()
    keys = jax.random.split(jax.random.key(11), M)
    # CQ gets independent keys, so the b = 1 comparison is one of laws, not of identical draws.
    keys_cq = jax.random.split(jax.random.key(12), M)

    def one(key, key_cq, X):
        return {name: c(key_cq if name == "cq" else key, X) for name, c in COMPS.items()}

    out = fast_jit(jax.vmap(one, in_axes=(0, 0, None)))(keys, keys_cq, X)
    return np.asarray(X), jax.tree.map(np.asarray, out)


def _atol(s):
    return M * np.finfo(np.float64).eps * float(np.abs(s).max()) + 1e-12


def _err(values, X):
    return ((values - X) ** 2).sum(-1)  # (M, n)


# ---------------------------------------------------------------- induced / scaled


@pytest.mark.parametrize("name", ["induced-top_k", "induced-top_k-nat"])
def test_induced_unbiased_and_omega(name):
    X, out = _samples()
    c, m = COMPS[name], out[name]
    assert_mean_equals(m.values, X, atol=_atol(m.values))
    w = c.omega(D, N)
    assert w == pytest.approx(c.q.omega(D, N) * (1 - c.c.delta(D)))
    assert_mean_at_most(_err(m.values, X), w * (X**2).sum(-1))
    # cost: sum of the parts (TopK charges indices; RandK too; natural 9 bits per value)
    bits, bits_noidx, coords = c.expected_cost(D, N)
    for field, e in (("bits", bits), ("bits_noidx", bits_noidx), ("coords", coords)):
        assert_mean_equals(getattr(m, field), np.full(N, e), atol=_atol(getattr(m, field)))


def test_induced_cost_is_sum_of_parts():
    c = induced(top_k(3), rand_k(4))
    assert c.expected_cost(D, N) == (3 * (32 + 4) + 4 * (32 + 4), 3 * 32 + 4 * 32, 7)
    assert c.unbiased and c.independent and c.ab(D, N) == (c.omega(D, N) / N, 0.0)


def test_induced_equality_with_test_operators():
    # C = identity (B(1), δ = 1) ⇒ the output is x exactly; C = TopK(d) likewise.
    X = _input()
    for C in (identity(), top_k(D)):
        m = fast_jit(induced(C, rand_k(2)).__call__)(jax.random.key(0), X)
        np.testing.assert_allclose(m.values, X, rtol=1e-12)
        assert induced(C, rand_k(2)).omega(D, N) == 0.0


def test_scaled_delta_equality():
    X, out = _samples()
    c, m = COMPS["scaled-rand_k"], out["scaled-rand_k"]
    w = rand_k(3).omega(D, N)
    assert c.delta(D) == pytest.approx(1 / (1 + w)) and c.delta_n(D, N) == c.delta(D)
    # rand_k is ω-tight, so E‖C/(1+ω) − x‖² = (1 − δ)‖x‖² exactly.
    assert_mean_equals(_err(m.values, X), (1 - c.delta(D)) * (X**2).sum(-1))
    assert c.expected_cost(D, N) == rand_k(3).expected_cost(D, N)
    assert c.omega(D, N) is None and not c.unbiased


def test_scaled_correlated_needs_n():
    s = scaled(perm_k())
    assert s.delta(D) is None and s.delta_n(D, N) == pytest.approx(1 / N)
    assert scaled(perm_k(), omega=N - 1.0).delta(D) == pytest.approx(1 / N)
    x = _input()[0]
    # PermK on a common input: (1/n)Σ_i C_i(x) = x, so the scaled mean is x/n
    m = fast_jit(s.__call__)(jax.random.key(1), jnp.broadcast_to(x, (N, D)))
    np.testing.assert_allclose(m.values.mean(0), x / N, rtol=1e-12)


def test_compose_still_works():
    c = compose(natural(), perm_k())
    assert c.omega(100, 3) == pytest.approx(9 * 3 / 8 - 1)


# ---------------------------------------------------------------- PermK+CQ


@pytest.mark.parametrize("name", ["pkcq-b1", "pkcq-b2", "pkcq-b4"])
def test_perm_k_cq_unbiased_and_omega(name):
    X, out = _samples()
    c, m = COMPS[name], out[name]
    assert_mean_equals(m.values, X, atol=_atol(m.values))  # each worker
    assert_mean_equals(m.values.mean(1), X.mean(0), atol=_atol(m.values))  # the aggregate
    assert c.omega(D, N) == D - 1
    assert_mean_equals(_err(m.values, X), (D - 1) * (X**2).sum(-1))  # s = 1: exact
    b = c.b
    assert c.expected_cost(D, N) == (D / b + 32, D / b + 32, D / b + 1)
    np.testing.assert_array_equal(m.bits, D / b + 32)
    np.testing.assert_array_equal(m.coords, D / b + 1)
    # the paper constant, documented, not a bound
    assert c.ab(D, N) == (b * D / (4 * N**2), 0.0)


def test_perm_k_cq_b1_is_cq():
    X = _input()
    key = jax.random.key(5)
    m = fast_jit(perm_k_cq(1).__call__)(key, X)
    ref = fast_jit(cq().__call__)(jax.random.split(key)[0], X)
    np.testing.assert_array_equal(m.values, ref.values)
    # in distribution, with independent keys: first and second moments of the aggregate error
    Xn, out = _samples()
    abar = Xn.mean(0)
    e1 = ((out["pkcq-b1"].values.mean(1) - abar) ** 2).sum(-1)
    e2 = ((out["cq"].values.mean(1) - abar) ** 2).sum(-1)
    (m1, s1), (m2, s2) = mean_and_se(e1), mean_and_se(e2)
    assert abs(m1 - m2) <= Z * np.hypot(s1, s2)
    v1, v2 = out["pkcq-b1"].values, out["cq"].values
    mu1, se1 = mean_and_se(v1)
    mu2, se2 = mean_and_se(v2)
    assert (np.abs(mu1 - mu2) <= Z * np.hypot(se1, se2) + 1e-12).all()


@pytest.mark.parametrize(("b", "n", "d"), [(2, 4, 12), (3, 6, 12), (4, 8, 8)])
def test_perm_k_cq_block_structure(b, n, d):
    X = jnp.asarray(np.random.default_rng(3).normal(size=(n, d)))
    keys = jax.random.split(jax.random.key(2), 50)
    vals = np.asarray(fast_jit(jax.vmap(lambda k: perm_k_cq(b)(k, X).values))(keys))
    S = vals != 0  # s = 1: kept values are ±b‖x_S‖ ≠ 0
    assert (S.sum(-1) == d // b).all()  # each worker keeps d/b coordinates
    assert (S.sum(-2) == n // b).all()  # each coordinate owned by n/b workers
    overlap = np.einsum("kid,kjd->kij", S.astype(int), S.astype(int))
    # rows are identical (same group) or disjoint: a permuted block-diagonal matrix
    assert np.isin(overlap, (0, d // b)).all()
    assert ((overlap == d // b).sum(-1) == n // b).all()
    # every (worker, coordinate) pair is owned in some draw: the permutation is random
    assert S.any(0).all()


def test_perm_k_cq_bad_b():
    with pytest.raises(ValueError, match=r"b=3.*n=4.*d=12"):
        perm_k_cq(3)(jax.random.key(0), jnp.ones((4, 12)))
    with pytest.raises(ValueError, match=r"b=2.*n=4.*d=7"):
        perm_k_cq(2)(jax.random.key(0), jnp.ones((4, 7)))
    with pytest.raises(ValueError, match="b=0"):
        perm_k_cq(0)


# ---------------------------------------------------------------- ISCC


@pytest.mark.parametrize("name", ["iscc-t1", "iscc-t3"])
def test_iscc_unbiased_and_weighted_ab_equality(name):
    X, out = _samples()
    c, m = COMPS[name], out[name]
    q = np.asarray(Q_W)
    abar = X.mean(0)
    S = m.values.mean(1)  # (M, d): the server's aggregate = S(a)
    assert_mean_equals(S, abar, atol=_atol(S))
    assert_mean_equals(m.values, X, atol=_atol(m.values))  # every row unbiased too
    A, B, w = c.weighted_ab(D, N)
    assert w == Q_W
    assert pytest.approx(((rand_k(3).omega(D, N) + 1) / c.tau, 1 / c.tau)) == (A, B)
    rhs = A * ((X**2).sum(-1) / (N * q)).mean() - B * (abar**2).sum()
    assert_mean_equals(((S - abar) ** 2).sum(-1), rhs)  # equality: rand_k is ω-tight
    # cost: τq_i base messages per worker in expectation; undrawn clients send nothing
    per_worker = np.asarray(c.expected_cost_per_worker(D, N))
    for k, field in enumerate(("bits", "bits_noidx", "coords")):
        assert_mean_equals(getattr(m, field), per_worker[:, k])
    assert (m.coords.sum(-1) == c.tau * 3).all()  # exactly τ messages of 3 coordinates
    assert ((m.coords == 0) == (np.abs(m.values).sum(-1) == 0)).all()


def test_iscc_bad_parameters():
    with pytest.raises(ValueError, match="sum to 1"):
        iscc(rand_k(2), weights=(0.5, 0.4))
    with pytest.raises(ValueError, match="positive"):
        iscc(rand_k(2), weights=(1.5, -0.5))
    with pytest.raises(ValueError, match="tau=0"):
        iscc(rand_k(2), tau=0)
    with pytest.raises(ValueError, match="weights has 2 entries.*n=3"):
        iscc(rand_k(2), weights=(0.5, 0.5))(jax.random.key(0), jnp.ones((3, 6)))
    with pytest.raises(ValueError, match="base=top_k"):
        iscc(top_k(2))


def test_combinator_bad_parameters():
    with pytest.raises(ValueError, match="C=rand_k"):
        induced(rand_k(2), rand_k(2))  # RandK has no δ
    with pytest.raises(ValueError, match="Q=top_k"):
        induced(top_k(2), top_k(2))
    with pytest.raises(ValueError, match="C=top_k"):
        scaled(top_k(2))
    with pytest.raises(ValueError, match="omega=1.0"):
        scaled(rand_k(3), omega=1.0)(jax.random.key(0), jnp.ones((2, 12)))  # ω = 3 > 1
