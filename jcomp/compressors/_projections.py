"""Shared random projections: CORE (Yue et al. 2023) and the sketch S_V (seed 001 eq. 8).

Both draw their randomness from the shared ``key`` only (every worker uses the same vectors in
one call; the receiver regenerates them, so no index or matrix is sent), and both are linear
in x for a fixed key, so on any inputs ``(1/n)Σ_i C(a_i) = C(ā)``.

CORE (**reconstructed**; spec §4): m vectors ``ξ_j ~ N(0, I_d)`` from the shared key; worker
sends ``p_j = ⟨ξ_j, x⟩`` (m floats); decode ``x̂ = (1/m)Σ_j p_jξ_j = (1/m)ΞᵀΞx``. Unbiased
(``E ξξᵀ = I``). ω = (d + 1)/m **with equality** for every x (derived): with ``x = ‖x‖e_1``
by rotation invariance, ``E‖ξξᵀx‖² = E[(ξᵀx)²‖ξ‖²] = ‖x‖²(Eξ_1⁴ + (d − 1)) = (d + 2)‖x‖²``,
so ``E‖ξξᵀx − x‖² = (d + 1)‖x‖²``, and the mean of m i.i.d. terms divides it by m. Shared,
linear: θ = ω with equality on a common input; AB ``(ω, 0)`` is a bound (the mean's error is
``(d + 1)/m·‖ā‖²``).

Sketch S_V: ``V ∈ R^{d×p}`` from the shared key, ``S_V(x) = V(VᵀV)⁻¹Vᵀx``, decoded from the
message ``Vᵀx`` as ``Qy`` with ``Rᵀy = Vᵀx`` for the thin Householder QR ``V = QR`` (never an
inverse or the normal equations; rounding ~ κ(V)·eps): the orthogonal projection onto
range(V), so ``‖S_Vx − x‖² = ‖x‖² − ‖S_Vx‖²`` and ``S_V² = S_V`` deterministically. The
message is ``Vᵀx`` (p floats). ``kind``:

* ``"gaussian"`` (default): V i.i.d. N(0, 1), range(V) a uniform p-dimensional subspace;
* ``"coordinates"``: V the columns of I_d at a uniform p-subset of coordinates, so S_V keeps
  those coordinates (computed as a mask; ``VᵀV = I_p``).

For both, ``E S_V = (p/d)I`` and ``E‖S_Vx‖² = (p/d)‖x‖²``. Hence:

* ``unbiased=False`` (default): B(p/d) with equality, ``E‖S_Vx − x‖² = (1 − p/d)‖x‖²``;
* ``unbiased=True``: ``(d/p)S_V`` ∈ U(d/p − 1) with equality
  (``(d/p)²(p/d) − 2(d/p)(p/d) + 1 = d/p − 1``); θ = ω with equality on a common input.

Cost (fixed, indices free): CORE ``coords = m``, ``bits = 32m``; sketch ``coords = p``,
``bits = 32p``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from ._base import Compressor, check_int, register
from ._householder import forward_substitution, householder_qr

__all__ = ["Core", "Sketch", "core", "sketch", "sketch_matrix"]

_KINDS = ("gaussian", "coordinates")


@register
class Core(Compressor):
    """CORE (Yue et al. 2023; **reconstructed**): ``x̂ = (1/m)Σ_j ⟨ξ_j, x⟩ξ_j`` with m shared
    Gaussian vectors per call. Unbiased, linear, U((d + 1)/m) with equality; cost m floats."""

    m: int = 1

    name = "core"
    linear_shared = True
    unbiased = True
    independent = False

    def __post_init__(self):
        check_int("m", self.m, 1, where="core: ")

    def validate(self, d, n):
        if self.m > d:
            raise ValueError(f"core: m={self.m} is out of range: expected an integer in [1, {d}]")

    def _compress(self, key, X):
        d = X.shape[1]
        xi = jax.random.normal(key, (self.m, d), X.dtype)  # (m, d), shared
        p = X @ xi.T  # (n, m): the sent projections
        return self._fixed_size_message((p @ xi) / self.m)

    def omega(self, d, n):
        return (d + 1) / self.m

    def expected_cost(self, d, n):
        return (float(self.float_bits * self.m), float(self.float_bits * self.m), float(self.m))


def sketch_matrix(key: jax.Array, d: int, p: int, kind: str = "gaussian", dtype=jnp.float32):
    """The shared ``V`` (d×p) of one call: i.i.d. N(0, 1), or the identity columns of a uniform
    p-subset of coordinates (``kind="coordinates"``, in the order of a uniform permutation)."""
    if kind == "gaussian":
        return jax.random.normal(key, (d, p), dtype)
    idx = jax.random.permutation(key, d)[:p]
    return jax.nn.one_hot(idx, d, dtype=dtype).T


@register
class Sketch(Compressor):
    """Sketch S_V (seed 001 eq. 8): the projection ``V(VᵀV)⁻¹Vᵀx`` onto a shared random
    p-dimensional subspace; ``unbiased=True`` scales it by d/p. B(p/d) / U(d/p − 1), both with
    equality; cost p floats. See the module docstring."""

    p: int = 1
    kind: str = "gaussian"
    unbiased: bool = dataclasses.field(default=False, kw_only=True)  # type: ignore[misc]

    name = "sketch"
    linear_shared = True
    independent = False

    def __post_init__(self):
        check_int("p", self.p, 1, where="sketch: ")
        if not isinstance(self.kind, str) or self.kind not in _KINDS:
            raise ValueError(
                f"sketch: kind={self.kind!r} is not allowed: expected one of {', '.join(_KINDS)}"
            )
        if not isinstance(self.unbiased, bool):
            raise ValueError(f"sketch: unbiased={self.unbiased!r} is not allowed: expected a bool")

    def validate(self, d, n):
        if self.p > d:
            raise ValueError(f"sketch: p={self.p} is out of range: expected an integer in [1, {d}]")

    def project(self, key: jax.Array, X: jax.Array) -> jax.Array:
        """``S_V`` applied to every row of X (the same V for all rows)."""
        n, d = X.shape
        if self.kind == "coordinates":
            idx = jax.random.permutation(key, d)[: self.p]
            mask = jnp.zeros((d,), X.dtype).at[idx].set(1.0)
            return X * mask
        V = sketch_matrix(key, d, self.p, self.kind, X.dtype)  # (d, p)
        msg = X @ V  # (n, p): the sent Vᵀx per worker
        # Decode V(VᵀV)⁻¹(Vᵀx) with the thin QR V = QR (Householder, plain JAX): VᵀV = RᵀR, so
        # the decode is Q·y with Rᵀy = msg, one forward substitution (rounding ~ κ(V)·eps).
        Q, R = householder_qr(V)
        return forward_substitution(R.T, msg.T).T @ Q.T

    def _compress(self, key, X):
        out = self.project(key, X)
        if self.unbiased:
            out = out * (X.shape[1] / self.p)
        return self._fixed_size_message(out)

    def omega(self, d, n):
        return d / self.p - 1 if self.unbiased else None

    def delta(self, d):
        return None if self.unbiased else self.p / d

    def expected_cost(self, d, n):
        return (float(self.float_bits * self.p), float(self.float_bits * self.p), float(self.p))


def core(m: int) -> Core:
    """CORE with m shared Gaussian projections per call (``1 ≤ m ≤ d``)."""
    return Core(m=m)


def sketch(p: int, kind: str = "gaussian", unbiased: bool = False) -> Sketch:
    """Sketch S_V onto a shared random p-dimensional subspace (``1 ≤ p ≤ d``); ``unbiased``
    scales by d/p."""
    return Sketch(p=p, kind=kind, unbiased=unbiased)
