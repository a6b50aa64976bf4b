"""top_k_mask makes exactly lax.top_k's choice (the k largest |x|, ties: lower index first)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jcomp.compressors._topk import CANDIDATE_MARGIN, radix_top_k_mask, top_k_mask


def reference(X, k):
    """The mask of ``lax.top_k(|X|, k)``'s indices (its own tie rule)."""
    _, idx = jax.lax.top_k(jnp.abs(X), k)
    rows = np.arange(X.shape[0])[:, None]
    mask = np.zeros(X.shape, bool)
    mask[rows, np.asarray(idx)] = True
    return mask


def hard_rows(d, seed):
    """Rows that stress every branch: continuous, zeros, exact duplicates at the threshold,
    values equal in float32 but distinct in float64 (more than the candidate margin), signs."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(8, d))
    X[1, : d // 2] = 0.0  # many exact zeros
    X[2] = 0.0  # all zero: the first k indices
    X[3, ::3] = X[3, 0]  # exact duplicates
    X[4] = 1.0 + rng.integers(0, 40, d) * 1e-12  # crowded: one float32 value, distinct float64
    X[5] = -X[5]
    X[6, : CANDIDATE_MARGIN + 4] = 2.0 + np.arange(CANDIDATE_MARGIN + 4)[::-1] * 1e-13
    X[7] = np.where(rng.uniform(size=d) < 0.5, 1.0, -1.0)  # ± equal magnitudes
    return X


@pytest.mark.parametrize("d,k", [(40, 1), (40, 7), (40, 20), (40, 39), (40, 40), (300, 30)])
@pytest.mark.parametrize("fn", [top_k_mask, radix_top_k_mask])
def test_same_choice_as_lax_top_k(d, k, fn):
    X = jnp.asarray(np.concatenate([hard_rows(d, seed) for seed in range(3)]))  # rows independent
    jitted = jax.jit(fn, static_argnums=1)
    got = np.asarray(jitted(X, k))
    np.testing.assert_array_equal(got, reference(X, k))
    X32 = X.astype(jnp.float32)
    np.testing.assert_array_equal(np.asarray(jitted(X32, k)), reference(X32, k))
    if (d, k) == (40, 7):  # eager = jit (op by op: slow, so on one shape)
        np.testing.assert_array_equal(np.asarray(fn(X, k)), got)


def test_crowded_row_takes_the_exact_fallback():
    """Row 4 has 40 values that share one float32 value: the candidate path cannot decide it,
    so the cond falls back to the radix select, which must still match lax.top_k."""
    X = jnp.asarray(hard_rows(300, 0)[4:5])
    X = X.at[0, 150:].set(0.5)
    for k in (3, 25, 100):
        got = jax.jit(top_k_mask, static_argnums=1)(X, k)
        np.testing.assert_array_equal(np.asarray(got), reference(X, k))


def test_under_vmap_and_batched_rows():
    """Sweeps vmap the whole step: the cond becomes a select, the answer must not change."""
    Xs = jnp.asarray(np.stack([hard_rows(60, s) for s in range(4)]))
    got = jax.jit(jax.vmap(lambda X: top_k_mask(X, 9)))(Xs)
    for b in range(4):
        np.testing.assert_array_equal(np.asarray(got[b]), reference(Xs[b], 9))
