"""Sparsifiers: TopK (greedy, private support) and SameRandK (one shared random support)."""

from __future__ import annotations

import jax.numpy as jnp

from ._base import Compressor, check_int, index_bits, register
from ._basic import random_subset_mask
from ._topk import top_k_mask

__all__ = ["SameRandK", "TopK", "same_rand_k", "top_k"]


@register
class TopK(Compressor):
    """TopK: each worker keeps its K largest ``|x_j|``, unscaled (deterministic, biased).

    Rule: keep the indices returned by ``lax.top_k(|x|, K)`` (ties: lower index first), zero
    the rest (computed by :func:`~jcomp.compressors._topk.top_k_mask`, which makes the same
    choice 20–30× faster than ``lax.top_k`` in float64 on CPU). Class: B(K/d), since the
    d − K dropped entries are the smallest,
    ``‖C(x) − x‖² ≤ (1 − K/d)‖x‖²`` for every x. Not unbiased: no ω, θ or (A, B).
    Message: K values and their indices, ``K(32 + ⌈log₂d⌉)`` bits (indices charged: the support
    depends on the data); ``bits_noidx = 32K``; ``coords = K``.
    Source: Stich et al. 2018 (Sparsified SGD with memory); spec ALGORITHMS.md §4.
    """

    k: int
    name = "top_k"
    unbiased = False
    independent = True  # no randomness at all; row i depends only on x_i

    def validate(self, d, n):
        check_int("k", self.k, 1, d, where="top_k: ")

    def _compress(self, key, X):
        mask = top_k_mask(X, self.k)  # (n, d): lax.top_k's choice, fast in float64 too
        values = jnp.where(mask, X, jnp.zeros((), X.dtype))
        return self._fixed_size_message(values)

    def delta(self, d):
        return self.k / d

    def theta(self, d, n):
        return None

    def ab(self, d, n):
        return None

    def expected_cost(self, d, n):
        return (self.k * (self.float_bits + index_bits(d)), self.k * self.float_bits, self.k)


@register
class SameRandK(Compressor):
    """SameRandK: one uniform K-subset drawn from the shared key, used by every worker.

    Rule: ``C(x) = (d/K)·x ⊙ 1_S`` with S a uniform K-subset of [d] drawn from ``key`` itself (not
    folded per worker), so ``C`` is one linear map shared by all workers and
    ``(1/n)Σ_i C(a_i) = C(ā)``. ``scaled=False`` drops the d/K factor (the contractive
    synchronized compressor of seed 001 Alg. 5–6).
    Class (scaled): U(d/K − 1) with equality; correlated, so θ = ω (equality on a common input)
    and (A, B) = (ω, 0) (seed 003 Prop. 1). Unscaled: B(K/d) with equality.
    Message: K values, ``32K`` bits; the indices are free (the receiver regenerates S from the
    shared key); ``coords = K``.
    Source: seed 004 (MARINA-P, Gruntkowska et al. 2024) and seed 001 (synchronized linear
    compressors); spec ALGORITHMS.md §4.
    """

    k: int
    scaled: bool = True
    name = "same_rand_k"
    linear_shared = True
    independent = False

    @property
    def unbiased(self):  # type: ignore[override]
        return self.scaled

    def validate(self, d, n):
        check_int("k", self.k, 1, d, where="same_rand_k: ")

    def _compress(self, key, X):
        n, d = X.shape
        mask = random_subset_mask(key, d, self.k, X.dtype)  # (d,), shared by all workers
        scale = d / self.k if self.scaled else 1.0
        values = X * (mask * scale)[None, :]
        return self._fixed_size_message(values)

    def omega(self, d, n):
        return d / self.k - 1.0 if self.scaled else None

    def delta(self, d):
        return None if self.scaled else self.k / d

    def expected_cost(self, d, n):
        return (self.k * self.float_bits, self.k * self.float_bits, self.k)


def top_k(k: int) -> TopK:
    """TopK keeping the ``k`` largest-magnitude coordinates per worker (``1 ≤ k ≤ d``)."""
    return TopK(check_int("k", k, 1, where="top_k: "))


def same_rand_k(k: int, scaled: bool = True) -> SameRandK:
    """SameRandK: one shared uniform ``k``-subset for all workers, scaled by d/k by default."""
    if not isinstance(scaled, bool):
        raise ValueError(f"same_rand_k: scaled={scaled!r} is not allowed: expected True or False")
    return SameRandK(check_int("k", k, 1, where="same_rand_k: "), scaled)
