"""Seed 000's smoothness-aware compressors: varying-step Q_h (quant+, Def. 4), block quant Q_h^B
(Def. 3) and rand-τ+ (independent coordinate sampling), plus the E.1 bit count and the DCGD+
rand-τ+ probabilities (spec ALGORITHMS.md §1 "Matrix smoothness", §3 "Encodings", §4, §5.2).

All are independent across workers (worker key ``fold_in(key, i)``, :func:`lift_independent`).
Each exposes ``matrix_smoothness_bound(L)``: an upper bound on
``𝓛(C, L) = inf{𝓛 : E‖C(x) − x‖²_L ≤ 𝓛‖x‖² ∀x}`` for a PSD ``L`` (``‖y‖²_L = yᵀLy``).

Step parameters are stored as tuples of Python floats so the dataclasses stay hashable (static
under ``jit``); their length is checked against ``d`` when called.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Compressor, check_int, index_bits, lift_independent, register
from ._encoding import qsgd_elias_bits

__all__ = [
    "ENCODERS",
    "BlockQuant",
    "RandTau",
    "VaryingStep",
    "block_quant",
    "block_sizes",
    "e1_bits",
    "log2_comb_ceil",
    "rand_tau",
    "rand_tau_probabilities",
    "varying_step",
]

#: Encoders accepted by :func:`varying_step`.
ENCODERS = ("qsgd", "e1")

#: Up to this d the ⌈log₂ C(d, n₀)⌉ table is computed with exact integers; above, with lgamma.
_EXACT_COMB_MAX_D = 20_000


def _int_dtype():
    return jnp.int64 if jax.config.jax_enable_x64 else jnp.int32


# ------------------------------------------------------------------------------------ E.1 count


def _log2_comb_ceil_exact(d: int) -> np.ndarray:
    """``⌈log₂ C(d, n₀)⌉`` for ``n₀ = 0..d`` with exact integers (``(C − 1).bit_length()``)."""
    out = np.empty(d + 1, np.int64)
    c = 1
    for k in range(d + 1):
        out[k] = (c - 1).bit_length()  # ⌈log₂ c⌉ for c ≥ 1
        c = c * (d - k) // (k + 1)
    return out


def _log2_comb_ceil_lgamma(d: int) -> np.ndarray:
    """``⌈log₂ C(d, n₀)⌉`` for ``n₀ = 0..d`` from float64 lgamma.

    The float64 value of ``log₂ C`` is off by at most a few ulps of ``log₂(d!)``; an epsilon of
    ``1e-9·max(1, log₂ C)`` above that keeps exact powers of two (C(d, 0) = 1, C(d, 1) = d = 2^m)
    from rounding up. A C within a relative ``~1e-9`` above a power of two (only possible for
    large C) could be rounded down by one bit; small d uses :func:`_log2_comb_ceil_exact`.
    """
    k = np.arange(d + 1, dtype=np.float64)
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    val = (math.lgamma(d + 1) - lg(k + 1) - lg(d - k + 1)) / math.log(2)
    val = np.maximum(val, 0.0)
    eps = 1e-9 * np.maximum(1.0, val)
    return np.maximum(np.ceil(val - eps), 0).astype(np.int64)


@functools.lru_cache(maxsize=64)
def _log2_comb_table(d: int) -> np.ndarray:
    if d <= _EXACT_COMB_MAX_D:
        return _log2_comb_ceil_exact(d)
    return _log2_comb_ceil_lgamma(d)


def log2_comb_ceil(d: int, n0) -> np.ndarray:
    """``⌈log₂ C(d, n₀)⌉`` (host-side, NumPy) for integer ``n₀`` in ``[0, d]``."""
    return _log2_comb_table(int(d))[np.asarray(n0)]


def e1_bits(khat, d: int | None = None, float_bits: int = 32) -> jax.Array:
    """Bits of seed 000 App. E.1's message for the integer levels ``khat`` (last axis = positions).

    ``31 + ⌈log₂(d+1)⌉ + ⌈log₂ C(d, n₀)⌉ + (d − n₀) + Σ_j k̂_j`` with ``n₀ = #{k̂_j = 0}``
    (each k̂ ≥ 1 in unary: k̂ − 1 ones then a 0; the d − n₀ sign bits). The leading 31 is the spec's
    constant for 32-bit floats; with ``float_bits`` ≠ 32 it becomes ``float_bits − 1``.
    ``⌈log₂ C(d, n₀)⌉`` comes from a static table indexed by the traced n₀ (exact integers for
    d ≤ 20000, float64 lgamma above). Leading axes are batch axes.
    """
    k = jnp.asarray(khat)
    if not jnp.issubdtype(k.dtype, jnp.integer):
        raise ValueError(f"e1_bits: khat must be an integer array; got dtype {k.dtype}")
    dd = k.shape[-1] if d is None else int(d)
    if dd != k.shape[-1]:
        raise ValueError(f"e1_bits: d={d} does not match khat's last axis {k.shape[-1]}")
    idt = _int_dtype()
    k = jnp.abs(k).astype(idt)
    n0 = (k == 0).sum(-1).astype(idt)
    table = jnp.asarray(_log2_comb_table(dd), idt)
    head = float_bits - 1 + math.ceil(math.log2(dd + 1))
    return head + table[n0] + (dd - n0) + k.sum(-1)


# ------------------------------------------------------------------------------ shared helpers


def _check_steps(name: str, h, where: str) -> tuple[float, ...]:
    try:
        steps = tuple(float(v) for v in h)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}{name}={h!r} is not allowed: expected a sequence of positive numbers"
        ) from None
    if not steps or any(isinstance(v, bool) for v in h):
        raise ValueError(f"{where}{name}={h!r} is not allowed: expected a non-empty sequence")
    bad = [v for v in steps if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(
            f"{where}{name} contains {bad[0]!r}: every step must be a finite number > 0"
        )
    return steps


def _round_levels(u: jax.Array, t: jax.Array) -> jax.Array:
    """Integer levels ``⌊t⌋ + Bernoulli(frac(t))`` (unbounded, unbiased: ``E k = t``)."""
    lo = jnp.floor(t)
    return (lo + (u < t - lo).astype(t.dtype)).astype(_int_dtype())


def _check_psd_diag(L, d: int, where: str) -> np.ndarray:
    L = np.asarray(L, np.float64)
    if L.shape != (d, d):
        raise ValueError(f"{where}L must have shape ({d}, {d}); got {L.shape}")
    return np.diag(L).copy()


# --------------------------------------------------------------------------- varying-step Q_h


@register
class VaryingStep(Compressor):
    """Varying-step quantizer Q_h (seed 000 Def. 4, "quant+").

    With ``v_j = |x_j|/‖x‖₂``: ``k̂_j = ⌊v_j/h_j⌋ + Bernoulli(frac(v_j/h_j))`` (unbounded levels,
    no clipping) and ``Q_h(x)_j = ‖x‖ sign(x_j) k̂_j h_j``; ``0 ↦ 0``. Unbiased, and for any PSD L
    ``E‖Q_h(x) − x‖²_L = ‖x‖² Σ_j L_jj h_j² θ_j(1 − θ_j)``, ``θ_j = frac(v_j/h_j)`` (independent
    coordinates: the off-diagonal terms vanish). Hence ``ω = min(‖h‖², ‖h‖)`` (θ(1−θ)h² ≤
    min(h², h·v) and ‖v‖ = 1) and ``𝓛 ≤ min(Σ_j L_jj h_j², ‖Diag(L)h‖)``.
    Cost: ``coords = d + 1``; ``bits = bits_noidx`` = QSGD/Elias of the realized k̂ as one block
    (``encoder="qsgd"``, default) or the E.1 count (``encoder="e1"``); data dependent, so
    ``expected_cost`` raises.
    """

    h: tuple
    encoder: str = "qsgd"
    name = "varying_step"
    unbiased = True

    def validate(self, d, n):
        if len(self.h) != d:
            raise ValueError(
                f"{self.name}: h has length {len(self.h)} but the dimension is d={d}: "
                "expected one step per coordinate"
            )

    def levels(self, key: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """One row: (values, integer levels k̂)."""
        h = jnp.asarray(self.h, x.dtype)
        ax = jnp.abs(x)
        nrm = jnp.sqrt(jnp.sum(ax * ax))
        pos = nrm > 0
        v = jnp.where(pos, ax / jnp.where(pos, nrm, 1), 0)
        u = jax.random.uniform(key, x.shape, x.dtype)
        k = _round_levels(u, v / h)
        return nrm * jnp.sign(x) * k.astype(x.dtype) * h, k

    def _compress(self, key, X):
        d = X.shape[1]
        fb, enc = self.float_bits, self.encoder

        def rule(key_i, x):
            values, k = self.levels(key_i, x)
            bits = qsgd_elias_bits(k, float_bits=fb) if enc == "qsgd" else e1_bits(k, d, fb)
            return values, bits, bits, jnp.asarray(d + 1)

        return lift_independent(rule, key, X)

    def omega(self, d, n):
        s = math.fsum(v * v for v in self.h)
        return min(s, math.sqrt(s))

    def matrix_smoothness_bound(self, L) -> float:
        """``min(Σ_j L_jj h_j², ‖Diag(L)h‖)`` ≥ 𝓛(Q_h, L)."""
        diag = _check_psd_diag(L, len(self.h), f"{self.name}.matrix_smoothness_bound: ")
        h = np.asarray(self.h)
        return float(min(np.sum(diag * h * h), np.linalg.norm(diag * h)))

    def expected_cost(self, d, n):
        raise NotImplementedError(
            f"{self.name}: expected_cost is data dependent (the {self.encoder} bits depend on the "
            "realized levels); use the realized Message.bits (coords are always d + 1)"
        )


# ------------------------------------------------------------------------------- block quant


def block_sizes(d: int, B: int) -> tuple[int, ...]:
    """Contiguous block sizes: B − 1 blocks of ``⌊d/B⌋``, the remainder in the last block."""
    db = d // B
    return (db,) * (B - 1) + (d - db * (B - 1),)


@functools.lru_cache(maxsize=64)
def _block_layout(d: int, B: int):
    """(segment id per coordinate (d,), gather index (B, dmax), valid mask (B, dmax))."""
    sizes = block_sizes(d, B)
    starts = np.cumsum((0,) + sizes[:-1])
    seg = np.repeat(np.arange(B), sizes)
    dmax = max(sizes)
    i = np.arange(dmax)
    valid = i[None, :] < np.asarray(sizes)[:, None]
    gather = np.where(valid, starts[:, None] + i[None, :], 0)
    return seg, gather, valid


@register
class BlockQuant(Compressor):
    """Block quantizer Q_h^B (seed 000 Def. 3) with per-block steps ``h_blocks`` (length B).

    Contiguous blocks (:func:`block_sizes`). Coordinate t of block l becomes
    ``‖x^l‖ sign(x_t) ξ_l(|x_t|/‖x^l‖)`` where ξ_l rounds randomly (unbiased) to the unbounded
    levels ``{0, h_l, 2h_l, …}``. Unbiased; per block the error is
    ``‖x^l‖² h_l² Σ_{t∈l} θ_t(1 − θ_t)``, so ``ω = max_l min(d_l h_l², √d_l h_l)`` (the spec's
    tight form) and ``𝓛 ≤ max_l min(h_l²‖Diag(L^{ll})‖₁, h_l‖Diag(L^{ll})‖)``.
    Cost: ``coords = d + B`` (levels and B norms); ``bits = bits_noidx`` = Σ over blocks of the
    QSGD/Elias count (32-bit norm, gaps restarting at −1 in every block), vectorized by padding
    the blocks into a ``(B, max d_l)`` array (padding levels are 0 and cost nothing).
    """

    h_blocks: tuple
    blocks: int
    name = "block_quant"
    unbiased = True

    def validate(self, d, n):
        if self.blocks > d:
            raise ValueError(
                f"{self.name}: blocks={self.blocks} is out of range for d={d}: expected at most "
                "d blocks (every block needs a coordinate)"
            )

    def _compress(self, key, X):
        d = X.shape[1]
        B, fb = self.blocks, self.float_bits
        seg, gather, valid = _block_layout(d, B)
        seg_j, gather_j, valid_j = jnp.asarray(seg), jnp.asarray(gather), jnp.asarray(valid)

        def rule(key_i, x):
            hb = jnp.asarray(self.h_blocks, x.dtype)
            ax = jnp.abs(x)
            bn = jnp.sqrt(jax.ops.segment_sum(ax * ax, seg_j, num_segments=B))  # (B,)
            nrm, h = bn[seg_j], hb[seg_j]
            pos = nrm > 0
            v = jnp.where(pos, ax / jnp.where(pos, nrm, 1), 0)
            u = jax.random.uniform(key_i, x.shape, x.dtype)
            k = _round_levels(u, v / h)
            values = nrm * jnp.sign(x) * k.astype(x.dtype) * h
            kpad = jnp.where(valid_j, k[gather_j], 0)  # (B, dmax)
            bits = qsgd_elias_bits(kpad, float_bits=fb).sum()
            return values, bits, bits, jnp.asarray(d + B)

        return lift_independent(rule, key, X)

    def omega(self, d, n):
        sizes = block_sizes(d, self.blocks)
        return max(
            min(dl * h * h, math.sqrt(dl) * h) for dl, h in zip(sizes, self.h_blocks, strict=True)
        )

    def matrix_smoothness_bound(self, L) -> float:
        """``max_l min(h_l²‖Diag(L^{ll})‖₁, h_l‖Diag(L^{ll})‖)`` ≥ 𝓛(Q_h^B, L)."""
        L = np.asarray(L, np.float64)
        d = L.shape[0] if L.ndim == 2 else -1
        diag = _check_psd_diag(L, d, f"{self.name}.matrix_smoothness_bound: ")
        self.validate(d, 1)
        seg, _, _ = _block_layout(d, self.blocks)
        out = 0.0
        for l, h in enumerate(self.h_blocks):  # B host-side scalars, no coordinate loop
            dl = diag[seg == l]
            out = max(out, min(h * h * dl.sum(), h * np.linalg.norm(dl)))
        return float(out)

    def expected_cost(self, d, n):
        raise NotImplementedError(
            f"{self.name}: expected_cost is data dependent (QSGD/Elias bits depend on the "
            "realized levels); use the realized Message.bits (coords are always d + B)"
        )


# ------------------------------------------------------------------------------------ rand-τ+


@register
class RandTau(Compressor):
    """rand-τ+: independent coordinate sampling, coordinate j kept with probability ``p_j``
    (``τ = Σ_j p_j`` expected coordinates), kept values scaled by ``1/p_j``.

    ``scaled=True`` (default): unbiased, ``E‖C(x) − x‖²_L = Σ_j (1/p_j − 1)L_jj x_j²`` for any PSD
    L, so ``ω = max_j(1/p_j − 1)`` and ``𝓛 = max_j(1/p_j − 1)L_jj`` (both exact suprema).
    ``scaled=False`` (the authors' code): biased, ``E‖C(x) − x‖² = Σ_j(1 − p_j)x_j²``, so
    B(min_j p_j). Cost: ``coords = nnz``, ``bits = nnz(32 + ⌈log₂d⌉)`` (indices charged: the
    support is the sender's private draw), ``bits_noidx = 32·nnz``; expected with nnz → τ.
    """

    probs: tuple
    scaled: bool = True
    name = "rand_tau"

    @property
    def unbiased(self) -> bool:  # type: ignore[override]
        return self.scaled

    @property
    def tau(self) -> float:
        return math.fsum(self.probs)

    def validate(self, d, n):
        if len(self.probs) != d:
            raise ValueError(
                f"{self.name}: probs has length {len(self.probs)} but the dimension is d={d}: "
                "expected one probability per coordinate"
            )

    def _compress(self, key, X):
        d = X.shape[1]
        fb, ib, scaled = self.float_bits, index_bits(d), self.scaled

        def rule(key_i, x):
            p = jnp.asarray(self.probs, x.dtype)
            keep = jax.random.uniform(key_i, x.shape, x.dtype) < p
            values = jnp.where(keep, x / p if scaled else x, jnp.zeros((), x.dtype))
            nnz = keep.sum()
            return values, nnz * (fb + ib), nnz * fb, nnz

        return lift_independent(rule, key, X)

    def omega(self, d, n):
        return max(1 / p - 1 for p in self.probs) if self.scaled else None

    def delta(self, d):
        return None if self.scaled else min(self.probs)

    def matrix_smoothness_bound(self, L) -> float:
        """``max_j (1/p_j − 1)L_jj`` = 𝓛(rand-τ+, L) (scaled only)."""
        if not self.scaled:
            raise ValueError(f"{self.name}: matrix smoothness is defined for scaled=True only")
        diag = _check_psd_diag(L, len(self.probs), f"{self.name}.matrix_smoothness_bound: ")
        p = np.asarray(self.probs)
        return float(np.max((1 / p - 1) * diag))

    def expected_cost(self, d, n):
        tau = self.tau
        return (tau * (self.float_bits + index_bits(d)), tau * self.float_bits, tau)


def rand_tau_probabilities(diag_L, tau: float) -> tuple[float, ...]:
    """DCGD+ rand-τ+ probabilities ``p_j = L_jj/(L_jj + c)`` with ``c > 0`` such that
    ``Σ_j p_j = τ`` (float64 root finding, scipy ``brentq`` on log c); then
    ``(1/p_j − 1)L_jj = c`` for every j.

    DIANA+ uses the same rule on ``a_j = 1 + L_jj/(nμ)``: pass ``a`` as ``diag_L``.
    Requires every ``L_jj > 0`` and ``0 < τ < d``.
    """
    from scipy.optimize import brentq

    a = np.asarray(diag_L, np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"rand_tau_probabilities: diag_L must be a non-empty 1-D array; got shape {a.shape}"
        )
    if not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError(
            "rand_tau_probabilities: diag_L must be finite and > 0 (a zero L_jj would give "
            f"p_j = 0); got min {a.min()!r}"
        )
    d = a.size
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not 0 < tau < d:
        raise ValueError(
            f"rand_tau_probabilities: tau={tau!r} is not allowed: expected a number in (0, d={d})"
        )
    tau = float(tau)

    def excess(log_c):
        c = math.exp(log_c)
        return math.fsum(a / (a + c)) - tau

    # Σ a/(a+c) ≥ τ at c = min(a)(d−τ)/τ (every p ≥ τ/d) and < τ at c = max(a)d/τ.
    lo = math.log(a.min() * (d - tau) / tau)
    hi = math.log(a.max() * d / tau)
    if excess(lo) <= 0:
        log_c = lo
    else:
        log_c = brentq(excess, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    c = math.exp(log_c)
    return tuple(float(v) for v in a / (a + c))


# ---------------------------------------------------------------------------------- factories


def varying_step(h, encoder: str = "qsgd") -> VaryingStep:
    """Varying-step Q_h with per-coordinate steps ``h`` (length d, every ``h_j > 0``) and
    ``encoder`` in ``("qsgd", "e1")``."""
    steps = _check_steps("h", h, "varying_step: ")
    if encoder not in ENCODERS:
        raise ValueError(
            f"varying_step: encoder={encoder!r} is not allowed: expected one of {ENCODERS}"
        )
    return VaryingStep(steps, encoder)


def block_quant(h_blocks, blocks: int | None = None) -> BlockQuant:
    """Block quant Q_h^B with ``blocks`` = B contiguous blocks (default ``len(h_blocks)``) and
    per-block steps ``h_blocks`` (length B, every ``h_l > 0``)."""
    steps = _check_steps("h_blocks", h_blocks, "block_quant: ")
    B = len(steps) if blocks is None else check_int("blocks", blocks, 1, where="block_quant: ")
    if len(steps) != B:
        raise ValueError(
            f"block_quant: blocks={B} does not match len(h_blocks)={len(steps)}: expected one "
            "step per block"
        )
    return BlockQuant(steps, B)


def rand_tau(probs, scaled: bool = True) -> RandTau:
    """rand-τ+ with per-coordinate keep probabilities ``probs`` (each in (0, 1], τ = Σ p_j);
    ``scaled=False`` is the authors' biased code (no 1/p_j scaling)."""
    try:
        p = tuple(float(v) for v in probs)
    except (TypeError, ValueError):
        raise ValueError(
            f"rand_tau: probs={probs!r} is not allowed: expected a sequence of numbers in (0, 1]"
        ) from None
    if not p:
        raise ValueError("rand_tau: probs=() is not allowed: expected a non-empty sequence")
    bad = [v for v in p if not (math.isfinite(v) and 0 < v <= 1)]
    if bad:
        raise ValueError(f"rand_tau: probs contains {bad[0]!r}: every p_j must be in (0, 1]")
    if not isinstance(scaled, bool):
        raise ValueError(f"rand_tau: scaled={scaled!r} is not allowed: expected True or False")
    return RandTau(p, scaled)
