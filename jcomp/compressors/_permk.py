"""PermK: correlated sparsification whose n workers' supports partition the coordinates."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._base import Compressor, Message, register

__all__ = ["PermK", "perm_k", "uniform_permutation", "uniform_permutations"]


#: Largest length sorted by packed 32-bit keys (:func:`uniform_permutations`); longer rows use
#: a two-word lexicographic sort.
PACKED_MAX = 1 << 14

#: Up to this length only tied pairs are reordered (by a coin); above, tie groups of up to 4.
PAIRS_MAX = 1 << 12


def _shift(a: jax.Array, o: int, fill) -> jax.Array:
    """``a[:, p + o]`` at every position p of the last axis, ``fill`` where p + o is outside."""
    m = a.shape[-1]
    if abs(o) >= m:
        return jnp.full(a.shape, fill, a.dtype)
    pad = jnp.full(a.shape[:-1] + (abs(o),), fill, a.dtype)
    if o > 0:
        return jnp.concatenate([a[..., o:], pad], axis=-1)
    return jnp.concatenate([pad, a[..., :o]], axis=-1)


def _packed_draw(key, rows: int, m: int, r_bits: int, c_bits: int, window: int):
    """One attempt of the packed-key method: ``(perms (rows, m) int32, rejected (rows,) bool)``.

    Element i of a row gets the key ``r_i·2^b + i`` (``b = ⌈log₂m⌉`` index bits; ``r_i`` the
    top ``r_bits`` bits of a uniform 32-bit word ``w_i``), all distinct, so one single-operand
    integer sort orders the row and the low bits of the sorted keys name the elements. Elements
    with equal ``r`` (a tie group: contiguous after the sort, in index order) are then put in a
    uniformly random order:

    * ``window = 1`` (tied pairs only): the pair at sorted positions ``p, p+1`` is swapped iff
      bit 0 of ``w_p`` is set (bit 0 is not part of any ``r``, so these coins are fair and
      independent of the sort); rows with a tie group of 3 or more are rejected;
    * ``window ≥ 2``: every sorted position gets a fresh word ``c_p`` (top ``c_bits`` bits of a
      second draw); an element's new place in its group is the rank of its ``c`` among the
      group's, found by comparing with the ``window`` neighbours on each side; rows with a tie
      group of more than ``window + 1`` members or two equal ``c`` in one group are rejected.

    Rejected rows are redrawn by the caller.
    """
    key_r, key_c = jax.random.split(key)
    b = max(1, (m - 1).bit_length())
    w = jax.random.bits(key_r, (rows, m), jnp.uint32)
    iota = jnp.arange(m, dtype=jnp.uint32)
    s = jax.lax.sort(((w >> (32 - r_bits)) << b) | iota, dimension=1)  # one fast integer sort
    h, idx = s >> b, (s & ((1 << b) - 1)).astype(jnp.int32)  # random parts, elements
    big = jnp.uint32(0xFFFFFFFF)  # h < 2^31, so a shifted-in sentinel never equals an h
    too_big = (_shift(h, window + 1, big) == h).any(-1)  # a tie group of more than window + 1
    if window == 1:
        swap = (_shift(h, 1, big) == h) & ((w & 1) == 1)  # swap positions p and p + 1
        back = _shift(swap, -1, False)  # swapped with p − 1
        out = jnp.where(swap, _shift(idx, 1, 0), jnp.where(back, _shift(idx, -1, 0), idx))
        return out, too_big
    c = jax.random.bits(key_c, (rows, m), jnp.uint32) >> (32 - c_bits)
    # same[o]: position p + o is in p's tie group (o = ±1..±window; groups are contiguous).
    same = {o: _shift(h, o, big) == h for o in range(-window, window + 1) if o}
    c_tie = jnp.zeros((rows,), bool)
    rank = jnp.zeros((rows, m), jnp.int32)  # rank of c[p] within p's group
    before = jnp.zeros((rows, m), jnp.int32)  # members of p's group before p
    for o, sm in same.items():
        co = _shift(c, o, 0)
        rank = rank + (sm & (co < c))
        if o > 0:
            c_tie = c_tie | (sm & (co == c)).any(-1)
        else:
            before = before + sm
    move = rank - before  # the element at p goes to p + move (inside its group)
    # out[q] = idx[q + o] for the one o with move[q + o] = −o (o = 0 included).
    out = jnp.where(move == 0, idx, 0)
    for o in range(-window, window + 1):
        if o:
            hit = _shift(move, o, window + 1) == -o
            out = out + jnp.where(hit, _shift(idx, o, 0), 0)
    return out, too_big | c_tie


def _lexsort_draw(key, rows: int, m: int):
    """One attempt of the two-word method: the order of ``m`` i.i.d. 64-bit keys (two uint32
    words, lexicographic sort carrying the element index); rows with a tie are rejected."""
    key_hi, key_lo = jax.random.split(key)
    hi = jax.random.bits(key_hi, (rows, m), jnp.uint32)
    lo = jax.random.bits(key_lo, (rows, m), jnp.uint32)
    iota = jnp.broadcast_to(jnp.arange(m, dtype=jnp.int32), (rows, m))
    hs, ls, idx = jax.lax.sort((hi, lo, iota), dimension=1, num_keys=2)
    tie = ((hs[:, 1:] == hs[:, :-1]) & (ls[:, 1:] == ls[:, :-1])).any(-1)
    return idx, tie


def _rejection(draw, key, rows: int, m: int) -> jax.Array:
    """Draw with ``fold_in(key, 0)``, then redraw the rejected rows with ``fold_in(key, 1)``,
    ... until every row is accepted. Written as one ``while_loop`` whose first iteration is the
    first draw, so the draw is compiled once."""

    def body(state):
        it, perms, bad = state
        new, new_bad = draw(jax.random.fold_in(key, it))
        return it + 1, jnp.where(bad[:, None], new, perms), bad & new_bad

    init = (0, jnp.zeros((rows, m), jnp.int32), jnp.ones((rows,), bool))
    return jax.lax.while_loop(lambda s: s[2].any(), body, init)[1]


def uniform_permutations(
    key: jax.Array,
    rows: int,
    m: int,
    *,
    r_bits: int | None = None,
    c_bits: int = 32,
    window: int | None = None,
) -> jax.Array:
    """``rows`` independent, exactly uniform random permutations of ``0..m−1``: ``(rows, m)`` int32.

    Method (``m ≤ PACKED_MAX``, :func:`_packed_draw`): sort the packed keys ``r_i·2^b + i``
    (``b = ⌈log₂m⌉``, ``r_i`` i.i.d. uniform on ``32 − b`` bits) with one single-operand integer
    sort, which XLA runs 5–10× faster on CPU than ``lax.top_k`` or a sort carrying a payload;
    the low bits of the sorted keys are the permutation. The keys are distinct, but their random
    parts may tie, and the index bits would then order the tied elements by index (a bias of
    order ``m²/2^{33−b}`` per row, 12% of rows at m = 1000). So every tie group is put in a
    uniformly random order: tied pairs by a fair coin (``m ≤ PAIRS_MAX``), groups of up to 4 by
    the ranks of fresh random words (``m ≤ PACKED_MAX``). ``m > PACKED_MAX``: the order of two
    uniform 32-bit words per element (a slower lexicographic sort carrying the index).

    Exactness (given i.i.d. uniform bits): the result is the order of i.i.d. random parts with
    ties broken uniformly at random, a law invariant under relabelling the elements, hence
    uniform over the m! permutations. Rows where this is not done in place (a tie group larger
    than ``window + 1``; equal tie-break words in a group; a 64-bit tie for the lexicographic
    sort) are rejected and redrawn from fresh keys (``lax.while_loop`` over the rejected rows);
    these events are symmetric in the elements, so conditioning on their absence keeps the law
    uniform. They are rare: a triple at m = 1000 has probability ``C(m, 3)/2^{44} ≈ 10⁻⁵`` per
    row, a group of 5 at m = 10⁴ ``C(m, 5)/2^{72} ≈ 2·10⁻⁴``, and a redraw costs one more call.

    Test knobs (keep the defaults otherwise): ``r_bits`` (≤ 32 − b) and ``c_bits`` shrink the
    random parts and ``window`` picks the tie rule (1: pairs by coins; ≥ 2: groups of up to
    ``window + 1`` by fresh words), so that ties and rejections happen often in tests; the law
    stays exactly uniform for every setting.

    Speed (jax 0.10.2, 2-core CPU shared with other jobs, jitted, best of 10–30): 300 rows of
    m = 1000 (CQ at n = 1000, d = 300): ``lax.top_k`` of int32 keys 55–108 ms, this method
    11–26 ms (the sort alone 9–26 ms); one row of m = 10⁴: top_k 2.6 ms, this 0.8 ms, the
    lexicographic sort 2.9 ms.
    """
    if m <= 1:
        return jnp.zeros((rows, m), jnp.int32)
    b = (m - 1).bit_length()
    if m > PACKED_MAX:
        return _rejection(lambda k: _lexsort_draw(k, rows, m), key, rows, m)
    r_bits = 32 - b if r_bits is None else r_bits
    window = (1 if m <= PAIRS_MAX else 3) if window is None else window
    if not 1 <= r_bits <= 32 - b or not 1 <= c_bits <= 32 or window < 1:
        raise ValueError(
            f"uniform_permutations: r_bits={r_bits}, c_bits={c_bits}, window={window} not "
            f"allowed for m={m}: expected 1 <= r_bits <= {32 - b}, 1 <= c_bits <= 32, window >= 1"
        )
    return _rejection(lambda k: _packed_draw(k, rows, m, r_bits, c_bits, window), key, rows, m)


def uniform_permutation(key: jax.Array, m: int) -> jax.Array:
    """An exactly uniform random permutation of ``0..m−1`` (int32, shape ``(m,)``): one row of
    :func:`uniform_permutations` (see there for the method and its exactness). Drawn from raw
    bits, so it does not depend on whether x64 is enabled."""
    return uniform_permutations(key, 1, m)[0]


@register
class PermK(Compressor):
    """PermK: the workers' supports partition the coordinates (d ≥ n) or the workers (d < n).

    Rule, d ≥ n: one shared uniform permutation of [d] is cut into n contiguous blocks (the
    first ``d mod n`` blocks get ``⌈d/n⌉`` coordinates, the rest ``⌊d/n⌋``), and a shared
    uniform permutation of [n] assigns blocks to workers; worker i sends its block scaled by n.
    Every coordinate is owned by exactly one worker, so ``(1/n)Σ_i C_i(x) = x`` exactly.
    Class: U(n − 1) with equality; A = B = 1 with equality (also when n ∤ d); θ = 0.
    Cost: ``coords`` = the realized block size (⌊d/n⌋ or ⌈d/n⌉), ``bits = 32·coords`` (indices
    free: the receiver regenerates the permutation from the shared key).

    Rule, d < n, with n = qd + r (0 ≤ r < d): one shared uniform permutation places the workers in
    n slots; the workers in slots ``jq .. jq+q−1`` send ``(n/q)x_j`` (q workers per coordinate),
    the r workers in the last r slots send nothing. Again ``(1/n)Σ_i C_i(x) = x`` exactly.
    Class: U(n/q − 1) with equality; θ = 0; A = B = (n − q)/(q(n − 1)) with equality (each
    coordinate is the mean of a uniform q-subset of the workers; = (d−1)/(n−1) when r = 0).
    Cost: ``coords`` 1 or 0, ``bits`` 32 or 0 (indices free).

    Sources: Szlendak et al. 2022 (Permutation compressors, d ≥ n and n = qd); seed 004
    (MARINA-P, Gruntkowska et al. 2024); the r > 0 case is reconstructed in the spec (§4).
    The mask is built with one (n, d) comparison, never a loop over workers or coordinates.
    """

    name = "perm_k"
    unbiased = True
    independent = False

    def _compress(self, key, X):
        n, d = X.shape
        dtype = X.dtype
        zero = jnp.zeros((), dtype)
        if d >= n:
            q, r = divmod(d, n)
            key_coords, key_blocks = jax.random.split(key)
            # pos[j]: position of coordinate j in the shared permutation (the inverse of a
            # uniform permutation is uniform, so it is drawn directly).
            pos = uniform_permutation(key_coords, d)
            big = r * (q + 1)  # the first r blocks have q + 1 coordinates
            block = jnp.where(pos < big, pos // (q + 1), r + (pos - big) // q)  # (d,)
            # held[i]: the block worker i keeps. When n | d every block has q coordinates and a
            # uniform relabeling of blocks leaves the (already uniform) partition's law
            # unchanged, so the identity is used and the second permutation is skipped.
            held = uniform_permutation(key_blocks, n) if r else jnp.arange(n)  # (n,)
            mask = block[None, :] == held[:, None]  # (n, d)
            values = jnp.where(mask, X * n, zero)
            coords = jnp.where(held < r, q + 1, q).astype(dtype)
        else:
            q = n // d
            # slot[i]: slot of worker i; slots jq..jq+q-1 carry coordinate j, slots >= qd none.
            coord = uniform_permutation(key, n) // q  # (n,) in [0, d] (d means "nothing")
            mask = coord[:, None] == jnp.arange(d)[None, :]  # (n, d), rows with coord = d empty
            values = jnp.where(mask, X * (n / q), zero)
            coords = (coord < d).astype(dtype)
        bits = coords * self.float_bits
        return Message(values, bits, bits, coords)

    def omega(self, d, n):
        return float(n - 1) if d >= n else n / (n // d) - 1.0

    def theta(self, d, n):
        return 0.0

    def ab(self, d, n):
        if d >= n:
            return (1.0, 1.0)
        q = n // d
        b = (n - q) / (q * (n - 1))
        return (b, b)

    def expected_cost(self, d, n):
        coords = d / n if d >= n else (n // d) * d / n
        return (self.float_bits * coords, self.float_bits * coords, coords)


def perm_k() -> PermK:
    """PermK for any worker count: d ≥ n (blocks of coordinates) or d < n (groups of workers)."""
    return PermK()
