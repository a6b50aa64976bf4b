"""Identity and random sparsification with private supports (RandK)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._base import Compressor, check_int, index_bits, lift_independent, register
from ._topk import top_k_bits_mask

__all__ = ["Identity", "RandK", "identity", "rand_k", "random_subset_mask"]


def _floyd_subset(key: jax.Array, d: int, m: int) -> jax.Array:
    """Indices (m,) of a uniform m-subset of ``[d]`` by Floyd's algorithm (Bentley & Floyd 1987):
    for j = d−m, ..., d−1 draw t uniform in ``[0, j]`` and take t, or j if t is already taken.
    Exactly uniform given uniform t (``jax.random.randint``); O(m) random numbers, O(m²)
    comparisons."""
    t = jax.random.randint(key, (m,), 0, jnp.arange(d - m, d) + 1)

    def take(j, chosen):
        tj = t[j]
        return chosen.at[j].set(jnp.where(jnp.any(chosen == tj), d - m + j, tj))

    return jax.lax.fori_loop(0, m, take, jnp.full((m,), -1, t.dtype))


#: Floyd's algorithm (O(m²) work per worker, independent of d) is used while m = min(k, d − k) is
#: at most this or m² ≤ FLOYD_PER_D·d; above, the top m of d random 32-bit keys (O(d) work).
#: Measured, 100 workers: d = 10⁵, m = 1000: Floyd 128 ms, keys 377 ms; d = 10⁴, m = 300:
#: Floyd 7.6 ms, keys 33 ms; d = 10⁴, m = 2000: Floyd 231 ms.
FLOYD_MAX = 256
FLOYD_PER_D = 16


def random_subset_mask(key: jax.Array, d: int, k: int, dtype=jnp.float32) -> jax.Array:
    """0/1 vector of length ``d`` with ``k`` ones on a uniform random k-subset.

    With ``m = min(k, d − k)`` (the complement is drawn when k > d/2):

    * ``m ≤ FLOYD_MAX`` or ``m² ≤ FLOYD_PER_D·d``: Floyd's algorithm (:func:`_floyd_subset`),
      exact;
    * otherwise the ``m`` largest of ``d`` i.i.d. 32-bit random integers (exact up to ties,
      probability below ``d²/2³³`` per call), found by :func:`~._topk.top_k_bits_mask` (XLA's
      CPU ``top_k`` is fast only for float32: float32 candidates, exact integer selection).

    Both avoid ``jax.random.choice(replace=False)``'s full sort of floats. Measured on this
    2-core CPU, 100 workers, d = 300, k = 3: Floyd 0.19 ms per call, ``top_k`` of float32
    uniforms 0.39 ms, ``top_k`` of uint32 or float64 keys 4.2 ms (XLA's CPU top_k is fast only
    for float32, whose 24-bit resolution would tie 2⁸ times more often).
    """
    if k == d:
        return jnp.ones((d,), dtype)
    m = min(k, d - k)
    if m <= FLOYD_MAX or m * m <= FLOYD_PER_D * d:
        chosen = jnp.zeros((d,), dtype).at[_floyd_subset(key, d, m)].set(1)
    else:
        chosen = top_k_bits_mask(jax.random.bits(key, (d,), jnp.uint32), m).astype(dtype)
    return chosen if m == k else 1 - chosen


@register
class Identity(Compressor):
    """``C(x) = x``: U(0), B(1); sends d floats (32d bits)."""

    name = "identity"
    linear_shared = True
    unbiased = True

    def _compress(self, key, X):
        return self._fixed_size_message(X)

    def value_bits(self):
        return float(self.float_bits)

    def omega(self, d, n):
        return 0.0

    def delta(self, d):
        return 1.0

    def theta(self, d, n):
        return 0.0

    def ab(self, d, n):
        return (0.0, 0.0)

    def expected_cost(self, d, n):
        return (self.float_bits * d, self.float_bits * d, d)


@register
class RandK(Compressor):
    """RandK: K coordinates uniformly without replacement, scaled by d/K; independent workers.

    U(d/K − 1) with equality; independent collection A = ω/n, B = 0, θ = ω/n.
    Message: K values and their indices, ``K(32 + ⌈log₂d⌉)`` bits (indices charged).
    """

    k: int
    name = "rand_k"
    unbiased = True

    def validate(self, d, n):
        check_int("k", self.k, 1, d, where="rand_k: ")

    def _compress(self, key, X):
        d = X.shape[1]
        k = self.k

        def rule(key_i, x):
            values = random_subset_mask(key_i, d, k, x.dtype) * x * (d / k)
            bits = k * (self.float_bits + index_bits(d))
            return values, jnp.asarray(bits), jnp.asarray(k * self.float_bits), jnp.asarray(k)

        return lift_independent(rule, key, X)

    def omega(self, d, n):
        return d / self.k - 1.0

    def expected_cost(self, d, n):
        return (self.k * (self.float_bits + index_bits(d)), self.k * self.float_bits, self.k)


def identity() -> Identity:
    """The identity compressor (no compression)."""
    return Identity()


def rand_k(k: int) -> RandK:
    """Independent RandK with ``k`` kept coordinates per worker (``1 ≤ k ≤ d``)."""
    return RandK(check_int("k", k, 1, where="rand_k: "))
