"""DRIVE: one-bit compression after a private random rotation (Vargaftik et al. 2021;
**reconstructed** in the spec, §4).

Worker ``i`` draws a rotation ``R`` from its key ``fold_in(key, i)`` (the server regenerates it
from the same key, so the rotation costs nothing to send), and sends ``sign(Rx)`` (one bit per
rotated coordinate) and the scale ``S = ‖x‖²/‖Rx‖₁`` (one float). The receiver decodes
``x̂ = Rᵀ(S·sign(Rx))``. Because ``⟨sign(Rx), Rx⟩ = ‖Rx‖₁``,

    ``⟨x̂, x⟩ = S·⟨sign(Rx), Rx⟩ = ‖x‖²``  exactly, for every rotation and every x,

so ``E‖x̂ − x‖² = E‖x̂‖² − ‖x‖²`` = ``S²·d′ − ‖x‖²`` before truncation (see below).

Rotations (``rotation``):

* ``"hadamard"`` (default): the randomized Hadamard transform ``R = H·diag(s)/√d′`` with
  i.i.d. signs ``s ∈ {±1}^{d′}``, applied to x zero-padded to ``d′ = 2^⌈log₂d⌉``; ``H`` is the
  unnormalized Walsh–Hadamard matrix (symmetric, ``H² = d′I``), applied by the fast transform
  (``log₂d′`` reshape/add stages, O(d′ log d′), no d′×d′ matrix). ``Rᵀ = diag(s)·H/√d′``. The
  decoded d′-vector is truncated back to d coordinates (its padded entries are dropped; that only
  lowers the error, and ``⟨x̂, x⟩ = ‖x‖²`` still holds since x is zero there). This rotation is
  **not** uniform, so DRIVE-Hadamard is **biased** (close to unbiased only for large, dense x; e.g.
  ``x = e_1`` is reproduced exactly, not in mean). ``unbiased = False``.
* ``"haar"``: a uniform (Haar) rotation of R^d, ``Q·diag(sign(diag(R_qr)))`` from the QR
  factorization of a d×d standard Gaussian matrix (the sign fix makes Q Haar-distributed),
  by Householder reflections in plain JAX (``_householder.py`` says why not LAPACK).
  O(d²) memory and O(d³) time per worker and call: only for small d. By rotational symmetry
  ``E x̂ ∥ x``, and ``⟨E x̂, x⟩ = ‖x‖²``, so DRIVE-Haar is **unbiased**.

Sign convention: ``sign(0) = +1`` (each coordinate is sent as one bit, so 0 is not available;
the identity ``⟨x̂, x⟩ = ‖x‖²`` is unaffected since zero coordinates contribute nothing). A zero
row has ``S = 0`` and decodes to zero.

Class: ``omega(d, n) = π/2 − 1`` for both rotations (the theory value used by the spec, e.g. for
MARINA's ``A = ω/n``). For Haar it is a valid bound: the vNMSE is ``d·E[1/‖u‖₁²] − 1`` with u
uniform on the unit sphere, which increases with d to π/2 − 1 (≈ 0.273 at d = 2, 0.530 at
d = 12, 0.569 at d = 256; estimated by Monte Carlo). For Hadamard it is only **approximate**
(the vNMSE of a dense generic x is close to it; there is no worst-case guarantee and the
compressor is biased, so it is not in U(ω)). ``theta``/``ab`` follow the base class
(independent: ω/n). ``delta`` is not defined.

Cost (fixed): Hadamard ``coords = d′ + 1``, ``bits = bits_noidx = d′ + float_bits``; Haar
``coords = d + 1``, ``bits = d + float_bits``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ._base import Compressor, lift_independent, register
from ._householder import householder_qr

__all__ = ["Drive", "drive", "fwht", "haar_rotation", "padded_dim"]

_ROTATIONS = ("hadamard", "haar")


def padded_dim(d: int) -> int:
    """``d′ = 2^⌈log₂d⌉``: the Hadamard transform's length for dimension d."""
    return 1 << max(0, math.ceil(math.log2(d))) if d > 1 else 1


def fwht(y: jax.Array) -> jax.Array:
    """Unnormalized fast Walsh–Hadamard transform ``H y`` along the last axis (length a power of
    two): ``log₂`` stages of pairwise sums/differences via reshapes, O(d′ log d′). ``H`` is
    symmetric with ``H² = d′I``, so ``H/√d′`` is orthogonal and its own inverse."""
    dp = y.shape[-1]
    if dp & (dp - 1):
        raise ValueError(f"fwht: the last axis must have a power-of-two length; got {dp}")
    lead = y.shape[:-1]
    h = 1
    while h < dp:
        z = y.reshape(*lead, dp // (2 * h), 2, h)
        a, b = z[..., 0, :], z[..., 1, :]
        y = jnp.stack((a + b, a - b), axis=-2).reshape(*lead, dp)
        h *= 2
    return y


def haar_rotation(key: jax.Array, d: int, dtype=jnp.float32) -> jax.Array:
    """A Haar-distributed orthogonal d×d matrix: the Q of ``G = QR`` with ``diag(R) > 0``, G
    standard Gaussian (Mezzadri 2007), by :func:`householder_qr` (plain JAX, no LAPACK call).
    O(d²) memory, O(d³) time."""
    Q, _ = householder_qr(jax.random.normal(key, (d, d), dtype))
    return Q


def _signs(y: jax.Array) -> jax.Array:
    """One bit per coordinate: ``+1`` for ``y ≥ 0``, ``−1`` otherwise."""
    return jnp.where(y >= 0, 1.0, -1.0).astype(y.dtype)


def _scale(x: jax.Array, y: jax.Array) -> jax.Array:
    """``S = ‖x‖²/‖y‖₁`` (``y = Rx``), 0 for a zero vector."""
    sq = (x * x).sum()
    l1 = jnp.abs(y).sum()
    ok = l1 > 0
    return jnp.where(ok, sq / jnp.where(ok, l1, 1.0), 0.0)


@register
class Drive(Compressor):
    """DRIVE (Vargaftik et al. 2021; **reconstructed**): ``x̂ = Rᵀ(S·sign(Rx))``,
    ``S = ‖x‖²/‖Rx‖₁``, with a private rotation R per worker from ``fold_in(key, i)``.

    ``rotation="hadamard"`` (default; biased, O(d′ log d′)) or ``"haar"`` (unbiased, O(d²)
    memory). See the module docstring for the class constants and the cost.
    """

    rotation: str = "hadamard"

    name = "drive"
    independent = True

    def __post_init__(self):
        if not isinstance(self.rotation, str) or self.rotation not in _ROTATIONS:
            raise ValueError(
                f"drive: rotation={self.rotation!r} is not allowed: expected one of "
                f"{', '.join(_ROTATIONS)}"
            )

    @property
    def unbiased(self) -> bool:  # type: ignore[override]
        return self.rotation == "haar"

    def _rule(self, d):
        cost = self.expected_cost(d, 1)

        if self.rotation == "haar":

            def rule(k, x):
                R = haar_rotation(k, d, x.dtype)
                y = R @ x
                values = R.T @ (_scale(x, y) * _signs(y))
                return (values, *cost)

            return rule

        dp = padded_dim(d)
        norm = 1.0 / math.sqrt(dp)

        def rule(k, x):
            s = _signs(jax.random.normal(k, (dp,), x.dtype))  # i.i.d. ±1 (sign of N(0,1))
            xp = jnp.pad(x, (0, dp - d))
            y = fwht(s * xp) * norm  # R x
            out = s * fwht(_scale(x, y) * _signs(y)) * norm  # Rᵀ(S sign(Rx))
            return (out[:d], *cost)

        return rule

    def _compress(self, key, X):
        return lift_independent(self._rule(X.shape[1]), key, X)

    def omega(self, d, n):
        """π/2 − 1: a bound for Haar; only the approximate theory value for Hadamard."""
        return math.pi / 2 - 1

    def expected_cost(self, d, n):
        m = d if self.rotation == "haar" else padded_dim(d)
        return (float(m + self.float_bits), float(m + self.float_bits), float(m + 1))


def drive(rotation: str = "hadamard") -> Drive:
    """DRIVE one-bit compression with a private random rotation (``"hadamard"`` or ``"haar"``)."""
    return Drive(rotation=rotation)
