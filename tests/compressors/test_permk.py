"""PermK: exact mean identity, ownership structure and block sizes in both regimes (float64)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_equals

from jcomp import compressors as C

# Compile Monte Carlo programs without LLVM optimizations: 4x faster to compile on CPU, the
# sampled values do not change, and compiling (not running) dominates these tests.
fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

# (d, n): n | d, n ∤ d, d = n, n = 1, large; d < n with r = 0 and r > 0, d = 1
SHAPES_GE = [(12, 3), (12, 5), (7, 7), (9, 1), (300, 7), (1050, 100)]
SHAPES_LT = [(4, 8), (4, 10), (4, 11), (1, 5), (300, 1000)]
N_KEYS = 16


def _inputs(d, n):
    rng = np.random.default_rng(d * 7919 + n)
    common = np.broadcast_to(rng.normal(size=d), (n, d))
    het = rng.normal(size=(n, d))
    # no zero entries, so nonzero outputs mark ownership
    return tuple(jnp.asarray(np.where(X == 0, 1.0, X)) for X in (common, het))


@functools.cache
def _all_messages():
    """PermK messages for every shape, N_KEYS keys each, from one compiled program."""
    shapes = SHAPES_GE + SHAPES_LT
    inputs = [_inputs(d, n) for d, n in shapes]
    keys = jax.random.split(jax.random.key(0), N_KEYS)
    perm = C.perm_k()

    def one_key(key, inputs):
        return [(perm(key, common), perm(key, het)) for common, het in inputs]

    out = fast_jit(jax.vmap(one_key, in_axes=(0, None)))(keys, inputs)
    return {
        shape: (np.asarray(inp[0]), np.asarray(inp[1]), jax.tree.map(np.asarray, o))
        for shape, inp, o in zip(shapes, inputs, out, strict=True)
    }


def _messages(d, n, common):
    c, h, (mc, mh) = _all_messages()[(d, n)]
    return (c, mc) if common else (h, mh)


@pytest.mark.parametrize(("d", "n"), SHAPES_GE + SHAPES_LT)
def test_mean_is_exact(d, n):
    X, m = _messages(d, n, common=True)
    x = X[0]
    for values in m.values:
        np.testing.assert_allclose(values.mean(0), x, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("d", "n"), SHAPES_GE)
def test_partition_d_ge_n(d, n):
    X, m = _messages(d, n, common=False)
    q, r = divmod(d, n)
    for values, bits, bits_noidx, coords in zip(
        m.values, m.bits, m.bits_noidx, m.coords, strict=True
    ):
        own = values != 0
        assert (own.sum(0) == 1).all()  # every coordinate owned by exactly one worker
        sizes = own.sum(1)
        assert set(np.unique(sizes)) <= {q, q + 1}
        assert (sizes == q + 1).sum() == r  # the first d mod n blocks get one more coordinate
        np.testing.assert_array_equal(values[own], (n * X)[own])
        np.testing.assert_array_equal(coords, sizes)
        np.testing.assert_array_equal(bits, 32 * sizes)
        np.testing.assert_array_equal(bits_noidx, 32 * sizes)


@pytest.mark.parametrize(("d", "n"), SHAPES_LT)
def test_groups_d_lt_n(d, n):
    X, m = _messages(d, n, common=False)
    q, r = divmod(n, d)
    for values, bits, bits_noidx, coords in zip(
        m.values, m.bits, m.bits_noidx, m.coords, strict=True
    ):
        own = values != 0
        assert (own.sum(0) == q).all()  # every coordinate goes to exactly q workers
        sizes = own.sum(1)
        assert set(np.unique(sizes)) <= {0, 1}
        assert (sizes == 0).sum() == r  # r left-over workers send nothing
        np.testing.assert_allclose(values[own], (n / q * X)[own], rtol=1e-15)
        np.testing.assert_array_equal(coords, sizes)
        np.testing.assert_array_equal(bits, 32 * sizes)
        np.testing.assert_array_equal(bits_noidx, 32 * sizes)


def test_shared_randomness():
    # The partition comes from the shared key: it does not depend on the data.
    X = jnp.asarray(np.random.default_rng(0).normal(size=(5, 12)))
    key = jax.random.key(3)
    a = C.perm_k()(key, X).values != 0
    b = C.perm_k()(key, 2.0 * X + 1.0).values != 0
    np.testing.assert_array_equal(a, b)


def test_assignment_is_uniform():
    # n ∤ d: P(worker i owns coordinate j) = 1/n and P(worker i gets a big block) = (d mod n)/n.
    d, n, m = 7, 3, 20_000
    keys = jax.random.split(jax.random.key(11), m)
    msgs = fast_jit(jax.vmap(C.perm_k(), in_axes=(0, None)))(keys, jnp.ones((n, d)))
    own = np.asarray(msgs.values != 0, dtype=np.float64)  # (m, n, d)
    assert_mean_equals(own, np.full((n, d), 1 / n))
    assert_mean_equals(np.asarray(msgs.coords) == d // n + 1, np.full(n, (d % n) / n))


@pytest.mark.parametrize("m", [1, 2, 5, 300])
def test_uniform_permutation_is_a_permutation(m):
    p = np.asarray(C.uniform_permutation(jax.random.key(m), m))
    assert p.dtype == np.int32
    np.testing.assert_array_equal(np.sort(p), np.arange(m))


def test_uniform_permutation_is_uniform():
    m, samples = 4, 20_000
    keys = jax.random.split(jax.random.key(5), samples)
    perms = np.asarray(fast_jit(jax.vmap(lambda k: C.uniform_permutation(k, m)))(keys))
    onehot = (perms[:, :, None] == np.arange(m)).astype(np.float64)  # (samples, pos, value)
    assert_mean_equals(onehot, np.full((m, m), 1 / m))
    # all 24 orders equally likely
    code = (perms * m ** np.arange(m)).sum(1)
    counts = np.stack([code == c for c in np.unique(code)], 1).astype(np.float64)
    assert counts.shape[1] == 24
    assert_mean_equals(counts, np.full(24, 1 / 24))


def test_float32_follows_input():
    X = jnp.ones((3, 12), jnp.float32)
    m = C.perm_k()(jax.random.key(0), X)
    assert m.values.dtype == jnp.float32 and m.bits.dtype == jnp.float32
    X = jnp.ones((10, 4), jnp.float32)
    m = C.perm_k()(jax.random.key(0), X)
    assert m.values.dtype == jnp.float32 and m.coords.dtype == jnp.float32
