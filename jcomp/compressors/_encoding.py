"""Integer encodings used for exact bit accounting (spec ALGORITHMS.md §3).

* Elias-ω of ``N ≥ 1``: ``c = "0"``; while ``N > 1``: ``c = bin(N) + c``, ``N = len(bin(N)) − 1``
  (``bin`` without the ``0b`` prefix). :func:`elias_omega_length` gives the code length for
  integer arrays (jnp, traceable); :func:`elias_omega_encode` / :func:`elias_omega_decode` are
  pure-Python references used by the tests.
* Elias-γ of ``N ≥ 1``: ``⌊log₂N⌋`` zeros then ``bin(N)``, length ``2⌊log₂N⌋ + 1``
  (:func:`elias_gamma_length`; :func:`elias_gamma_encode` is the pure-Python reference). Not
  used by a compressor of the spec (whose messages name Elias-ω); offered for user encoders.
* QSGD/Elias message (Alistarh et al. 2017) of one block of integer levels: 32 bits (the norm),
  then for every nonzero level ``k`` in position order ``|ω(gap)| + 1 + |ω(|k|)|`` (gap to the
  previous nonzero position, the previous one starting at −1; 1 sign bit):
  :func:`qsgd_elias_bits`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "elias_gamma_encode",
    "elias_gamma_length",
    "elias_omega_decode",
    "elias_omega_encode",
    "elias_omega_length",
    "qsgd_elias_bits",
]

#: Chain depth bound of the Elias-ω recursion N ↦ ⌊log₂N⌋ for N < 2⁶⁴: 2⁶⁴−1 → 63 → 5 → 2 → 1.
_MAX_STEPS = 6


def elias_omega_encode(N: int) -> str:
    """The Elias-ω code word of ``N ≥ 1`` as a string of '0'/'1' (pure Python)."""
    N = int(N)
    if N < 1:
        raise ValueError(f"elias_omega_encode: N={N} is not allowed: expected an integer >= 1")
    c = "0"
    while N > 1:
        b = bin(N)[2:]
        c = b + c
        N = len(b) - 1
    return c


def elias_omega_decode(code: str) -> list[int]:
    """Decode a concatenation of Elias-ω code words (pure Python); rejects a truncated tail."""
    out, i = [], 0
    while i < len(code):
        N = 1
        while True:
            if i >= len(code):
                raise ValueError("elias_omega_decode: truncated code word")
            if code[i] == "0":
                i += 1
                break
            if i + N + 1 > len(code):
                raise ValueError("elias_omega_decode: truncated code word")
            N, i = int(code[i : i + N + 1], 2), i + N + 1
        out.append(N)
    return out


def elias_gamma_encode(N: int) -> str:
    """The Elias-γ code word of ``N ≥ 1``: ``⌊log₂N⌋`` zeros, then N in binary (pure Python)."""
    N = int(N)
    if N < 1:
        raise ValueError(f"elias_gamma_encode: N={N} is not allowed: expected an integer >= 1")
    b = bin(N)[2:]
    return "0" * (len(b) - 1) + b


def elias_gamma_length(N) -> jax.Array:
    """Length in bits of the Elias-γ code of each entry of the integer array ``N ≥ 1``:
    ``2⌊log₂N⌋ + 1``. Entries ``< 1`` have no code; they are treated as 1 (length 1)."""
    N = jnp.asarray(N)
    if not jnp.issubdtype(N.dtype, jnp.integer):
        raise ValueError(f"elias_gamma_length: N must be an integer array; got dtype {N.dtype}")
    return 2 * _bit_length(jnp.maximum(N, 1)) - 1


def _bit_length(N: jax.Array) -> jax.Array:
    """``len(bin(N))`` for positive integers: the width of the type minus the leading zeros."""
    width = jnp.iinfo(N.dtype).bits
    return width - jax.lax.clz(N)


def elias_omega_length(N) -> jax.Array:
    """Length in bits of the Elias-ω code of each entry of the integer array ``N ≥ 1``.

    ``1 + Σ`` over the recursion ``N ← len(bin(N)) − 1`` (while ``N > 1``) of ``len(bin(N))``,
    unrolled to the recursion's maximal depth (6 for 64-bit integers). Entries ``< 1`` have no
    code; they are treated as 1 (length 1) so callers can mask them.
    """
    N = jnp.asarray(N)
    if not jnp.issubdtype(N.dtype, jnp.integer):
        raise ValueError(f"elias_omega_length: N must be an integer array; got dtype {N.dtype}")
    N = jnp.maximum(N, 1)
    length = jnp.ones(N.shape, N.dtype)
    for _ in range(_MAX_STEPS):
        b = _bit_length(N)
        more = N > 1
        length = length + jnp.where(more, b, 0)
        N = jnp.where(more, b - 1, N)
    return length


def qsgd_elias_bits(levels, float_bits: int = 32) -> jax.Array:
    """Bits of the QSGD/Elias message of one block of integer levels (last axis = positions).

    ``float_bits + Σ_{k_j ≠ 0} (|ω(gap_j)| + 1 + |ω(|k_j|)|)`` with ``gap_j = j − prev_j`` and
    ``prev_j`` the previous nonzero position (−1 before the first). Vectorized: ``prev`` is the
    running maximum of the nonzero positions (an associative scan), shifted by one. Leading
    axes are batch axes.
    """
    k = jnp.asarray(levels)
    if not jnp.issubdtype(k.dtype, jnp.integer):
        raise ValueError(f"qsgd_elias_bits: levels must be an integer array; got dtype {k.dtype}")
    d = k.shape[-1]
    idt = jnp.int64 if jax.config.jax_enable_x64 else jnp.int32
    k = jnp.abs(k).astype(idt)
    nz = k != 0
    pos = jnp.broadcast_to(jnp.arange(d, dtype=idt), k.shape)
    marked = jnp.where(nz, pos, -1)
    # last nonzero position <= j. An associative (log-depth) scan: XLA's CPU cummax of a
    # (100, 10⁴) array took 14–34 ms, this 4 ms, with the same values
    last = jax.lax.associative_scan(jnp.maximum, marked, axis=marked.ndim - 1)
    prev = jnp.concatenate([jnp.full(k.shape[:-1] + (1,), -1, idt), last[..., :-1]], axis=-1)
    gap = pos - prev  # >= 1 everywhere
    per = elias_omega_length(gap) + 1 + elias_omega_length(k)
    return float_bits + jnp.where(nz, per, 0).sum(-1)
