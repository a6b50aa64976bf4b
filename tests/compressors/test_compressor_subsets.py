"""The K-subset sampler behind RandK and SameRandK is uniform (both of its methods)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_equals
from scipy.stats import chisquare

from jcomp.compressors._basic import FLOYD_MAX, FLOYD_PER_D, random_subset_mask
from jcomp.compressors._topk import top_k_bits_mask


@pytest.mark.parametrize("d, k", [(5, 1), (5, 2), (5, 4), (6, 3), (7, 7)])
def test_every_k_subset_equally_likely(d, k):
    """Chi-square over all C(d, k) subsets; p-value floor 1e-6 (fixed key)."""
    draws = 60_000
    keys = jax.random.split(jax.random.key(11), draws)
    masks = np.asarray(jax.vmap(lambda kk: random_subset_mask(kk, d, k))(keys))
    assert np.all(masks.sum(axis=1) == k) and set(np.unique(masks)) <= {0.0, 1.0}
    codes = masks @ (2 ** np.arange(d))
    subsets = [sum(2**i for i in c) for c in itertools.combinations(range(d), k)]
    counts = np.array([np.sum(codes == s) for s in subsets])
    assert counts.sum() == draws  # nothing outside the k-subsets
    if len(subsets) > 1:
        assert chisquare(counts).pvalue > 1e-6


def test_large_k_branch_has_uniform_marginals():
    d, k = 2 * FLOYD_MAX + 40, FLOYD_MAX + 10  # min(k, d - k) > FLOYD_MAX: top_k branch
    keys = jax.random.split(jax.random.key(2), 4000)
    masks = np.asarray(jax.vmap(lambda kk: random_subset_mask(kk, d, k))(keys))
    assert np.all(masks.sum(axis=1) == k)
    assert_mean_equals(masks, np.full(d, k / d))


def test_floyd_covers_moderate_k_on_long_vectors():
    """m = 300 > FLOYD_MAX but m² ≤ FLOYD_PER_D·d: Floyd's branch, still uniform marginals."""
    d, k = 6000, 300
    assert k > FLOYD_MAX and k * k <= FLOYD_PER_D * d
    keys = jax.random.split(jax.random.key(5), 2000)
    masks = np.asarray(jax.vmap(lambda kk: random_subset_mask(kk, d, k))(keys))
    assert np.all(masks.sum(axis=1) == k)
    assert_mean_equals(masks, np.full(d, k / d))


def test_key_branch_is_the_top_k_of_the_random_bits():
    """The large-m branch picks exactly lax.top_k's m largest of the same 32-bit keys."""
    d, k = 2 * FLOYD_MAX + 40, FLOYD_MAX + 10
    for seed in range(5):
        key = jax.random.key(seed)
        bits = jax.random.bits(key, (d,), jnp.uint32)
        _, idx = jax.lax.top_k(bits, k)
        expect = np.zeros(d)
        expect[np.asarray(idx)] = 1
        np.testing.assert_array_equal(np.asarray(random_subset_mask(key, d, k)), expect)
    bits = jnp.asarray(np.r_[np.full(30, 2**32 - 1), np.arange(300)].astype(np.uint32))
    _, idx = jax.lax.top_k(bits, 20)  # ties at the top: lower index first
    expect = np.zeros(330, bool)
    expect[np.asarray(idx)] = True
    np.testing.assert_array_equal(np.asarray(top_k_bits_mask(bits, 20)), expect)
