"""The K-subset sampler behind RandK and SameRandK is uniform (both of its methods)."""

import itertools

import jax
import numpy as np
import pytest
from mc import assert_mean_equals
from scipy.stats import chisquare

from jcomp.compressors._basic import FLOYD_MAX, random_subset_mask


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
