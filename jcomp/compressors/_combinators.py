"""Combinators: composition ``outer ∘ inner`` of an elementwise compressor after any compressor."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._base import Compressor, Message, register
from ._basic import Identity

__all__ = ["Compose", "compose"]


@register
class Compose(Compressor):
    """``compose(outer, inner) = outer ∘ inner``: the inner compressor first, then ``outer`` on
    the inner's decoded values (e.g. ``compose(natural(), perm_k())`` = seed 004's PermK∘C_nat).

    Rule: split ``key`` into ``key_inner, key_outer``; ``y = inner(key_inner, X).values``;
    ``values = outer(key_outer, y).values``. ``outer`` must be elementwise
    (``outer.value_bits()`` is not None, e.g. identity or natural) and must map 0 to 0.
    Cost: ``coords`` = inner's coords; ``bits`` = inner's index bits (``bits − bits_noidx``) +
    ``outer.value_bits()`` per inner coordinate; ``bits_noidx = outer.value_bits()·coords``.
    Class (spec §2 and §4, "(derived)"), with the outer independent across workers and
    conditionally unbiased given the inner's output:

    * unbiased iff both are; ω = ω₁ + ω₂ + ω₁ω₂ (ω₁ inner, ω₂ outer);
    * θ = θ_C + ω_Q(1 + ω_C)/n (inner U(ω_C) ∩ P(θ_C), outer U(ω_Q)); PermK∘C_nat: θ = 1/8,
      ω = 9n/8 − 1; an independent inner gives θ = ω/n;
    * (A, B) = (A_C + ω_Q(1 + ω_C)/n, B_C): the same derivation as θ with heterogeneous inputs,
      ``E‖(1/n)Σ Q_i(C_i(a_i)) − ā‖² = (1/n²)Σ E‖Q_i(y_i) − y_i‖² + E‖(1/n)Σ C_i(a_i) − ā‖²``
      with ``E‖y_i‖² ≤ (1 + ω_C)‖a_i‖²`` (θ is its a_i = x case);
    * δ only for an identity outer (then the inner's δ); otherwise None.

    Sources: spec ALGORITHMS.md §2 (composition of unbiased compressors), seed 004 (PermK∘C_nat,
    RandK∘C_nat).
    """

    outer: Compressor
    inner: Compressor
    name = "compose"

    @property
    def unbiased(self):  # type: ignore[override]
        return self.inner.unbiased and self.outer.unbiased

    @property
    def independent(self):  # type: ignore[override]
        return self.inner.independent and self.outer.independent

    def validate(self, d, n):
        self.inner.validate(d, n)
        self.outer.validate(d, n)

    def _compress(self, key, X):
        key_inner, key_outer = jax.random.split(key)
        m_in = self.inner(key_inner, X)
        m_out = self.outer(key_outer, m_in.values)
        vb = jnp.asarray(self.outer.value_bits(), X.dtype)
        idx_bits = m_in.bits - m_in.bits_noidx
        bits_noidx = vb * m_in.coords
        return Message(m_out.values, idx_bits + bits_noidx, bits_noidx, m_in.coords)

    def value_bits(self):
        return None

    def _omegas(self, d, n):
        if not self.unbiased:
            return None
        w_in, w_out = self.inner.omega(d, n), self.outer.omega(d, n)
        if w_in is None or w_out is None:
            return None
        return w_in, w_out

    def omega(self, d, n):
        w = self._omegas(d, n)
        if w is None:
            return None
        w_in, w_out = w
        return w_in + w_out + w_in * w_out

    def delta(self, d):
        if isinstance(self.outer, Identity):
            return self.inner.delta(d)
        return None

    def theta(self, d, n):
        w = self._omegas(d, n)
        if w is None:
            return None
        w_in, w_out = w
        th_in = self.inner.theta(d, n)
        if th_in is None or not self.outer.independent:
            return self.omega(d, n)  # any U(ω) collection: θ = ω
        return th_in + w_out * (1.0 + w_in) / n

    def ab(self, d, n):
        w = self._omegas(d, n)
        if w is None:
            return None
        w_in, w_out = w
        ab_in = self.inner.ab(d, n)
        if ab_in is None or not self.outer.independent:
            return (self.omega(d, n), 0.0)  # individually unbiased, any correlation
        a_in, b_in = ab_in
        return (a_in + w_out * (1.0 + w_in) / n, b_in)

    def expected_cost(self, d, n):
        bits, bits_noidx, coords = self.inner.expected_cost(d, n)
        vb = self.outer.value_bits()
        return (bits - bits_noidx + vb * coords, vb * coords, coords)

    def describe(self):
        return {"name": self.name, "outer": self.outer.describe(), "inner": self.inner.describe()}


def compose(outer: Compressor, inner: Compressor) -> Compose:
    """``outer ∘ inner`` (inner first); ``outer`` must be elementwise (identity or natural)."""
    for pname, c in (("outer", outer), ("inner", inner)):
        if not isinstance(c, Compressor):
            raise ValueError(f"compose: {pname}={c!r} is not allowed: expected a Compressor")
    if outer.value_bits() is None:
        raise ValueError(
            f"compose: outer={outer.name} is not allowed: the outer compressor must be elementwise "
            "(value_bits() not None), e.g. identity() or natural()"
        )
    return Compose(outer=outer, inner=inner)
