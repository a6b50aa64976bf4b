"""Combinators (spec ALGORITHMS.md §2 and §4 "Combinators"):

* ``compose(outer, inner)`` = ``outer ∘ inner``, an elementwise compressor after any compressor;
* ``induced(C, Q)`` = ``C(x) + Q(x − C(x))``: a biased C ∈ B(δ) made unbiased, U(ω(1 − δ));
* ``scaled(C)`` = ``C/(1 + ω)``: an unbiased C ∈ U(ω) made contractive, B(1/(1 + ω)).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._base import Compressor, Message, register
from ._basic import Identity

__all__ = ["Compose", "Induced", "Scaled", "compose", "induced", "scaled"]


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


def _is_unbiased(c: Compressor) -> bool:
    return bool(c.unbiased)


@register
class Induced(Compressor):
    """``induced(C, Q)``: ``C(x) + Q(x − C(x))`` (spec §2, "Induced").

    Rule: split ``key`` into ``key_c, key_q`` (independent subkeys); ``y = C(key_c, X).values``;
    ``values = y + Q(key_q, X − y).values``. Both messages are sent, so the cost is the sum of
    the parts' ``bits``, ``bits_noidx`` and ``coords`` (realized, per worker).

    Class: with C ∈ B(δ) and Q ∈ U(ω), ``E[Q(r) | C] = r`` for the residual ``r = x − C(x)``,
    so the output is unbiased and ``E‖out − x‖² = E‖Q(r) − r‖² ≤ ωE‖r‖² ≤ ω(1 − δ)‖x‖²``:
    U(ω(1 − δ)) (equality when both parts are tight, e.g. C: x ↦ (1 − δ)x and Q with
    ω-equality). ``δ`` is ``None`` (not contractive in general). Collections: the output error
    is Q's error; if Q is independent across workers (worker keys only) the errors are
    conditionally uncorrelated given C's outputs, whatever C's correlation, so θ = ω/n and
    (A, B) = (ω/n, 0); otherwise θ = ω and (A, B) = (ω, 0) (individually unbiased).
    ``independent`` = both parts independent.
    """

    c: Compressor
    q: Compressor
    name = "induced"
    unbiased = True

    @property
    def independent(self):  # type: ignore[override]
        return self.c.independent and self.q.independent

    def validate(self, d, n):
        self.c.validate(d, n)
        self.q.validate(d, n)
        if self.c.delta(d) is None:
            raise ValueError(
                f"induced: C={self.c.name} is not allowed at d={d}: C must be contractive "
                "(C.delta(d) not None, C ∈ B(δ))"
            )
        if self.q.omega(d, n) is None:
            raise ValueError(
                f"induced: Q={self.q.name} is not allowed at d={d}, n={n}: Q must be unbiased "
                "with a known ω (Q.omega(d, n) not None)"
            )

    def _compress(self, key, X):
        key_c, key_q = jax.random.split(key)
        m_c = self.c(key_c, X)
        m_q = self.q(key_q, X - m_c.values)
        return Message(
            m_c.values + m_q.values,
            m_c.bits + m_q.bits,
            m_c.bits_noidx + m_q.bits_noidx,
            m_c.coords + m_q.coords,
        )

    def omega(self, d, n):
        dl, w = self.c.delta(d), self.q.omega(d, n)
        if dl is None or w is None:
            return None
        return w * (1.0 - dl)

    def theta(self, d, n):
        w = self.omega(d, n)
        if w is None:
            return None
        return w / n if self.q.independent else w

    def ab(self, d, n):
        w = self.omega(d, n)
        if w is None:
            return None
        return (w / n, 0.0) if self.q.independent else (w, 0.0)

    def expected_cost(self, d, n):
        return tuple(
            a + b
            for a, b in zip(self.c.expected_cost(d, n), self.q.expected_cost(d, n), strict=True)
        )

    def describe(self):
        return {"name": self.name, "C": self.c.describe(), "Q": self.q.describe()}


def induced(C: Compressor, Q: Compressor) -> Induced:
    """``C(x) + Q(x − C(x))``: C contractive (B(δ)), Q unbiased (U(ω)) ⇒ U(ω(1 − δ))."""
    for pname, c in (("C", C), ("Q", Q)):
        if not isinstance(c, Compressor):
            raise ValueError(f"induced: {pname}={c!r} is not allowed: expected a Compressor")
    if type(C).delta is Compressor.delta:
        raise ValueError(
            f"induced: C={C.name} is not allowed: C must be contractive (define delta, C ∈ B(δ))"
        )
    if not _is_unbiased(Q):
        raise ValueError(f"induced: Q={Q.name} is not allowed: Q must be unbiased (U(ω))")
    return Induced(c=C, q=Q)


@register
class Scaled(Compressor):
    """``scaled(C)``: ``C(x)/(1 + ω)`` for an unbiased C ∈ U(ω) (spec §2, "Conversions").

    Rule: ``values = C(key, X).values/(1 + ω)`` with ``ω = omega`` if given, else
    ``C.omega(d, n)`` at the call's ``(n, d)``. Cost: exactly C's (scaling by a constant both
    sides know is free).

    Class: B(1/(1 + ω)): ``E‖C/(1+ω) − x‖² = (E‖C‖² − 2(1+ω)‖x‖² + (1+ω)²‖x‖²)/(1+ω)²
    ≤ (1 − 1/(1+ω))‖x‖²`` using ``E‖C(x)‖² ≤ (1+ω)‖x‖²`` (equality when C is tight). Any
    ``omega ≥ ω_C`` is also valid (U(ω_C) ⊂ U(omega)). Biased: no ω / θ / (A, B).
    ``delta(d)`` has no ``n``: it uses ``omega`` if given; else, for an independent C (whose
    per-worker law, hence ω, cannot depend on n) ``C.omega(d, 1)``; for a correlated C whose ω
    depends on n (PermK: n − 1) it is ``None`` — pass ``omega=`` or use ``delta_n(d, n)``.
    """

    c: Compressor
    omega_: float | None = None
    name = "scaled"
    unbiased = False

    @property
    def independent(self):  # type: ignore[override]
        return self.c.independent

    @property
    def linear_shared(self):  # type: ignore[override]
        return self.c.linear_shared

    def _omega_c(self, d, n):
        return self.omega_ if self.omega_ is not None else self.c.omega(d, n)

    def validate(self, d, n):
        self.c.validate(d, n)
        w = self.c.omega(d, n)
        if w is None:
            raise ValueError(
                f"scaled: C={self.c.name} is not allowed at d={d}, n={n}: C must be unbiased "
                "with a known ω (C.omega(d, n) not None)"
            )
        if self.omega_ is not None and self.omega_ < w:
            raise ValueError(
                f"scaled: omega={self.omega_} is not allowed at d={d}, n={n}: it must be at "
                f"least C's ω = {w}"
            )

    def _compress(self, key, X):
        n, d = X.shape
        m = self.c(key, X)
        scale = jnp.asarray(1.0 / (1.0 + self._omega_c(d, n)), X.dtype)
        return m._replace(values=m.values * scale)

    def value_bits(self):
        return self.c.value_bits()

    def delta_n(self, d, n):
        """δ = 1/(1 + ω) of the collection's workers at ``(n, d)``."""
        return 1.0 / (1.0 + self._omega_c(d, n))

    def delta(self, d):
        if self.omega_ is not None:
            return 1.0 / (1.0 + self.omega_)
        if self.c.independent:
            w = self.c.omega(d, 1)
            return None if w is None else 1.0 / (1.0 + w)
        return None

    def expected_cost(self, d, n):
        return self.c.expected_cost(d, n)

    def describe(self):
        return {"name": self.name, "C": self.c.describe(), "omega": self.omega_}


def scaled(C: Compressor, omega: float | None = None) -> Scaled:
    """``C/(1 + ω)`` for an unbiased C ∈ U(ω): B(1/(1 + ω)). ``omega`` overrides ω (≥ C's)."""
    if not isinstance(C, Compressor):
        raise ValueError(f"scaled: C={C!r} is not allowed: expected a Compressor")
    if not _is_unbiased(C):
        raise ValueError(f"scaled: C={C.name} is not allowed: C must be unbiased (U(ω))")
    if omega is not None:
        if isinstance(omega, bool) or not isinstance(omega, int | float) or not omega >= 0:
            raise ValueError(f"scaled: omega={omega!r} is not allowed: expected a float >= 0")
        omega = float(omega)
    return Scaled(c=C, omega_=omega)
