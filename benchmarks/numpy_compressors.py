"""NumPy reference implementations of jcomp's compressors, written the way papers' code runs.

Each reference applies the same rule as the jcomp compressor (same distribution of the decoded
values, same bit count of the realized message) with a Python loop over workers, NumPy inside a
worker, and a :class:`numpy.random.Generator` for randomness; shared randomness (PermK's
permutation, CQ's per-coordinate permutations, CORE's vectors, ...) is drawn once per call
before the loop. The random streams differ from jcomp's (JAX keys), so agreement is in law,
checked by ``tests/compressors/test_numpy_references.py`` on defining statistics.

``reference(comp)`` returns ``f(rng, X) -> (values (n, d), bits (n,), bits_noidx (n,),
coords (n,))`` for a jcomp compressor object, or raises :class:`MissingReference`;
``has_reference(comp)`` says whether one exists. ``X`` is a NumPy array; values follow its dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["MissingReference", "elias_omega_length", "has_reference", "reference", "REFERENCES"]

Ref = Callable[[np.random.Generator, np.ndarray], tuple]


class MissingReference(KeyError):
    """No NumPy reference exists for this compressor."""


def _index_bits(d: int) -> int:
    return math.ceil(math.log2(d)) if d > 1 else 0


def _bit_length(N: np.ndarray) -> np.ndarray:
    """``len(bin(N))`` for positive integers below 2⁵³ (frexp is exact there)."""
    return np.frexp(N.astype(np.float64))[1].astype(np.int64)


def elias_omega_length(N) -> np.ndarray:
    """Elias-ω code length of each positive integer: 1 + Σ len(bin(N)) over N ← len(bin(N)) − 1."""
    N = np.asarray(N, np.int64)
    length = np.ones(N.shape, np.int64)
    more = N > 1
    while more.any():
        b = _bit_length(N)
        length = length + np.where(more, b, 0)
        N = np.where(more, b - 1, N)
        more = N > 1
    return length


def _qsgd_bits(k: np.ndarray, float_bits: int) -> int:
    """QSGD/Elias bits of one block of integer levels: norm, then per nonzero level
    ω(gap) + sign + ω(|k|), the gap counted from the previous nonzero (−1 at the start)."""
    nz = np.flatnonzero(k)
    if nz.size == 0:
        return float_bits
    gaps = np.diff(nz, prepend=-1)
    return int(
        float_bits + (elias_omega_length(gaps) + 1 + elias_omega_length(np.abs(k[nz]))).sum()
    )


def _e1_bits(k: np.ndarray, float_bits: int) -> int:
    """Seed 000 App. E.1 bits: (float_bits − 1) + ⌈log₂(d+1)⌉ + ⌈log₂C(d, n₀)⌉ + (d − n₀) + Σk."""
    d = k.size
    n0 = int((k == 0).sum())
    comb = (math.comb(d, n0) - 1).bit_length()
    return float_bits - 1 + math.ceil(math.log2(d + 1)) + comb + (d - n0) + int(np.abs(k).sum())


def _alloc(X):
    n, d = X.shape
    return np.zeros((n, d), X.dtype), np.zeros(n), np.zeros(n), np.zeros(n)


def _fixed(comp, X, values):
    n, d = X.shape
    b, bn, c = comp.expected_cost(d, n)
    return values, np.full(n, float(b)), np.full(n, float(bn)), np.full(n, float(c))


# ---------------------------------------------------------------------------------- sparsifiers


def _identity(comp, rng, X):
    return _fixed(comp, X, X.copy())


def _rand_k(comp, rng, X):
    n, d = X.shape
    k = comp.k
    out, bits, bn, coords = _alloc(X)
    for i in range(n):
        idx = rng.choice(d, k, replace=False)
        out[i, idx] = X[i, idx] * (d / k)
        bits[i], bn[i], coords[i] = k * (comp.float_bits + _index_bits(d)), k * comp.float_bits, k
    return out, bits, bn, coords


def _top_k(comp, rng, X):
    n, d = X.shape
    out = np.zeros_like(X)
    for i in range(n):
        idx = np.argsort(-np.abs(X[i]), kind="stable")[: comp.k]  # ties: lower index first
        out[i, idx] = X[i, idx]
    return _fixed(comp, X, out)


def _same_rand_k(comp, rng, X):
    n, d = X.shape
    mask = np.zeros(d, X.dtype)
    mask[rng.choice(d, comp.k, replace=False)] = d / comp.k if comp.scaled else 1.0
    out = np.empty_like(X)
    for i in range(n):
        out[i] = X[i] * mask
    return _fixed(comp, X, out)


def _perm_k(comp, rng, X):
    n, d = X.shape
    out, bits, bn, coords = _alloc(X)
    fb = comp.float_bits
    if d >= n:
        q, r = divmod(d, n)
        perm = rng.permutation(d)  # coordinates in permuted order, cut into n blocks
        sizes = np.where(np.arange(n) < r, q + 1, q)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        held = rng.permutation(n) if r else np.arange(n)  # block of worker i
        for i in range(n):
            blk = perm[starts[held[i]] : starts[held[i]] + sizes[held[i]]]
            out[i, blk] = n * X[i, blk]
            coords[i] = sizes[held[i]]
    else:
        q = n // d
        coord = rng.permutation(n) // q  # coordinate of worker i (d: nothing)
        for i in range(n):
            if coord[i] < d:
                out[i, coord[i]] = (n / q) * X[i, coord[i]]
                coords[i] = 1
    bits[:] = fb * coords
    bn[:] = bits
    return out, bits, bn, coords


# ---------------------------------------------------------------------------------- quantizers


def _natural_round(u, x):
    ax = np.abs(x)
    m, e = np.frexp(ax)
    low = np.ldexp(np.asarray(0.5, x.dtype), e).astype(x.dtype)
    mag = np.where(u < 2.0 - 2.0 * m, low, 2 * low)
    return np.where(ax >= np.finfo(x.dtype).tiny, np.sign(x) * mag, 0).astype(x.dtype)


def _natural(comp, rng, X):
    n, d = X.shape
    out = np.empty_like(X)
    for i in range(n):
        out[i] = _natural_round(rng.random(d, dtype=X.dtype), X[i])
    return _fixed(comp, X, out)


def _norm_ratio(x, norm):
    ax = np.abs(x)
    nrm = np.sqrt((ax * ax).sum()) if norm == "l2" else ax.max()
    v = np.clip(ax / nrm, 0, 1) if nrm > 0 else np.zeros_like(ax)
    return nrm, v


def _dither_row(rng, x, s, norm):
    nrm, v = _norm_ratio(x, norm)
    t = s * v
    lo = np.floor(t)
    k = np.clip(lo + (rng.random(x.size, dtype=x.dtype) < t - lo), 0, s).astype(np.int64)
    return (nrm * np.sign(x) * (k / s)).astype(x.dtype), k


def _dithering(comp, rng, X):
    n, d = X.shape
    out, bits, bn, coords = _alloc(X)
    for i in range(n):
        out[i], k = _dither_row(rng, X[i], comp.s, comp.norm)
        bits[i] = bn[i] = _qsgd_bits(k, comp.float_bits)
        coords[i] = d + 1
    return out, bits, bn, coords


def _ternary(comp, rng, X):
    out = np.empty_like(X)
    for i in range(X.shape[0]):
        out[i] = _dither_row(rng, X[i], 1, "linf")[0]
    return _fixed(comp, X, out)


def _natural_dithering(comp, rng, X):
    n, d = X.shape
    s = comp.s
    h = 2.0 ** (1 - s)
    out = np.empty_like(X)
    for i in range(n):
        nrm, v = _norm_ratio(X[i], comp.norm)
        u = rng.random(d, dtype=X.dtype)
        m, e = np.frexp(v)
        low = np.ldexp(0.5, e)
        big = np.where(u < 2 * m - 1, 2 * low, low)
        small = np.where(u < v / h, h, 0.0)
        mag = np.minimum(np.where(v >= h, big, small), 1.0)
        out[i] = nrm * np.sign(X[i]) * mag
    return _fixed(comp, X, out)


def _bernoulli(comp, rng, X):
    n, d = X.shape
    out, bits, bn, coords = _alloc(X)
    for i in range(n):
        if rng.random() < comp.p:
            out[i] = X[i] / comp.p if comp.unbiased else X[i]
            bits[i] = bn[i] = comp.float_bits * d
            coords[i] = d
    return out, bits, bn, coords


def _quantize_row(x, u, s, lo, width):
    """IQ/CQ's rounding on ``lo + (width/s)·{0..s}`` with uniforms u."""
    delta = width / s
    t = np.clip((x - lo) / delta, 0, s) if delta > 0 else np.zeros_like(x)
    fl = np.floor(t)
    return (lo + delta * (fl + (t - fl > u))).astype(x.dtype)


def _row_norms(X):
    return np.sqrt((X.astype(np.float64) ** 2).sum(1))


def _iq(comp, rng, X):
    n, d = X.shape
    R = _row_norms(X).max() if comp.range_ == "shared" else None
    out = np.empty_like(X)
    for i in range(n):
        r = R if R is not None else np.sqrt((X[i] * X[i]).sum())
        out[i] = _quantize_row(X[i], rng.random(d, dtype=X.dtype), comp.s, -r, 2 * r)
    return _fixed(comp, X, out)


def _cq_perms(rng, n, d, perm="uniform"):
    """(n, d): column j a permutation of 0..n−1 (independent columns)."""
    if perm == "cyclic":
        return (rng.integers(0, n, d)[None, :] + np.arange(n)[:, None]) % n
    return rng.permuted(np.broadcast_to(np.arange(n)[:, None], (n, d)), axis=0)


def _cq(comp, rng, X):
    n, d = X.shape
    pi = _cq_perms(rng, n, d, comp.perm)  # shared, drawn once per call
    R = _row_norms(X).max() if comp.range_ == "shared" else None
    out = np.empty_like(X)
    for i in range(n):
        r = R if R is not None else np.sqrt((X[i] * X[i]).sum())
        U = (pi[i] + rng.random(d, dtype=X.dtype)) / n
        out[i] = _quantize_row(X[i], U, comp.s, -r, 2 * r)
    return _fixed(comp, X, out)


def _perm_k_cq(comp, rng, X):
    n, d = X.shape
    b = comp.b
    m, db = n // b, d // b
    pi = _cq_perms(rng, m, d)
    p = rng.permutation(n) if b > 1 else np.arange(n)  # worker positions
    c = rng.permutation(d) if b > 1 else np.arange(d)  # coordinate positions
    out = np.zeros_like(X)
    for i in range(n):
        keep = (c // db) == p[i] // m
        x = np.where(keep, X[i], 0).astype(X.dtype)
        r = np.sqrt((x * x).sum())
        U = (pi[p[i] % m] + rng.random(d, dtype=X.dtype)) / m
        out[i] = np.where(keep, b * _quantize_row(x, U, comp.s, -r, 2 * r), 0)
    return _fixed(comp, X, out)


# ------------------------------------------------------------------------ smoothness-aware (000)


def _levels_row(rng, x, h):
    """Unbounded random rounding of ``|x|/‖x‖ / h``: (levels k, norm)."""
    ax = np.abs(x)
    nrm = np.sqrt((ax * ax).sum())
    v = ax / nrm if nrm > 0 else np.zeros_like(ax)
    t = v / h
    lo = np.floor(t)
    k = (lo + (rng.random(x.size, dtype=x.dtype) < t - lo)).astype(np.int64)
    return k, nrm


def _worker_params(param, n, dtype):
    """(n, len) rows of a shared (1-D) or per-worker (2-D) parameter."""
    P = np.asarray(param, dtype)
    return np.broadcast_to(P, (n, P.shape[-1])) if P.ndim == 1 else P


def _varying_step(comp, rng, X):
    n, d = X.shape
    H = _worker_params(comp.h, n, X.dtype)
    out, bits, bn, coords = _alloc(X)
    for i in range(n):
        h = H[i]
        k, nrm = _levels_row(rng, X[i], h)
        out[i] = nrm * np.sign(X[i]) * k * h
        if comp.encoder == "qsgd":
            bits[i] = _qsgd_bits(k, comp.float_bits)
        else:
            bits[i] = _e1_bits(k, comp.float_bits)
        bn[i], coords[i] = bits[i], d + 1
    return out, bits, bn, coords


def _block_quant(comp, rng, X):
    n, d = X.shape
    B, fb = comp.blocks, comp.float_bits
    db = d // B
    sizes = np.array([db] * (B - 1) + [d - db * (B - 1)])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    seg = np.repeat(np.arange(B), sizes)
    HB = _worker_params(comp.h_blocks, n, X.dtype)
    out, bits, bn, coords = _alloc(X)
    for i in range(n):
        x = X[i]
        ax = np.abs(x)
        nrm = np.sqrt(np.add.reduceat(ax * ax, starts))[seg]
        h = HB[i][seg]
        v = np.where(nrm > 0, ax / np.where(nrm > 0, nrm, 1), 0)
        t = v / h
        lo = np.floor(t)
        k = (lo + (rng.random(d, dtype=X.dtype) < t - lo)).astype(np.int64)
        out[i] = nrm * np.sign(x) * k * h
        nz = np.flatnonzero(k)
        blk = seg[nz]
        prev = np.concatenate([[-1], nz[:-1]])
        first = np.concatenate([[True], blk[1:] != blk[:-1]]) if nz.size else np.zeros(0, bool)
        prev = np.where(first, starts[blk] - 1, prev)
        per = elias_omega_length(nz - prev) + 1 + elias_omega_length(k[nz])
        bits[i] = bn[i] = B * fb + per.sum()
        coords[i] = d + B
    return out, bits, bn, coords


def _rand_tau(comp, rng, X):
    n, d = X.shape
    P = _worker_params(comp.probs, n, X.dtype)
    ib = _index_bits(d)
    out, bits, bn, coords = _alloc(X)
    for i in range(n):
        p = P[i]
        keep = rng.random(d, dtype=X.dtype) < p
        out[i] = np.where(keep, X[i] / p if comp.scaled else X[i], 0)
        nnz = keep.sum()
        bits[i], bn[i], coords[i] = nnz * (comp.float_bits + ib), nnz * comp.float_bits, nnz
    return out, bits, bn, coords


# -------------------------------------------------------------------- projections and rotations


def _core(comp, rng, X):
    n, d = X.shape
    xi = rng.standard_normal((comp.m, d)).astype(X.dtype)  # shared
    out = np.empty_like(X)
    for i in range(n):
        out[i] = xi.T @ (xi @ X[i]) / comp.m
    return _fixed(comp, X, out)


def _sketch(comp, rng, X):
    n, d = X.shape
    out = np.empty_like(X)
    if comp.kind == "coordinates":
        mask = np.zeros(d, X.dtype)
        mask[rng.permutation(d)[: comp.p]] = 1
        for i in range(n):
            out[i] = X[i] * mask
    else:
        V = rng.standard_normal((d, comp.p)).astype(X.dtype)  # shared
        G = V.T @ V
        for i in range(n):
            out[i] = V @ np.linalg.solve(G, V.T @ X[i])
    if comp.unbiased:
        out *= d / comp.p
    return _fixed(comp, X, out)


def _fwht(y):
    """Unnormalized fast Walsh–Hadamard transform of a power-of-two-length vector."""
    dp = y.size
    h = 1
    while h < dp:
        z = y.reshape(dp // (2 * h), 2, h)
        y = np.stack((z[:, 0] + z[:, 1], z[:, 0] - z[:, 1]), axis=1).reshape(dp)
        h *= 2
    return y


def _drive(comp, rng, X):
    n, d = X.shape
    out = np.empty_like(X)
    sign = lambda y: np.where(y >= 0, 1.0, -1.0).astype(y.dtype)
    for i in range(n):
        x = X[i]
        sq = (x * x).sum()
        if comp.rotation == "haar":
            Q, R = np.linalg.qr(rng.standard_normal((d, d)).astype(X.dtype))
            Q = Q * np.where(np.diag(R) < 0, -1.0, 1.0).astype(X.dtype)
            y = Q @ x
            S = sq / np.abs(y).sum() if np.abs(y).sum() > 0 else 0.0
            out[i] = Q.T @ (S * sign(y))
        else:
            dp = 1 << max(0, math.ceil(math.log2(d))) if d > 1 else 1
            s = (2 * rng.integers(0, 2, dp) - 1).astype(X.dtype)
            norm = 1 / math.sqrt(dp)
            y = _fwht(s * np.pad(x, (0, dp - d))) * norm
            S = sq / np.abs(y).sum() if np.abs(y).sum() > 0 else 0.0
            out[i] = (s * _fwht(S * sign(y)) * norm)[:d]
    return _fixed(comp, X, out)


# --------------------------------------------------------------------------------- combinators


def _compose(comp, rng, X):
    y, b_in, bn_in, c_in = reference(comp.inner)(rng, X)
    values = reference(comp.outer)(rng, y)[0]
    vb = comp.outer.value_bits()
    return values, (b_in - bn_in) + vb * c_in, vb * c_in, c_in


def _induced(comp, rng, X):
    y, b1, bn1, c1 = reference(comp.c)(rng, X)
    z, b2, bn2, c2 = reference(comp.q)(rng, X - y)
    return y + z, b1 + b2, bn1 + bn2, c1 + c2


def _scaled(comp, rng, X):
    n, d = X.shape
    values, bits, bn, coords = reference(comp.c)(rng, X)
    w = comp.omega_ if comp.omega_ is not None else comp.c.omega(d, n)
    return (values / (1 + w)).astype(X.dtype), bits, bn, coords


def _iscc(comp, rng, X):
    """τ clients drawn from q; only the drawn clients compress (an independent base compresses
    just the drawn row; a correlated base runs as a collection and the drawn row is kept)."""
    n, d = X.shape
    q = np.asarray(comp.q(n))
    base = reference(comp.base)
    out, bits, bn, coords = _alloc(X)
    for i in rng.choice(n, size=comp.tau, p=q / q.sum()):
        if comp.base.independent:
            v, b, b0, c = (a[0] for a in base(rng, X[i : i + 1]))
        else:
            v, b, b0, c = (a[i] for a in base(rng, X))
        out[i] += v / (comp.tau * q[i])
        bits[i] += b
        bn[i] += b0
        coords[i] += c
    return out, bits, bn, coords


#: jcomp compressor name → reference ``f(comp, rng, X)``.
REFERENCES: dict[str, Callable] = {
    "identity": _identity,
    "rand_k": _rand_k,
    "top_k": _top_k,
    "same_rand_k": _same_rand_k,
    "perm_k": _perm_k,
    "natural": _natural,
    "bernoulli": _bernoulli,
    "dithering": _dithering,
    "ternary": _ternary,
    "natural_dithering": _natural_dithering,
    "iq": _iq,
    "cq": _cq,
    "perm_k_cq": _perm_k_cq,
    "varying_step": _varying_step,
    "block_quant": _block_quant,
    "rand_tau": _rand_tau,
    "core": _core,
    "sketch": _sketch,
    "drive": _drive,
    "compose": _compose,
    "induced": _induced,
    "scaled": _scaled,
    "iscc": _iscc,
}


def has_reference(comp) -> bool:
    """Whether ``comp`` (and every compressor nested in it) has a NumPy reference."""
    if comp.name not in REFERENCES:
        return False
    nested = [getattr(comp, a) for a in ("inner", "outer", "c", "q", "base") if hasattr(comp, a)]
    return all(has_reference(c) for c in nested if hasattr(c, "name"))


def reference(comp) -> Ref:
    """``f(rng, X) -> (values, bits, bits_noidx, coords)`` applying ``comp``'s rule in NumPy."""
    if not has_reference(comp):
        raise MissingReference(f"no NumPy reference for compressor {comp.describe()}")
    impl = REFERENCES[comp.name]

    def f(rng: np.random.Generator, X: np.ndarray):
        values, bits, bn, coords = impl(comp, rng, np.asarray(X))
        return values, np.asarray(bits, float), np.asarray(bn, float), np.asarray(coords, float)

    return f
