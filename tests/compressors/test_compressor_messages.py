"""Message contract: determinism in the key, realized bit counts, jit behaviour, worker keys."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jcomp import compressors as C

# Compile without LLVM optimizations where only the values matter (4x faster on CPU).
fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

D, N = 300, 5  # ⌈log₂ 300⌉ = 9 index bits
NAT = C.natural()

COMPRESSORS = {
    "identity": C.identity(),
    "rand_k": C.rand_k(3),
    "top_k": C.top_k(4),
    "same_rand_k": C.same_rand_k(3),
    "perm_k": C.perm_k(),
    "natural": NAT,
    "nat∘rand_k": C.compose(NAT, C.rand_k(3)),
    "nat∘perm_k": C.compose(NAT, C.perm_k()),
    "nat∘top_k": C.compose(NAT, C.top_k(4)),
}
RANDOM = [k for k in COMPRESSORS if k not in ("identity", "top_k")]
INDEPENDENT = [k for k, c in COMPRESSORS.items() if c.independent]


def _X(n=N, d=D, dtype=jnp.float64, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(n, d)), dtype)


def _equal(m1, m2):
    for a, b in zip(m1, m2, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", list(COMPRESSORS))
def test_same_key_same_message(name):
    c, X, key = COMPRESSORS[name], _X(), jax.random.key(7)
    f = jax.jit(lambda k, X: c(k, X))  # eager = jit: test_jit_matches_eager_and_does_not_recompile
    _equal(f(key, X), f(key, X))


@pytest.mark.parametrize("name", RANDOM)
def test_different_key_different_message(name):
    c, X = COMPRESSORS[name], _X()
    f = jax.jit(lambda k, X: c(k, X).values)
    a, b = np.asarray(f(jax.random.key(1), X)), np.asarray(f(jax.random.key(2), X))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", list(COMPRESSORS))
def test_jit_matches_eager_and_does_not_recompile(name):
    c, X = COMPRESSORS[name], _X()
    f = jax.jit(lambda key, X: c(key, X))
    for seed in (1, 2):
        key = jax.random.key(seed)
        eager, jitted = c(key, X), f(key, X)
        for a, b in zip(eager, jitted, strict=True):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12, atol=0)
    assert f._cache_size() == 1


def test_compressor_is_a_static_jit_argument():
    f = jax.jit(lambda comp, key, X: comp(key, X).values)
    X = _X()
    f(C.rand_k(3), jax.random.key(0), X)
    f(C.rand_k(3), jax.random.key(1), X)  # an equal (hashable) config: no recompilation
    assert f._cache_size() == 1
    f(C.rand_k(4), jax.random.key(1), X)
    assert f._cache_size() == 2


@pytest.mark.parametrize("name", INDEPENDENT)
def test_independent_rows_use_worker_keys(name):
    # Row i depends only on fold_in(key, i) and x_i: dropping workers changes nothing else.
    c, X, key = COMPRESSORS[name], _X(), jax.random.key(9)
    f = jax.jit(lambda k, X: c(k, X))
    full, head = f(key, X), f(key, X[:3])
    for a, b in zip(full, head, strict=True):
        np.testing.assert_array_equal(np.asarray(a)[:3], np.asarray(b))


def test_correlated_flags():
    assert not C.perm_k().independent and not C.same_rand_k(3).independent
    assert not C.compose(NAT, C.perm_k()).independent
    assert C.compose(NAT, C.rand_k(2)).independent


def test_same_rand_k_shares_one_support():
    X = _X()
    m = C.same_rand_k(3)(jax.random.key(0), X)
    own = np.asarray(m.values != 0)
    assert (own == own[0]).all() and own[0].sum() == 3
    np.testing.assert_allclose(np.asarray(m.values)[own], (D / 3 * np.asarray(X))[own], rtol=1e-15)
    u = C.same_rand_k(3, scaled=False)(jax.random.key(0), X)
    np.testing.assert_array_equal(np.asarray(u.values)[own], np.asarray(X)[own])


def test_top_k_keeps_largest_and_ties_lower_index_first():
    X = jnp.asarray([[0.5, -3.0, 2.0, 0.1, -2.0, 2.0]])
    m = C.top_k(3)(jax.random.key(0), X)
    np.testing.assert_array_equal(np.asarray(m.values), [[0, -3.0, 2.0, 0, -2.0, 0]])
    # deterministic contraction ‖C(x) − x‖² ≤ (1 − K/d)‖x‖² on many random inputs
    Y = _X(n=200, d=20, seed=3)
    v = C.top_k(5)(jax.random.key(0), Y).values
    err = np.asarray(((v - Y) ** 2).sum(1))
    assert (err <= (1 - 5 / 20) * np.asarray((Y**2).sum(1)) * (1 + 1e-12)).all()


ib = 9  # index bits for d = 300
COSTS = {  # (bits, bits_noidx, coords) of each realized message at d = 300
    "identity": (32 * D, 32 * D, D),
    "rand_k": (3 * (32 + ib), 3 * 32, 3),
    "top_k": (4 * (32 + ib), 4 * 32, 4),
    "same_rand_k": (3 * 32, 3 * 32, 3),
    "natural": (9 * D, 9 * D, D),
    "nat∘rand_k": (3 * (9 + ib), 27, 3),
    "nat∘top_k": (4 * (9 + ib), 36, 4),
}


@pytest.mark.parametrize("name", list(COSTS))
def test_realized_cost_formulas(name):
    m = COMPRESSORS[name](jax.random.key(0), _X())
    for field, e in zip(("bits", "bits_noidx", "coords"), COSTS[name], strict=True):
        np.testing.assert_array_equal(np.asarray(getattr(m, field)), np.full(N, e), err_msg=field)
    assert COMPRESSORS[name].expected_cost(D, N) == COSTS[name]


@pytest.mark.parametrize(("d", "n"), [(300, 5), (302, 5), (4, 10)])
def test_realized_cost_compose_perm_k(d, n):
    X = _X(n=n, d=d)
    key = jax.random.key(3)
    both = fast_jit(
        lambda key, X: (
            C.compose(NAT, C.perm_k())(key, X),
            C.perm_k()(jax.random.split(key)[0], X),  # compose gives the inner key_inner
        )
    )
    m, inner = both(key, X)
    nnz = np.asarray(inner.values != 0).sum(1)
    np.testing.assert_array_equal(np.asarray(m.coords), nnz)
    np.testing.assert_array_equal(np.asarray(m.bits), 9 * nnz)
    np.testing.assert_array_equal(np.asarray(m.bits_noidx), 9 * nnz)
    # the outer keeps the support (C_nat maps 0 to 0 and nonzeros to nonzeros)
    np.testing.assert_array_equal(np.asarray(m.values != 0), np.asarray(inner.values != 0))


def test_float_bits_option():
    c = C.get("rand_k", k=3, float_bits=16)
    m = c(jax.random.key(0), _X())
    np.testing.assert_array_equal(np.asarray(m.bits), 3 * (16 + ib))
    np.testing.assert_array_equal(np.asarray(m.bits_noidx), 3 * 16)


@pytest.mark.parametrize("name", list(COMPRESSORS))
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_dtype_follows_input(name, dtype):
    m = jax.eval_shape(COMPRESSORS[name], jax.random.key(0), _X(dtype=dtype))
    for a in m:
        assert a.dtype == dtype
