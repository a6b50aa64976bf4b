"""Seed 000's smoothness-aware compressors: varying-step Q_h (quant+, Def. 4), block quant Q_h^B
(Def. 3) and rand-τ+ (independent coordinate sampling), plus the E.1 bit count and the DCGD+
rand-τ+ probabilities (spec ALGORITHMS.md §1 "Matrix smoothness", §3 "Encodings", §4, §5.2).

All are independent across workers (worker key ``fold_in(key, i)``). Each exposes
``matrix_smoothness_bound(L)``: an upper bound on
``𝓛(C, L) = inf{𝓛 : E‖C(x) − x‖²_L ≤ 𝓛‖x‖² ∀x}`` for a PSD ``L`` (``‖y‖²_L = yᵀLy``).

Per-worker parameters (seed 000 §4–5: worker i uses its own C_i, e.g. steps h_i from its L_i).
Each parameter (``h``, ``h_blocks``, ``probs``) is either

* **one shared row** (a flat sequence): every worker uses it; or
* **n rows** (a 2-D sequence / array, one row per worker, all of equal length): worker i uses
  row i. The compressor is then bound to ``n`` workers: ``validate(d, n)`` (run by every call on
  the ``(n, d)`` input) and the metadata raise a ``ValueError`` naming the parameter and both
  sizes when the number of rows is not n. A 2-D input with one row is per-worker with n = 1.

The rule maps over ``(key_i, x_i, params_i)`` with ``key_i = fold_in(key, i)``
(:func:`lift_per_worker`), so row i of a per-worker compressor's message equals row i of the
shared compressor with worker i's parameters, draw by draw. Metadata with per-worker rows:
``worker_omega(d, n)`` and ``worker_matrix_smoothness_bound(Ls)`` give one value per worker
(the protocol read by :mod:`jcomp.algorithms._smoothness_aware`); ``omega(d, n)`` is their max
(every C_i is in U(max_i ω_i)) and ``matrix_smoothness_bound(L)`` the max over workers with one
common L; ``theta(d, n) = (1/n²)Σ_i ω_i`` (independent: ``E‖(1/n)Σ_iC_i(x) − x‖² =
(1/n²)Σ_iE‖C_i(x) − x‖²``), ``ab(d, n) = (max_i ω_i/n, 0)`` (the base rule). The contract's
``expected_cost(d, n)`` is one triple: with per-worker rand-τ+ probabilities it is the average
over workers (worker i's own is ``expected_cost_per_worker(d, n)[i]``, τ_i = Σ_j p_ij; they
coincide for the rand-τ+ rule, where every Σ_j p_ij = τ), as for ISCC.

Parameters are stored as tuples (of tuples) of Python floats so the dataclasses stay hashable
(static under ``jit``); their length is checked against ``d`` when called.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Compressor, Message, check_int, index_bits, register, worker_keys
from ._encoding import qsgd_elias_bits

__all__ = [
    "ENCODERS",
    "BlockQuant",
    "RandTau",
    "VaryingStep",
    "block_quant",
    "block_sizes",
    "e1_bits",
    "lift_per_worker",
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


def _has_bool(value) -> bool:
    """Whether a (nested) sequence holds a bool (``True`` is not a step or a probability)."""
    if isinstance(value, bool | np.bool_):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == np.bool_
    if isinstance(value, list | tuple):
        return any(_has_bool(v) for v in value)
    return False


def _check_rows(name: str, value, where: str, ok, allowed: str) -> tuple:
    """A parameter as one shared row (tuple of floats) or n per-worker rows (tuple of tuples).

    ``ok(a)`` says elementwise (NumPy) which entries are allowed; ``allowed`` describes them."""
    shape_msg = (
        f"{where}{name}={value!r} is not allowed: expected a non-empty sequence of {allowed} "
        "(one row shared by all workers) or n rows of equal length (one per worker)"
    )
    if isinstance(value, str | bytes):
        raise ValueError(shape_msg)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(shape_msg) from None
    if arr.ndim not in (1, 2) or arr.size == 0 or _has_bool(value):
        raise ValueError(shape_msg)
    bad = np.argwhere(~ok(arr))
    if bad.size:
        idx = tuple(bad[0])
        row = f" (worker {idx[0]}'s row)" if arr.ndim == 2 else ""
        v = float(arr[idx])
        raise ValueError(f"{where}{name} contains {v!r}{row}: every entry must be {allowed}")
    if arr.ndim == 1:
        return tuple(float(v) for v in arr)
    return tuple(tuple(float(v) for v in r) for r in arr)


def _check_steps(name: str, h, where: str) -> tuple:
    return _check_rows(
        name, h, where, lambda a: np.isfinite(a) & (a > 0), "finite numbers > 0 (steps)"
    )


def _is_per_worker(param: tuple) -> bool:
    return bool(param) and isinstance(param[0], tuple)


def _row_length(param: tuple) -> int:
    return len(param[0]) if _is_per_worker(param) else len(param)


def _check_workers(cname: str, field: str, param: tuple, n: int) -> None:
    if _is_per_worker(param) and len(param) != n:
        raise ValueError(
            f"{cname}: {field} has {len(param)} rows (per-worker parameters) but there are "
            f"n={n} workers: expected {field} with n={n} rows, or one shared row"
        )


def _worker_rows(cname: str, field: str, param: tuple, n: int) -> tuple:
    """The n rows of a parameter: the shared row n times, or the checked per-worker rows."""
    _check_workers(cname, field, param, n)
    return param if _is_per_worker(param) else (param,) * n


def _distinct_rows(param: tuple) -> tuple:
    """Every row once (the shared row, or each worker's row): for n-free maxima."""
    return param if _is_per_worker(param) else (param,)


def lift_per_worker(rule, key: jax.Array, X: jax.Array, params: tuple) -> Message:
    """:func:`~jcomp.compressors._base.lift_independent` with worker parameters: apply
    ``rule(key_i, x_i, params_i) -> (values, bits, bits_noidx, coords)`` to every row with the
    worker key ``fold_in(key, i)``; ``params`` is one shared row (every worker) or n rows
    (worker i gets row i; the caller has checked their number). Parameters enter as arrays of
    X's dtype."""
    P = jnp.asarray(params, X.dtype)
    in_axes = (0, 0, 0 if _is_per_worker(params) else None)
    values, bits, bits_noidx, coords = jax.vmap(rule, in_axes=in_axes)(
        worker_keys(key, X.shape[0]), X, P
    )
    dtype = X.dtype
    return Message(values, bits.astype(dtype), bits_noidx.astype(dtype), coords.astype(dtype))


def _check_matrices(Ls, n: int | None, d: int, where: str) -> np.ndarray:
    """Ls as float64 (n, d, d); n = None: any leading size."""
    Ls = np.asarray(Ls, np.float64)
    if Ls.ndim != 3 or Ls.shape[1:] != (d, d) or (n is not None and Ls.shape[0] != n):
        want = f"({'n' if n is None else n}, {d}, {d})"
        raise ValueError(f"{where}Ls must have shape {want} (one L_i per worker); got {Ls.shape}")
    return Ls


class _PerWorkerMixin:
    """θ from the per-worker ω_i (``worker_omega``), and the per-worker cost triples."""

    def theta(self, d, n):
        """``(1/n²)Σ_i ω_i`` (= ω/n for a shared row): independent unbiased C_i."""
        w = self.worker_omega(d, n)
        return None if w is None else math.fsum(w) / (n * n)

    def expected_cost_per_worker(self, d, n):
        """``(n, 3)`` tuple: worker i's expected (bits, bits_noidx, coords)."""
        return (self.expected_cost(d, n),) * n


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


def _qh_omega(h) -> float:
    s = math.fsum(v * v for v in h)
    return min(s, math.sqrt(s))


def _qh_bounds(diag: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``min(Σ_j L_jj h_j², ‖Diag(L)h‖)`` along the last axis."""
    return np.minimum(np.sum(diag * h * h, axis=-1), np.linalg.norm(diag * h, axis=-1))


@register
class VaryingStep(_PerWorkerMixin, Compressor):
    """Varying-step quantizer Q_h (seed 000 Def. 4, "quant+").

    With ``v_j = |x_j|/‖x‖₂``: ``k̂_j = ⌊v_j/h_j⌋ + Bernoulli(frac(v_j/h_j))`` (unbounded levels,
    no clipping) and ``Q_h(x)_j = ‖x‖ sign(x_j) k̂_j h_j``; ``0 ↦ 0``. Unbiased, and for any PSD L
    ``E‖Q_h(x) − x‖²_L = ‖x‖² Σ_j L_jj h_j² θ_j(1 − θ_j)``, ``θ_j = frac(v_j/h_j)`` (independent
    coordinates: the off-diagonal terms vanish). Hence ``ω = min(‖h‖², ‖h‖)`` (θ(1−θ)h² ≤
    min(h², h·v) and ‖v‖ = 1) and ``𝓛 ≤ min(Σ_j L_jj h_j², ‖Diag(L)h‖)``.
    Per-worker steps (``h`` of n rows, module docstring): worker i quantizes with h_i;
    ``worker_omega`` / ``worker_matrix_smoothness_bound`` give ω_i, 𝓛_i row by row.
    Cost: ``coords = d + 1``; ``bits = bits_noidx`` = QSGD/Elias of the realized k̂ as one block
    (``encoder="qsgd"``, default) or the E.1 count (``encoder="e1"``); data dependent, so
    ``expected_cost`` raises.
    """

    h: tuple
    encoder: str = "qsgd"
    name = "varying_step"
    unbiased = True

    @property
    def per_worker(self) -> bool:
        """Whether ``h`` holds one row per worker."""
        return _is_per_worker(self.h)

    def validate(self, d, n):
        m = _row_length(self.h)
        if m != d:
            rows = " in every worker's row" if self.per_worker else ""
            raise ValueError(
                f"{self.name}: h has length {m}{rows} but the dimension is d={d}: "
                "expected one step per coordinate"
            )
        _check_workers(self.name, "h", self.h, n)

    def levels(self, key: jax.Array, x: jax.Array, h=None) -> tuple[jax.Array, jax.Array]:
        """One row: (values, integer levels k̂) with steps ``h`` (default: the shared row; a
        per-worker compressor needs the worker's row)."""
        if h is None:
            if self.per_worker:
                raise ValueError(
                    f"{self.name}.levels: h=None is not allowed with per-worker steps: pass "
                    "the worker's row of steps"
                )
            h = self.h
        h = jnp.asarray(h, x.dtype)
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

        def rule(key_i, x, h):
            values, k = self.levels(key_i, x, h)
            bits = qsgd_elias_bits(k, float_bits=fb) if enc == "qsgd" else e1_bits(k, d, fb)
            return values, bits, bits, jnp.asarray(d + 1)

        return lift_per_worker(rule, key, X, self.h)

    def worker_omega(self, d, n) -> tuple[float, ...]:
        """``ω_i = min(‖h_i‖², ‖h_i‖)`` for each of the n workers."""
        _check_workers(self.name, "h", self.h, n)
        if self.per_worker:
            return tuple(_qh_omega(r) for r in self.h)
        return (_qh_omega(self.h),) * n

    def omega(self, d, n):
        return max(self.worker_omega(d, n))

    def matrix_smoothness_bound(self, L) -> float:
        """``min(Σ_j L_jj h_j², ‖Diag(L)h‖)`` ≥ 𝓛(Q_h, L); per-worker steps: the max over the
        workers' rows (one common L)."""
        diag = _check_psd_diag(L, _row_length(self.h), f"{self.name}.matrix_smoothness_bound: ")
        return float(np.max(_qh_bounds(diag, np.asarray(_distinct_rows(self.h)))))

    def worker_matrix_smoothness_bound(self, Ls) -> tuple[float, ...]:
        """``min(Σ_j L_i;jj h_ij², ‖Diag(L_i)h_i‖)`` ≥ 𝓛(Q_{h_i}, L_i) for ``Ls`` (n, d, d)."""
        where = f"{self.name}.worker_matrix_smoothness_bound: "
        Ls = _check_matrices(Ls, None, _row_length(self.h), where)
        h = np.asarray(_worker_rows(self.name, "h", self.h, Ls.shape[0]))
        return tuple(float(v) for v in _qh_bounds(np.einsum("njj->nj", Ls), h))

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


def _block_omega(d: int, B: int, h) -> float:
    return max(
        min(dl * v * v, math.sqrt(dl) * v) for dl, v in zip(block_sizes(d, B), h, strict=True)
    )


def _block_bound(diag: np.ndarray, seg: np.ndarray, h) -> float:
    """``max_l min(h_l²‖Diag(L^{ll})‖₁, h_l‖Diag(L^{ll})‖)`` of one row of block steps."""
    out = 0.0
    for l, v in enumerate(h):  # B host-side scalars, no coordinate loop
        dl = diag[seg == l]
        out = max(out, min(v * v * dl.sum(), v * np.linalg.norm(dl)))
    return float(out)


@register
class BlockQuant(_PerWorkerMixin, Compressor):
    """Block quantizer Q_h^B (seed 000 Def. 3) with per-block steps ``h_blocks`` (length B).

    Contiguous blocks (:func:`block_sizes`). Coordinate t of block l becomes
    ``‖x^l‖ sign(x_t) ξ_l(|x_t|/‖x^l‖)`` where ξ_l rounds randomly (unbiased) to the unbounded
    levels ``{0, h_l, 2h_l, …}``. Unbiased; per block the error is
    ``‖x^l‖² h_l² Σ_{t∈l} θ_t(1 − θ_t)``, so ``ω = max_l min(d_l h_l², √d_l h_l)`` (the spec's
    tight form) and ``𝓛 ≤ max_l min(h_l²‖Diag(L^{ll})‖₁, h_l‖Diag(L^{ll})‖)``.
    Per-worker steps (``h_blocks`` of n rows of length B, module docstring): worker i uses
    h_i (the block layout is common); ω_i, 𝓛_i row by row.
    Cost: ``coords = d + B`` (levels and B norms); ``bits = bits_noidx`` = Σ over blocks of the
    QSGD/Elias count (32-bit norm, gaps restarting at −1 in every block), vectorized by padding
    the blocks into a ``(B, max d_l)`` array (padding levels are 0 and cost nothing).
    """

    h_blocks: tuple
    blocks: int
    name = "block_quant"
    unbiased = True

    @property
    def per_worker(self) -> bool:
        """Whether ``h_blocks`` holds one row per worker."""
        return _is_per_worker(self.h_blocks)

    def validate(self, d, n):
        self._check_blocks(d)
        _check_workers(self.name, "h_blocks", self.h_blocks, n)

    def _compress(self, key, X):
        d = X.shape[1]
        B, fb = self.blocks, self.float_bits
        seg, gather, valid = _block_layout(d, B)
        seg_j, gather_j, valid_j = jnp.asarray(seg), jnp.asarray(gather), jnp.asarray(valid)

        def rule(key_i, x, hb):
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

        return lift_per_worker(rule, key, X, self.h_blocks)

    def worker_omega(self, d, n) -> tuple[float, ...]:
        """``ω_i = max_l min(d_l h_il², √d_l h_il)`` for each of the n workers."""
        _check_workers(self.name, "h_blocks", self.h_blocks, n)
        if self.per_worker:
            return tuple(_block_omega(d, self.blocks, r) for r in self.h_blocks)
        return (_block_omega(d, self.blocks, self.h_blocks),) * n

    def omega(self, d, n):
        return max(self.worker_omega(d, n))

    def _check_blocks(self, d, where=""):
        if self.blocks > d:
            raise ValueError(
                f"{where or self.name + ': '}blocks={self.blocks} is out of range for d={d}: "
                "expected at most d blocks (every block needs a coordinate)"
            )

    def matrix_smoothness_bound(self, L) -> float:
        """``max_l min(h_l²‖Diag(L^{ll})‖₁, h_l‖Diag(L^{ll})‖)`` ≥ 𝓛(Q_h^B, L); per-worker steps:
        the max over the workers' rows (one common L)."""
        where = f"{self.name}.matrix_smoothness_bound: "
        L = np.asarray(L, np.float64)
        d = L.shape[0] if L.ndim == 2 else -1
        diag = _check_psd_diag(L, d, where)
        self._check_blocks(d, where)
        seg, _, _ = _block_layout(d, self.blocks)
        return max(_block_bound(diag, seg, r) for r in _distinct_rows(self.h_blocks))

    def worker_matrix_smoothness_bound(self, Ls) -> tuple[float, ...]:
        """``max_l min(h_il²‖Diag(L_i^{ll})‖₁, h_il‖Diag(L_i^{ll})‖)`` ≥ 𝓛(Q_{h_i}^B, L_i) for
        ``Ls`` (n, d, d)."""
        where = f"{self.name}.worker_matrix_smoothness_bound: "
        Ls = np.asarray(Ls, np.float64)
        d = Ls.shape[-1] if Ls.ndim == 3 else -1
        Ls = _check_matrices(Ls, None, d, where)
        n = Ls.shape[0]
        self._check_blocks(d, where)
        seg, _, _ = _block_layout(d, self.blocks)
        rows = _worker_rows(self.name, "h_blocks", self.h_blocks, n)
        diag = np.einsum("njj->nj", Ls)
        return tuple(_block_bound(diag[i], seg, rows[i]) for i in range(n))

    def expected_cost(self, d, n):
        raise NotImplementedError(
            f"{self.name}: expected_cost is data dependent (QSGD/Elias bits depend on the "
            "realized levels); use the realized Message.bits (coords are always d + B)"
        )


# ------------------------------------------------------------------------------------ rand-τ+


@register
class RandTau(_PerWorkerMixin, Compressor):
    """rand-τ+: independent coordinate sampling, coordinate j kept with probability ``p_j``
    (``τ = Σ_j p_j`` expected coordinates), kept values scaled by ``1/p_j``.

    ``scaled=True`` (default): unbiased, ``E‖C(x) − x‖²_L = Σ_j (1/p_j − 1)L_jj x_j²`` for any PSD
    L, so ``ω = max_j(1/p_j − 1)`` and ``𝓛 = max_j(1/p_j − 1)L_jj`` (both exact suprema).
    ``scaled=False`` (the authors' code): biased, ``E‖C(x) − x‖² = Σ_j(1 − p_j)x_j²``, so
    B(min_j p_j). Cost: ``coords = nnz``, ``bits = nnz(32 + ⌈log₂d⌉)`` (indices charged: the
    support is the sender's private draw), ``bits_noidx = 32·nnz``; expected with nnz → τ.
    Per-worker probabilities (``probs`` of n rows, module docstring): worker i samples with p_i;
    ω_i, 𝓛_i, τ_i = Σ_j p_ij row by row; ``delta`` = min over every row; ``tau`` and
    ``expected_cost`` average over the workers (``worker_tau``, ``expected_cost_per_worker``).
    """

    probs: tuple
    scaled: bool = True
    name = "rand_tau"

    @property
    def unbiased(self) -> bool:  # type: ignore[override]
        return self.scaled

    @property
    def per_worker(self) -> bool:
        """Whether ``probs`` holds one row per worker."""
        return _is_per_worker(self.probs)

    @property
    def tau(self) -> float:
        """Expected coordinates per message: Σ_j p_j (per-worker: averaged over workers)."""
        rows = _distinct_rows(self.probs)
        return math.fsum(math.fsum(r) for r in rows) / len(rows)

    def worker_tau(self, n: int) -> tuple[float, ...]:
        """``τ_i = Σ_j p_ij`` for each of the n workers."""
        _check_workers(self.name, "probs", self.probs, n)
        if self.per_worker:
            return tuple(math.fsum(r) for r in self.probs)
        return (math.fsum(self.probs),) * n

    def validate(self, d, n):
        m = _row_length(self.probs)
        if m != d:
            rows = " in every worker's row" if self.per_worker else ""
            raise ValueError(
                f"{self.name}: probs has length {m}{rows} but the dimension is d={d}: "
                "expected one probability per coordinate"
            )
        _check_workers(self.name, "probs", self.probs, n)

    def _compress(self, key, X):
        d = X.shape[1]
        fb, ib, scaled = self.float_bits, index_bits(d), self.scaled

        def rule(key_i, x, p):
            keep = jax.random.uniform(key_i, x.shape, x.dtype) < p
            values = jnp.where(keep, x / p if scaled else x, jnp.zeros((), x.dtype))
            nnz = keep.sum()
            return values, nnz * (fb + ib), nnz * fb, nnz

        return lift_per_worker(rule, key, X, self.probs)

    def worker_omega(self, d, n) -> tuple[float, ...] | None:
        """``ω_i = max_j(1/p_ij − 1)`` for each of the n workers (scaled only, else None)."""
        if not self.scaled:
            return None
        _check_workers(self.name, "probs", self.probs, n)
        if self.per_worker:
            return tuple(max(1 / p - 1 for p in r) for r in self.probs)
        return (max(1 / p - 1 for p in self.probs),) * n

    def omega(self, d, n):
        w = self.worker_omega(d, n)
        return None if w is None else max(w)

    def delta(self, d):
        return None if self.scaled else min(min(r) for r in _distinct_rows(self.probs))

    def _check_scaled(self):
        if not self.scaled:
            raise ValueError(f"{self.name}: matrix smoothness is defined for scaled=True only")

    def matrix_smoothness_bound(self, L) -> float:
        """``max_j (1/p_j − 1)L_jj`` = 𝓛(rand-τ+, L) (scaled only); per-worker probabilities:
        the max over the workers' rows (one common L)."""
        self._check_scaled()
        where = f"{self.name}.matrix_smoothness_bound: "
        diag = _check_psd_diag(L, _row_length(self.probs), where)
        p = np.asarray(_distinct_rows(self.probs))
        return float(np.max((1 / p - 1) * diag))

    def worker_matrix_smoothness_bound(self, Ls) -> tuple[float, ...]:
        """``max_j (1/p_ij − 1)L_i;jj`` = 𝓛(C_i, L_i) for ``Ls`` (n, d, d) (scaled only)."""
        self._check_scaled()
        where = f"{self.name}.worker_matrix_smoothness_bound: "
        Ls = _check_matrices(Ls, None, _row_length(self.probs), where)
        p = np.asarray(_worker_rows(self.name, "probs", self.probs, Ls.shape[0]))
        return tuple(float(v) for v in np.max((1 / p - 1) * np.einsum("njj->nj", Ls), axis=1))

    def _cost(self, tau, d):
        return (tau * (self.float_bits + index_bits(d)), tau * self.float_bits, tau)

    def expected_cost(self, d, n):
        """Expected (bits, bits_noidx, coords) per worker message; per-worker probabilities:
        the average over workers (worker i's own: :meth:`expected_cost_per_worker`)."""
        _check_workers(self.name, "probs", self.probs, n)
        return self._cost(self.tau, d)

    def expected_cost_per_worker(self, d, n):
        """``(n, 3)`` tuple: worker i's expected (bits, bits_noidx, coords), nnz → τ_i."""
        return tuple(self._cost(t, d) for t in self.worker_tau(n))


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
    """Varying-step Q_h with per-coordinate steps ``h`` (every ``h_j > 0``): one row of length
    d shared by all workers, or n rows (an (n, d) sequence / array, worker i uses row i); and
    ``encoder`` in ``("qsgd", "e1")``."""
    steps = _check_steps("h", h, "varying_step: ")
    if encoder not in ENCODERS:
        raise ValueError(
            f"varying_step: encoder={encoder!r} is not allowed: expected one of {ENCODERS}"
        )
    return VaryingStep(steps, encoder)


def block_quant(h_blocks, blocks: int | None = None) -> BlockQuant:
    """Block quant Q_h^B with ``blocks`` = B contiguous blocks (default: the length of a row of
    ``h_blocks``) and per-block steps ``h_blocks`` (every ``h_l > 0``): one row of length B
    shared by all workers, or n rows (an (n, B) sequence / array, worker i uses row i)."""
    steps = _check_steps("h_blocks", h_blocks, "block_quant: ")
    m = _row_length(steps)
    B = m if blocks is None else check_int("blocks", blocks, 1, where="block_quant: ")
    if m != B:
        what = "each row's length" if _is_per_worker(steps) else "len(h_blocks)"
        raise ValueError(
            f"block_quant: blocks={B} does not match {what}={m}: expected one step per block"
        )
    return BlockQuant(steps, B)


def rand_tau(probs, scaled: bool = True) -> RandTau:
    """rand-τ+ with per-coordinate keep probabilities ``probs`` (each in (0, 1], τ = Σ p_j): one
    row of length d shared by all workers, or n rows (an (n, d) sequence / array, worker i uses
    row i); ``scaled=False`` is the authors' biased code (no 1/p_j scaling)."""
    p = _check_rows(
        "probs",
        probs,
        "rand_tau: ",
        lambda a: np.isfinite(a) & (a > 0) & (a <= 1),
        "numbers in (0, 1] (probabilities)",
    )
    if not isinstance(scaled, bool):
        raise ValueError(f"rand_tau: scaled={scaled!r} is not allowed: expected True or False")
    return RandTau(p, scaled)
