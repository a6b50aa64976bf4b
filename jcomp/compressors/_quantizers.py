"""Quantizers: Bernoulli B_p, standard dithering (QSGD), ternary (TernGrad), natural dithering.

All are independent across workers (worker key ``fold_in(key, i)``, :func:`lift_independent`);
outputs follow the dtype of ``X``. Spec ALGORITHMS.md §4 rows "Bernoulli B_p", "Standard
dithering / QSGD", "Ternary (TernGrad)" and "Natural dithering"; bits per §3.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from ._base import Compressor, check_int, lift_independent, register
from ._encoding import qsgd_elias_bits

__all__ = [
    "NORMS",
    "Bernoulli",
    "Dithering",
    "NaturalDithering",
    "Ternary",
    "bernoulli",
    "dithering",
    "natural_dithering",
    "ternary",
]

#: Norms accepted by the dithering quantizers.
NORMS = ("l2", "linf")


def _check_norm(norm, where: str) -> str:
    if norm not in NORMS:
        raise ValueError(f"{where}norm={norm!r} is not allowed: expected one of {NORMS}")
    return norm


def _norm_and_ratio(x: jax.Array, norm: str) -> tuple[jax.Array, jax.Array]:
    """``(‖x‖_q, |x|/‖x‖_q)``, with ratio 0 for the zero vector; the ratio is clipped to
    ``[0, 1]`` against rounding of ``‖x‖₂``."""
    ax = jnp.abs(x)
    nrm = jnp.sqrt(jnp.sum(ax * ax)) if norm == "l2" else jnp.max(ax)
    pos = nrm > 0
    v = jnp.where(pos, ax / jnp.where(pos, nrm, 1), 0)
    return nrm, jnp.clip(v, 0, 1)


def _dither_levels(u: jax.Array, v: jax.Array, s: int) -> jax.Array:
    """Integer levels ``k ∈ {0..s}``: ``s·v`` rounded down or up, up with probability
    ``frac(s·v)`` (unbiased: ``E k = s·v``)."""
    t = s * v
    lo = jnp.floor(t)
    k = lo + (u < t - lo).astype(t.dtype)
    return jnp.clip(k, 0, s).astype(jnp.int32)


def _dither(key, x, s: int, norm: str):
    """Standard dithering of one row: (values, integer levels)."""
    nrm, v = _norm_and_ratio(x, norm)
    u = jax.random.uniform(key, x.shape, x.dtype)
    k = _dither_levels(u, v, s)
    values = nrm * jnp.sign(x) * (k.astype(x.dtype) / s)
    return values, k


def _linf_dither_omega(d: int, s: int) -> float:
    """ω of standard dithering with the ℓ∞ norm (derived; Alistarh et al. give only ℓ2).

    Per coordinate ``E(C(x)_j − x_j)² = ‖x‖∞² f(1−f)/s²`` with ``t = s|x_j|/‖x‖∞``,
    ``f = frac(t)``, and ``f(1−f) ≤ min(¼, t)``. The coordinate attaining the max has t = s,
    error 0, so the sum runs over the d−1 others (x₋): with v = |x|/‖x‖∞ (‖v‖₂ ≥ 1),
    ``Σ ≤ ‖x‖∞²·min((d−1)/(4s²), ‖v₋‖₁/s)``; ``‖x‖∞² ≤ ‖x‖²`` and
    ``‖x‖∞²‖v₋‖₁ ≤ ‖x‖∞²√(d−1)‖v‖₂ ≤ ‖x‖∞²√(d−1)‖v‖₂² = √(d−1)‖x‖²``. Hence
    ``ω = min((d−1)/(4s²), √(d−1)/s)``.
    """
    m = max(d - 1, 0)
    return min(m / (4 * s * s), math.sqrt(m) / s)


@register
class Bernoulli(Compressor):
    """Bernoulli B_p: each worker sends its whole vector with probability p, else nothing (0).

    Biased (default): ``E‖C(x) − x‖² = (1 − p)‖x‖²``, B(p) with equality. ``unbiased=True``
    sends ``x/p``: U(1/p − 1) with equality; independent collection θ = ω/n, (A, B) = (ω/n, 0).
    One coin per worker (``fold_in(key, i)``). Realized cost: ``coords = d`` and
    ``bits = bits_noidx = 32d`` when sent, 0 otherwise; expected ``p·(32d, 32d, d)``.
    """

    p: float
    # An instance field overriding the base ClassVar (keyword-only: the inherited field keeps the
    # base's position, before ``p``).
    unbiased: bool = dataclasses.field(default=False, kw_only=True)  # type: ignore[misc]
    name = "bernoulli"

    def _compress(self, key, X):
        d = X.shape[1]
        p, fb = self.p, self.float_bits

        def rule(key_i, x):
            keep = jax.random.uniform(key_i, (), x.dtype) < p
            scale = 1 / p if self.unbiased else 1
            values = jnp.where(keep, x * scale, jnp.zeros((), x.dtype))
            bits = jnp.where(keep, fb * d, 0)
            return values, bits, bits, jnp.where(keep, d, 0)

        return lift_independent(rule, key, X)

    def omega(self, d, n):
        return 1 / self.p - 1 if self.unbiased else None

    def delta(self, d):
        return None if self.unbiased else self.p

    def expected_cost(self, d, n):
        b = self.p * self.float_bits * d
        return (b, b, self.p * d)


@register
class Dithering(Compressor):
    """Standard dithering / QSGD (Alistarh et al. 2017) with s levels and the ℓ2 or ℓ∞ norm.

    ``C(x)_j = ‖x‖_q sign(x_j) k_j/s`` where the integer level ``k_j`` rounds ``s|x_j|/‖x‖_q``
    down or up, up with probability its fractional part ``f_j`` (unbiased); ``0 ↦ 0``.
    Exact error ``E‖C(x) − x‖² = ‖x‖_q² Σ_j f_j(1 − f_j)/s²``.
    Class: ℓ2 U(min(d/s², √d/s)) (spec); ℓ∞ U(min((d−1)/(4s²), √(d−1)/s)) (derived, see
    :func:`_linf_dither_omega`); independent collection θ = ω/n, (A, B) = (ω/n, 0).
    Cost: ``coords = d + 1`` (d levels and the norm); ``bits`` = the QSGD/Elias count of the
    realized levels as one block (:func:`qsgd_elias_bits`: 32-bit norm, then per nonzero level
    Elias-ω(gap) + sign + Elias-ω(level)). ``bits_noidx = bits``: the message carries no index
    list; positions are implied by the run-length gaps, which are part of the code itself.
    ``expected_cost`` raises: the bits are data dependent.
    """

    s: int
    norm: str = "l2"
    name = "dithering"
    unbiased = True

    def _compress(self, key, X):
        d = X.shape[1]
        s, norm, fb = self.s, self.norm, self.float_bits

        def rule(key_i, x):
            values, k = _dither(key_i, x, s, norm)
            bits = qsgd_elias_bits(k, float_bits=fb)
            return values, bits, bits, jnp.asarray(d + 1)

        return lift_independent(rule, key, X)

    def omega(self, d, n):
        s = self.s
        if self.norm == "l2":
            return min(d / s**2, math.sqrt(d) / s)
        return _linf_dither_omega(d, s)

    def expected_cost(self, d, n):
        raise NotImplementedError(
            "dithering: expected_cost is data dependent (QSGD/Elias bits depend on the realized "
            "levels); use the realized Message.bits / bits_noidx (coords are always d + 1)"
        )


@register
class Ternary(Compressor):
    """TernGrad (Wen et al. 2017): standard dithering with s = 1 and the ℓ∞ norm, so each entry
    becomes ``‖x‖∞·sign(x_j)·b_j``, ``b_j ~ Bernoulli(|x_j|/‖x‖∞)``.

    Class: U(min((d−1)/4, √(d−1))) (the ℓ∞ dithering bound with s = 1, derived).
    Cost (fixed): ``coords = d + 1``; ``bits = bits_noidx = 32 + 2d`` (a norm and 2 bits per
    ternary entry).
    """

    name = "ternary"
    unbiased = True

    def _compress(self, key, X):
        def rule(key_i, x):
            return _dither(key_i, x, 1, "linf")[0], 0, 0, 0

        values = lift_independent(rule, key, X).values
        return self._fixed_size_message(values)

    def omega(self, d, n):
        return _linf_dither_omega(d, 1)

    def expected_cost(self, d, n):
        b = self.float_bits + 2 * d
        return (b, b, d + 1)


def _natural_dither_magnitude(u: jax.Array, v: jax.Array, s: int) -> jax.Array:
    """Round ``v ∈ [0, 1]`` randomly to a neighbour in ``{0, 2^{1−s}, …, ½, 1}``, unbiased.

    Below ``h = 2^{1−s}``: 0 or h, up with probability v/h. In ``[2^a, 2^{a+1}]`` (``a ≥ 1−s``):
    with ``v = m·2^e`` (``frexp``, m ∈ [½, 1)), ``2^a = 2^{e−1}`` and the probability of rounding
    up is ``(v − 2^a)/2^a = 2m − 1`` (exact), so levels map to themselves.
    """
    h = jnp.ldexp(jnp.ones((), v.dtype), 1 - s)
    m, e = jnp.frexp(v)
    low = jnp.ldexp(jnp.full_like(v, 0.5), e)
    big = jnp.where(u < 2 * m - 1, 2 * low, low)
    small = jnp.where(u < v / h, h, jnp.zeros((), v.dtype))
    return jnp.minimum(jnp.where(v >= h, big, small), 1)


@register
class NaturalDithering(Compressor):
    """Natural dithering (Horváth et al. 2019): dithering with the levels
    ``{0, 2^{1−s}, …, ½, 1}`` (s + 1 levels) and the ℓ2 or ℓ∞ norm.

    ``C(x)_j = ‖x‖_q sign(x_j) ℓ_j`` where ``ℓ_j`` rounds ``|x_j|/‖x‖_q`` randomly (unbiased)
    to one of its two neighbouring levels; ``0 ↦ 0``.
    Class: ``U(1/8 + d^{1/r}2^{1−s}·min(1, d^{1/r}2^{1−s}))`` with ``r = min(q, 2)`` (Horváth et
    al., Thm. 3.3/C.3), so ``d^{1/r} = √d`` for both norms. Using ``d^{1/∞} = 1`` for ℓ∞ would
    be wrong: x = (1, h/2, …, h/2) with h = 2^{1−s} has error ratio → 1 as d grows (tested).
    Cost (fixed): ``coords = d + 1``; ``bits = bits_noidx = 32 + d(1 + ⌈log₂(s+1)⌉)``.
    ``s`` should keep ``2^{1−s}`` a normal float of the input dtype (s ≤ 126 for float32).
    """

    s: int
    norm: str = "l2"
    name = "natural_dithering"
    unbiased = True

    def _compress(self, key, X):
        s, norm = self.s, self.norm

        def rule(key_i, x):
            nrm, v = _norm_and_ratio(x, norm)
            u = jax.random.uniform(key_i, x.shape, x.dtype)
            return nrm * jnp.sign(x) * _natural_dither_magnitude(u, v, s), 0, 0, 0

        values = lift_independent(rule, key, X).values
        return self._fixed_size_message(values)

    def omega(self, d, n):
        a = math.sqrt(d) * 2.0 ** (1 - self.s)
        return 1 / 8 + a * min(1.0, a)

    def expected_cost(self, d, n):
        b = self.float_bits + d * (1 + math.ceil(math.log2(self.s + 1)))
        return (b, b, d + 1)


def bernoulli(p: float, unbiased: bool = False) -> Bernoulli:
    """Bernoulli B_p: send x (or x/p if ``unbiased``) with probability ``p ∈ (0, 1]``."""
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
        raise ValueError(f"bernoulli: p={p!r} is not allowed: expected a number in (0, 1]")
    if not isinstance(unbiased, bool):
        raise ValueError(f"bernoulli: unbiased={unbiased!r} is not allowed: expected True or False")
    return Bernoulli(float(p), unbiased=unbiased)


def dithering(s: int, norm: str = "l2") -> Dithering:
    """Standard dithering / QSGD with ``s ≥ 1`` levels and ``norm`` in ``("l2", "linf")``."""
    s = check_int("s", s, 1, where="dithering: ")
    return Dithering(s, _check_norm(norm, "dithering: "))


def ternary() -> Ternary:
    """TernGrad: dithering with s = 1 and the ℓ∞ norm, 32 + 2d bits."""
    return Ternary()


def natural_dithering(s: int, norm: str = "l2") -> NaturalDithering:
    """Natural dithering with levels ``{0, 2^{1−s}, …, 1}``, ``s ≥ 1``, ``norm`` ℓ2 or ℓ∞."""
    s = check_int("s", s, 1, where="natural_dithering: ")
    return NaturalDithering(s, _check_norm(norm, "natural_dithering: "))
