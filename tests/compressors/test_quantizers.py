"""Quantizers (Bernoulli, standard dithering / QSGD, ternary, natural dithering) and the
Elias-ω / QSGD encodings used for their bit counts (spec ALGORITHMS.md §3–§4)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases_quantizers import CASES_QUANTIZERS
from mc import assert_mean_at_most, assert_mean_equals

from jcomp.compressors._encoding import (
    elias_gamma_encode,
    elias_gamma_length,
    elias_omega_decode,
    elias_omega_encode,
    elias_omega_length,
    qsgd_elias_bits,
)
from jcomp.compressors._quantizers import (
    Dithering,
    NaturalDithering,
    Ternary,
    bernoulli,
    dithering,
    natural_dithering,
    ternary,
)

# Compile Monte Carlo programs without LLVM optimizations (as the shared property harness).
fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

M = 20_000
_bits = fast_jit(qsgd_elias_bits, static_argnames="float_bits")

# ---------------------------------------------------------------------------------- encodings


def test_elias_omega_roundtrip():
    Ns = list(range(1, 2001))
    for N in Ns:
        assert elias_omega_decode(elias_omega_encode(N)) == [N]
    assert elias_omega_decode("".join(elias_omega_encode(N) for N in Ns)) == Ns


def test_elias_omega_hand_values():
    # 1:"0"; 2:"10 0"; 3:"11 0"; 4:"10 100 0"; 7:"10 111 0"; 8:"11 1000 0";
    # 16:"10 100 10000 0"; 100 = 1100100 (7 bits) -> 6 = 110 -> 2 = 10: "10 110 1100100 0".
    hand = {1: 1, 2: 3, 3: 3, 4: 6, 7: 6, 8: 7, 16: 11, 100: 13}
    assert elias_omega_encode(4) == "101000"
    assert elias_omega_encode(100) == "1011011001000"
    for N, L in hand.items():
        assert len(elias_omega_encode(N)) == L
        assert int(elias_omega_length(jnp.asarray([N]))[0]) == L


def test_elias_gamma_hand_values_and_lengths():
    # 1:"1"; 2:"010"; 3:"011"; 4:"00100"; 9:"0001001"; 100 = 1100100 (7 bits): 6 zeros + 7 bits
    hand = {1: "1", 2: "010", 3: "011", 4: "00100", 9: "0001001", 100: "0000001100100"}
    for N, code in hand.items():
        assert elias_gamma_encode(N) == code
    N = np.concatenate([np.arange(1, 5001), [2**31 - 1, 2**32, 2**63 - 1]])
    expect = [len(elias_gamma_encode(int(v))) for v in N]
    np.testing.assert_array_equal(np.asarray(elias_gamma_length(jnp.asarray(N))), expect)
    with pytest.raises(ValueError, match="N=0"):
        elias_gamma_encode(0)
    with pytest.raises(ValueError, match="integer"):
        elias_gamma_length(jnp.ones(3))


def test_elias_omega_length_matches_encoder():
    N = np.concatenate([np.arange(1, 5001), [2**31 - 1, 2**32, 2**62 + 12345, 2**63 - 1]])
    L = np.asarray(elias_omega_length(jnp.asarray(N, jnp.int64)))
    assert L.tolist() == [len(elias_omega_encode(int(n))) for n in N]
    L32 = np.asarray(elias_omega_length(jnp.asarray([1, 5, 2**31 - 1], jnp.int32)))
    assert L32.tolist() == [len(elias_omega_encode(n)) for n in (1, 5, 2**31 - 1)]


def test_elias_rejects_bad_input():
    with pytest.raises(ValueError, match="N=0"):
        elias_omega_encode(0)
    with pytest.raises(ValueError, match="truncated"):
        elias_omega_decode("101")
    with pytest.raises(ValueError, match="integer"):
        elias_omega_length(jnp.asarray([1.0]))


def test_qsgd_elias_bits_hand():
    # [0,3,0,0,1,2]: nonzero at 1, 4, 5; gaps 2, 3, 1; levels 3, 1, 2.
    # (ω(2)+1+ω(3)) + (ω(3)+1+ω(1)) + (ω(1)+1+ω(2)) = (3+1+3) + (3+1+1) + (1+1+3) = 17.
    assert int(_bits(jnp.asarray([0, 3, 0, 0, 1, 2]))) == 32 + 17
    assert int(_bits(jnp.zeros(7, jnp.int32))) == 32
    assert int(_bits(jnp.asarray([-2]))) == 32 + 1 + 1 + 3  # |k| and a sign bit
    # gap 8 at the start (position 7): ω(8) = 7; level 16: ω(16) = 11.
    assert int(_bits(jnp.asarray([0] * 7 + [16]))) == 32 + 7 + 1 + 11
    # batch axes and a custom float width
    b = _bits(jnp.asarray([[1, 1], [0, 0]]), float_bits=64)
    assert b.tolist() == [64 + 3 + 3, 64]


def _qsgd_string(levels) -> str:
    """Reference QSGD/Elias bit string of one block (pure Python): 32 norm bits, then per
    nonzero level ω(gap), a sign bit, ω(|k|)."""
    out, prev = ["0" * 32], -1
    for j, k in enumerate(levels):
        if k != 0:
            out += [elias_omega_encode(j - prev), "1" if k < 0 else "0", elias_omega_encode(abs(k))]
            prev = j
    return "".join(out)


def _qsgd_parse(code: str, d: int) -> list[int]:
    """Decode :func:`_qsgd_string` back to signed levels (checks the format is decodable)."""

    def one(i):
        N = 1
        while code[i] == "1":
            N, i = int(code[i : i + N + 1], 2), i + N + 1
        return N, i + 1

    levels, i, pos = [0] * d, 32, -1
    while i < len(code):
        gap, i = one(i)
        sign, i = (-1 if code[i] == "1" else 1), i + 1
        k, i = one(i)
        pos += gap
        levels[pos] = sign * k
    return levels


def test_qsgd_reference_string_roundtrip():
    rng = np.random.default_rng(0)
    levels = rng.integers(-5, 6, size=(200, 30)) * (rng.random((200, 30)) < 0.3)
    levels[0, :] = 0
    levels[1, :] = 1000
    bits = np.asarray(_bits(jnp.asarray(levels)))
    for lv, b in zip(levels.tolist(), bits, strict=True):
        code = _qsgd_string(lv)
        assert _qsgd_parse(code, 30) == lv
        assert b == len(code)


# ------------------------------------------------------------------------------ Monte Carlo

CASES = CASES_QUANTIZERS
IDS = [c[0] for c in CASES]
# Adversarial input for natural dithering with ℓ∞ (see NaturalDithering's docstring).
ADV_D, ADV_S = 65, 2


def _inputs(d, n):
    rng = np.random.default_rng(1000 * d + n)
    X = rng.normal(size=d) + 0.7 * rng.normal(size=(n, d))
    X[0, :3] = 0.0  # some exact zeros
    return jnp.asarray(X)


def _adv_input():
    h = 2.0 ** (1 - ADV_S)
    return jnp.asarray(np.concatenate([[1.0], np.full(ADV_D - 1, h / 2)])[None, :])


@functools.cache
def _samples():
    inputs = [_inputs(d, n) for _, _, d, n, _ in CASES]
    adv = _adv_input()
    nd = natural_dithering(ADV_S, "linf")
    keys = jax.random.split(jax.random.key(7), M)

    def one_key(key, inputs, adv):
        out = [c(key, X) for (_, c, _, _, _), X in zip(CASES, inputs, strict=True)]
        return out, nd(key, adv)

    msgs, adv_msgs = fast_jit(jax.vmap(one_key, in_axes=(0, None, None)))(keys, inputs, adv)
    to_np = functools.partial(jax.tree.map, np.asarray)
    return {c[0]: (np.asarray(X), to_np(m)) for c, X, m in zip(CASES, inputs, msgs, strict=True)}, (
        np.asarray(adv),
        to_np(adv_msgs),
    )


def _case(cid):
    return next(c for c in CASES if c[0] == cid)


def _atol(samples):
    return M * np.finfo(np.float64).eps * float(np.abs(samples).max())


def _norm(X, norm):
    return np.sqrt((X**2).sum(-1)) if norm == "l2" else np.abs(X).max(-1)


def _exact_mse(comp, X):
    """Exact E‖C(x_i) − x_i‖² per row for the dithering quantizers."""
    if isinstance(comp, Ternary):
        s, norm = 1, "linf"
    else:
        s, norm = comp.s, comp.norm
    nrm = _norm(X, norm)[:, None]
    v = np.abs(X) / nrm
    if isinstance(comp, NaturalDithering):
        h = 2.0 ** (1 - s)
        lo = np.where(v < h, 0.0, 2.0 ** np.floor(np.log2(np.maximum(v, h))))
        hi = np.where(v < h, h, np.minimum(2 * lo, 1.0))
        hi = np.where(lo == 1.0, 1.0, hi)
        return nrm[:, 0] ** 2 * ((v - lo) * (hi - v)).sum(-1)
    f = np.modf(s * v)[0]
    return nrm[:, 0] ** 2 * (f * (1 - f)).sum(-1) / s**2


@pytest.mark.parametrize("cid", IDS)
def test_unbiased(cid):
    _, comp, _, _, _ = _case(cid)
    X, msg = _samples()[0][cid]
    if not comp.unbiased:
        # biased Bernoulli: E C(x) = p x
        assert_mean_equals(msg.values, comp.p * X, atol=_atol(msg.values))
        return
    assert_mean_equals(msg.values, X, atol=_atol(msg.values))


@pytest.mark.parametrize("cid", IDS)
def test_omega_delta(cid):
    _, comp, d, n, exact = _case(cid)
    X, msg = _samples()[0][cid]
    err = ((msg.values - X) ** 2).sum(-1)
    sq = (X**2).sum(-1)
    w, dl = comp.omega(d, n), comp.delta(d)
    assert (w is None) != (dl is None)
    for kind, target in (("omega", w), ("delta", None if dl is None else 1 - dl)):
        if target is None:
            continue
        check = assert_mean_equals if kind in exact else assert_mean_at_most
        check(err, target * sq, atol=_atol(err))


@pytest.mark.parametrize("cid", IDS)
def test_theta_ab(cid):
    _, comp, d, n, exact = _case(cid)
    ab = comp.ab(d, n)
    if ab is None:
        pytest.skip("no AB class")
    X, msg = _samples()[0][cid]
    abar = X.mean(0)
    lhs = ((msg.values.mean(1) - abar) ** 2).sum(-1)
    A, B = ab
    rhs = (A - B) * (X**2).sum(-1).mean() + B * ((X - abar) ** 2).sum(-1).mean()
    check = assert_mean_equals if "ab" in exact else assert_mean_at_most
    check(lhs, rhs, atol=_atol(lhs))


@pytest.mark.parametrize("cid", [c for c in IDS if "dither" in c or c == "ternary"])
def test_dithering_exact_variance(cid):
    _, comp, _, _, _ = _case(cid)
    X, msg = _samples()[0][cid]
    err = ((msg.values - X) ** 2).sum(-1)
    assert_mean_equals(err, _exact_mse(comp, X), atol=_atol(err))


def test_natural_dithering_linf_omega_needs_sqrt_d():
    # x = (1, h/2, ..., h/2), ℓ∞, s = 2: every small entry has variance (h/2)², so
    # E‖C(x)−x‖²/‖x‖² = (d−1)h²/4 / (1 + (d−1)h²/4) = 0.8 for d = 65: above 1/8 + h·min(1, h)
    # (the formula with d^{1/∞} = 1) but within the implemented r = min(q, 2) bound.
    X, msg = _samples()[1]
    comp = natural_dithering(ADV_S, "linf")
    err = ((msg.values - X) ** 2).sum(-1)
    exact = _exact_mse(comp, X)
    assert exact[0] / (X**2).sum() == pytest.approx(0.8)
    assert_mean_equals(err, exact, atol=_atol(err))
    h = 2.0 ** (1 - ADV_S)
    assert 1 / 8 + h * min(1, h) < 0.8
    assert comp.omega(ADV_D, 1) >= 0.8


def _levels(comp, X, values):
    """Integer levels recovered from dithering outputs."""
    s = 1 if isinstance(comp, Ternary) else comp.s
    nrm = _norm(X, "linf" if isinstance(comp, Ternary) else comp.norm)[:, None]
    return np.rint(values / np.where(nrm > 0, nrm, 1) * s).astype(np.int64)


def test_dithering_bits_match_encoder():
    for cid in ("dithering-l2", "dithering-linf"):
        _, comp, d, n, _ = _case(cid)
        X, msg = _samples()[0][cid]
        lv = _levels(comp, X, msg.values[:100])  # (100, n, d)
        np.testing.assert_allclose(lv / comp.s * _norm(X, comp.norm)[:, None], msg.values[:100])
        assert lv.min() >= -comp.s and lv.max() <= comp.s
        for m in range(100):
            for i in range(n):
                code = _qsgd_string(lv[m, i].tolist())
                assert _qsgd_parse(code, d) == lv[m, i].tolist()
                assert msg.bits[m, i] == len(code) == msg.bits_noidx[m, i]
        assert (msg.coords == d + 1).all()


def test_level_sets():
    # Ternary outputs are in {0, ±‖x‖∞}; natural dithering magnitudes/‖x‖ in {0, 2^{1−s}, …, 1}.
    X, msg = _samples()[0]["ternary"]
    lv = _levels(ternary(), X, msg.values)
    assert set(np.unique(lv)) <= {-1, 0, 1}
    for cid in ("natural_dithering-l2", "natural_dithering-linf"):
        _, comp, _, _, _ = _case(cid)
        X, msg = _samples()[0][cid]
        r = np.abs(msg.values) / _norm(X, comp.norm)[:, None]
        allowed = np.array([0.0] + [2.0**-a for a in range(comp.s)])
        assert np.isclose(r[..., None], allowed, rtol=1e-12, atol=0).any(-1).all()
        assert (np.sign(msg.values) * np.sign(X) >= 0).all()


@pytest.mark.parametrize("cid", [c for c in IDS if not c.startswith("dithering")])
def test_expected_cost(cid):
    _, comp, d, n, _ = _case(cid)
    X, msg = _samples()[0][cid]
    for field, e in zip(("bits", "bits_noidx", "coords"), comp.expected_cost(d, n), strict=True):
        assert_mean_equals(getattr(msg, field), np.full(n, e), atol=_atol(getattr(msg, field)))


def test_fixed_and_realized_costs():
    d = 12
    assert ternary().expected_cost(d, 3) == (32 + 2 * d, 32 + 2 * d, d + 1)
    assert natural_dithering(3).expected_cost(d, 3) == (32 + 3 * d, 32 + 3 * d, d + 1)
    assert natural_dithering(4).expected_cost(d, 3) == (32 + 4 * d, 32 + 4 * d, d + 1)
    assert bernoulli(0.25).expected_cost(d, 3) == (0.25 * 32 * d, 0.25 * 32 * d, 0.25 * d)
    with pytest.raises(NotImplementedError, match="data dependent"):
        dithering(2).expected_cost(d, 3)
    for cid in ("bernoulli", "bernoulli-unbiased"):
        X, msg = _samples()[0][cid]
        sent = np.abs(msg.values).sum(-1) > 0
        assert 0 < sent.mean() < 1
        np.testing.assert_array_equal(msg.bits, np.where(sent, 32 * d, 0))
        np.testing.assert_array_equal(msg.bits_noidx, msg.bits)
        np.testing.assert_array_equal(msg.coords, np.where(sent, d, 0))
        scale = 1 / 0.3 if "unbiased" in cid else 1.0
        np.testing.assert_allclose(msg.values, np.where(sent[..., None], X * scale, 0), rtol=1e-15)


def test_constants():
    assert bernoulli(0.25).delta(10) == 0.25 and bernoulli(0.25).omega(10, 2) is None
    u = bernoulli(0.25, unbiased=True)
    assert u.omega(10, 2) == 3.0 and u.delta(10) is None and u.ab(10, 2) == (1.5, 0.0)
    assert dithering(2).omega(16, 1) == min(16 / 4, 4 / 2)
    assert dithering(10).omega(16, 1) == pytest.approx(16 / 100)
    assert dithering(2, "linf").omega(17, 1) == pytest.approx(min(16 / 16, 4 / 2))
    assert ternary().omega(17, 1) == pytest.approx(4.0)
    assert ternary().omega(1, 1) == 0.0
    a = math.sqrt(100) * 2.0**-2
    assert natural_dithering(3).omega(100, 1) == pytest.approx(1 / 8 + a * min(1, a))
    assert natural_dithering(3, "linf").omega(100, 1) == natural_dithering(3).omega(100, 1)


@pytest.mark.parametrize("comp", [c[1] for c in CASES], ids=IDS)
def test_same_key_same_message_and_jit(comp):
    X = _inputs(12, 3)
    k = jax.random.key(3)
    a = comp(k, X)  # eager (no jit)
    jitted = fast_jit(comp)
    b, c = jitted(k, X), jitted(k, X)
    for f in a._fields:
        np.testing.assert_array_equal(getattr(b, f), getattr(c, f))  # same key, same message
        # jit vs eager: equal up to the order of floating-point reductions (the norm)
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-12, atol=1e-300)
    # another key gives another message (Bernoulli: compare over several keys)
    other = [fast_jit(comp)(jax.random.key(t), X).values for t in range(4, 12)]
    assert any(not np.array_equal(o, a.values) for o in other)


@pytest.mark.parametrize("comp", [c[1] for c in CASES], ids=IDS)
def test_dtype_and_zero_vector(comp):
    X = jnp.asarray(_inputs(12, 3), jnp.float32).at[1].set(0.0)
    msg = fast_jit(comp)(jax.random.key(0), X)
    for f in msg._fields:
        assert getattr(msg, f).dtype == jnp.float32
    assert (msg.values[1] == 0).all()
    assert np.isfinite(np.asarray(msg.values)).all()


def test_exact_levels_are_kept():
    # Inputs on the level grid are fixed points: dithering s=4 of (4, 3, 0, 1,...)/‖·‖∞ etc.
    x = jnp.asarray([[4.0, -3.0, 0.0, 1.0, 2.0]])
    keys = jax.random.split(jax.random.key(1), 50)
    out = fast_jit(jax.vmap(dithering(4, "linf"), in_axes=(0, None)))(keys, x).values
    np.testing.assert_array_equal(out, np.broadcast_to(x, out.shape))
    y = jnp.asarray([[1.0, -0.5, 0.25, 0.125, 0.0]])
    out = fast_jit(jax.vmap(natural_dithering(4, "linf"), in_axes=(0, None)))(keys, y).values
    np.testing.assert_array_equal(out, np.broadcast_to(y, out.shape))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: bernoulli(0.0), "bernoulli: p=0.0"),
        (lambda: bernoulli(1.5), "bernoulli: p=1.5"),
        (lambda: bernoulli(-1), "bernoulli: p=-1"),
        (lambda: bernoulli("a"), "bernoulli: p='a'"),
        (lambda: bernoulli(0.5, unbiased=1), "bernoulli: unbiased=1"),
        (lambda: dithering(0), "dithering: s=0"),
        (lambda: dithering(1.5), "dithering: s=1.5"),
        (lambda: dithering(2, norm="l1"), "dithering: norm='l1'"),
        (lambda: natural_dithering(0), "natural_dithering: s=0"),
        (lambda: natural_dithering(2, "max"), "natural_dithering: norm='max'"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(".", r"\.")):
        make()


def test_describe_and_hashable():
    for c in [bernoulli(0.5, unbiased=True), dithering(3, "linf"), ternary(), natural_dithering(2)]:
        d = c.describe()
        assert d["name"] == c.name
        hash(c)
    assert bernoulli(0.5, unbiased=True).describe()["unbiased"] is True
    assert bernoulli(0.5) != bernoulli(0.5, unbiased=True)
    assert isinstance(dithering(2), Dithering) and isinstance(
        natural_dithering(2), NaturalDithering
    )
