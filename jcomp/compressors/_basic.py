"""Identity and random sparsification with private supports (RandK)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._base import Compressor, Message, check_int, index_bits, lift_independent, register

__all__ = ["Identity", "RandK", "identity", "rand_k", "random_subset_mask"]


def random_subset_mask(key: jax.Array, d: int, k: int, dtype=jnp.float32) -> jax.Array:
    """0/1 vector of length ``d`` with ``k`` ones on a uniform random k-subset.

    The indices of the ``k`` largest of ``d`` i.i.d. 32-bit random integers form a uniform
    k-subset (exchangeability), up to ties among the keys (probability below ``d²/2³³`` per
    call, 2⁹ times rarer than with float32 uniforms). ``lax.top_k`` avoids the full sort that
    ``jax.random.choice(replace=False)`` performs, which is slow on CPU. The keys are raw bits,
    so the subset does not depend on whether x64 is enabled.
    """
    _, idx = jax.lax.top_k(jax.random.bits(key, (d,), jnp.uint32), k)
    return jnp.zeros((d,), dtype).at[idx].set(1)


@register
class Identity(Compressor):
    """``C(x) = x``: U(0), B(1); sends d floats (32d bits)."""

    name = "identity"
    unbiased = True

    def _compress(self, key, X):
        n, d = X.shape
        full = jnp.full((n,), self.float_bits * d, X.dtype)
        return Message(X, full, full, jnp.full((n,), d, X.dtype))

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
