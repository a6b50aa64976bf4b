"""Seed 000's smoothness-aware compressors (spec ALGORITHMS.md §1, §3 E.1, §4 rows "Block quant",
"Varying-step Q_h", "rand-τ+", §5.2 rand-τ+ probabilities): exact identities by Monte Carlo
(fixed keys, z = 5 standard errors, tests/mc.py), encodings against pure-Python references,
parameter validation; per-worker parameters (one row per worker, seed 000's C_i): row i equals
the shared compressor with worker i's row draw by draw, and worker i's identities, ω_i, 𝓛_i and
costs by Monte Carlo."""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_at_most, assert_mean_equals

from jcomp.compressors._base import worker_keys
from jcomp.compressors._encoding import qsgd_elias_bits
from jcomp.compressors._smoothness_aware import (
    _log2_comb_ceil_exact,
    _log2_comb_ceil_lgamma,
    block_quant,
    block_sizes,
    e1_bits,
    log2_comb_ceil,
    rand_tau,
    rand_tau_probabilities,
    varying_step,
)

fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})
_qsgd = fast_jit(qsgd_elias_bits)

M = 40_000
D = 7
RNG = np.random.default_rng(7)
X = RNG.normal(size=(2, D)) * np.array([3.0, 0.2, 1.0, 0.05, 1.5, 0.7, 2.0])
X[1, 3] = 0.0  # a zero coordinate
A = RNG.normal(size=(D, D))
L = A @ A.T + 0.1 * np.eye(D)  # dense PSD: off-diagonals must vanish in expectation
H = (0.3, 1.7, 0.25, 0.6, 2.5, 0.05, 0.9)  # some h_j > 1
HB = (0.35, 1.4, 0.6)  # blocks of sizes (2, 2, 3)
P = rand_tau_probabilities(np.diag(L), 3)
# per-worker parameters for the two rows of X (worker 1: its own L_1, steps, probabilities)
A1 = RNG.normal(size=(D, D)) * np.array([0.3, 2.0, 1.0, 0.5, 1.0, 3.0, 0.2])
LW = np.stack([L, A1.T @ A1 + 0.05 * np.eye(D)])  # (2, D, D): L_0 = L, L_1 another PSD
HW = (H, (1.2, 0.15, 0.8, 0.05, 0.4, 2.2, 0.3))
HBW = (HB, (0.2, 0.9, 1.6))
PW = (P, rand_tau_probabilities(np.diag(LW[1]), 2.5))  # τ_0 = 3, τ_1 = 2.5

COMPS = {
    "qh": varying_step(H),
    "qh-e1": varying_step(H, "e1"),
    "block": block_quant(HB, 3),
    "tau": rand_tau(P),
    "tau-unscaled": rand_tau(P, scaled=False),
    "qh-pw": varying_step(HW),
    "block-pw": block_quant(HBW, 3),
    "tau-pw": rand_tau(PW),
}


@functools.cache
def _samples():
    keys = jax.random.split(jax.random.key(42), M)
    Xj = jnp.asarray(X)

    def one(key):
        return {name: c(key, Xj) for name, c in COMPS.items()}

    out = fast_jit(jax.vmap(one))(keys)
    return jax.tree.map(np.asarray, out)


def _lnorm(E, Lm):
    return np.einsum("...i,ij,...j->...", E, Lm, E)


def _theta(x, h):
    v = np.abs(x) / np.linalg.norm(x)
    t = v / np.asarray(h)
    return v, t - np.floor(t)


# ----------------------------------------------------------------------------------- E.1 count


def test_e1_hand_example():
    # d = 4, k̂ = (0, 2, 0, 1): 31 + ⌈log₂5⌉ + ⌈log₂C(4,2)⌉ + 2 + 3 = 31 + 3 + 3 + 2 + 3.
    assert int(e1_bits(jnp.array([0, 2, 0, 1]))) == 42
    assert int(e1_bits(jnp.zeros(4, jnp.int32))) == 31 + 3  # n₀ = d: C = 1
    assert int(e1_bits(jnp.array([[1, 1, 1, 1]]))[0]) == 31 + 3 + 0 + 4 + 4
    assert int(e1_bits(jnp.array([0, -3, 0, 1]), 4, float_bits=64)) == 63 + 3 + 3 + 2 + 4


def _ceil_log2(c: int) -> int:
    return (c - 1).bit_length()


@pytest.mark.parametrize("d", [1, 2, 3, 4, 7, 8, 16, 31, 64, 100, 128, 199, 200])
def test_log2_comb_tables_match_math_comb(d):
    ref = np.array([_ceil_log2(math.comb(d, k)) for k in range(d + 1)])
    np.testing.assert_array_equal(_log2_comb_ceil_exact(d), ref)
    np.testing.assert_array_equal(_log2_comb_ceil_lgamma(d), ref)
    np.testing.assert_array_equal(log2_comb_ceil(d, np.arange(d + 1)), ref)


def test_log2_comb_lgamma_all_d_up_to_200():
    for d in range(1, 201):
        ref = np.array([_ceil_log2(math.comb(d, k)) for k in range(d + 1)])
        np.testing.assert_array_equal(_log2_comb_ceil_lgamma(d), ref, err_msg=f"d={d}")


def test_e1_random_levels_match_python_formula():
    rng = np.random.default_rng(3)
    for d in (1, 5, 33, 200):
        k = rng.integers(0, 4, size=(50, d)) * (rng.random((50, d)) < 0.4)
        got = np.asarray(e1_bits(jnp.asarray(k)))
        for row, g in zip(k, got, strict=True):
            n0 = int((row == 0).sum())
            want = 31 + math.ceil(math.log2(d + 1)) + _ceil_log2(math.comb(d, n0))
            want += (d - n0) + int(row.sum())
            assert g == want


def test_e1_rejects_float_levels():
    with pytest.raises(ValueError, match="khat"):
        e1_bits(jnp.ones(3))


# --------------------------------------------------------------------------- varying-step Q_h


def test_qh_l_norm_identity_and_levels():
    s = _samples()["qh"]
    for i, x in enumerate(X):
        v, th = _theta(x, H)
        err = s.values[:, i] - x
        want = (x @ x) * np.sum(np.diag(L) * np.square(H) * th * (1 - th))
        assert_mean_equals(_lnorm(err, L), want)
        assert_mean_equals((err**2).sum(-1), (x @ x) * np.sum(np.square(H) * th * (1 - th)))
        # E Σ k̂_j = Σ v_j/h_j, with k̂ recovered from the values (integers)
        k = np.abs(s.values[:, i]) / (np.linalg.norm(x) * np.asarray(H))
        np.testing.assert_allclose(k, np.round(k), atol=1e-9)
        assert_mean_equals(np.round(k).sum(-1), np.sum(v / np.asarray(H)))


def test_qh_unbiased_and_bounds():
    s = _samples()["qh"]
    c = COMPS["qh"]
    assert c.omega(D, 2) == pytest.approx(
        min(sum(h * h for h in H), math.sqrt(sum(h * h for h in H)))
    )
    for i, x in enumerate(X):
        assert_mean_equals(s.values[:, i], x)
        err = s.values[:, i] - x
        assert_mean_at_most((err**2).sum(-1), c.omega(D, 2) * (x @ x))
        assert_mean_at_most(_lnorm(err, L), c.matrix_smoothness_bound(L) * (x @ x))
    hh = np.asarray(H)
    want = min(np.sum(np.diag(L) * hh**2), np.linalg.norm(np.diag(L) * hh))
    assert c.matrix_smoothness_bound(L) == pytest.approx(want)


@pytest.mark.parametrize("name", ["qh", "qh-e1", "qh-pw"])
def test_qh_realized_bits_are_the_encoder_on_realized_levels(name):
    """Row i: the encoder on the levels of worker i's draw with worker i's steps."""
    c = COMPS[name]
    Xj = jnp.asarray(X)
    rows = jnp.broadcast_to(jnp.asarray(c.h), X.shape)  # worker i's steps
    keys = jax.random.split(jax.random.key(5), 64)

    def one(key):
        m = c(key, Xj)
        vk = jax.vmap(c.levels)(worker_keys(key, 2), Xj, rows)
        return m, vk

    m, (vals, k) = fast_jit(jax.vmap(one))(keys)
    np.testing.assert_array_equal(np.asarray(m.values), np.asarray(vals))
    enc = qsgd_elias_bits(k) if c.encoder == "qsgd" else e1_bits(k, D)
    np.testing.assert_array_equal(np.asarray(m.bits), np.asarray(enc, np.float64))
    np.testing.assert_array_equal(np.asarray(m.bits_noidx), np.asarray(m.bits))
    np.testing.assert_array_equal(np.asarray(m.coords), D + 1)
    assert np.asarray(k).max() >= 1


def test_qh_zero_vector_and_large_levels():
    c = varying_step((0.01, 0.01, 0.01))
    x = jnp.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
    m = fast_jit(c)(jax.random.key(0), x)
    np.testing.assert_array_equal(np.asarray(m.values[0]), 0.0)
    assert int(m.bits[0]) == 32
    k = np.abs(np.asarray(m.values[1])) / (1.5 * 0.01)
    assert k.max() > 60  # unbounded levels: no clipping at 1/h


# ------------------------------------------------------------------------------- block quant


def test_block_sizes_default_layout():
    assert block_sizes(12, 3) == (4, 4, 4)
    assert block_sizes(10, 3) == (3, 3, 4)
    assert block_sizes(7, 3) == (2, 2, 3)
    assert block_sizes(5, 1) == (5,)


def test_block_quant_unbiased_per_block_error_and_bounds():
    s = _samples()["block"]
    c = COMPS["block"]
    sizes = block_sizes(D, 3)
    seg = np.repeat(np.arange(3), sizes)
    hc = np.asarray(HB)[seg]
    want_w = max(min(dl * h * h, math.sqrt(dl) * h) for dl, h in zip(sizes, HB, strict=True))
    assert c.omega(D, 2) == pytest.approx(want_w)
    for i, x in enumerate(X):
        assert_mean_equals(s.values[:, i], x)
        bn = np.sqrt(np.bincount(seg, x * x))
        t = np.abs(x) / bn[seg] / hc
        th = t - np.floor(t)
        err = s.values[:, i] - x
        per_block = np.stack([(err[:, seg == l] ** 2).sum(-1) for l in range(3)], -1)
        want = bn**2 * np.asarray(HB) ** 2 * np.bincount(seg, th * (1 - th))
        assert_mean_equals(per_block, want)
        assert_mean_equals(_lnorm(err, L), bn[seg] ** 2 @ (np.diag(L) * hc**2 * th * (1 - th)))
        assert_mean_at_most((err**2).sum(-1), c.omega(D, 2) * (x @ x))
        assert_mean_at_most(_lnorm(err, L), c.matrix_smoothness_bound(L) * (x @ x))
        # structure: coordinate t of block l is ‖x^l‖ h_l sign(x_t) k_t with integer k_t ≥ 0
        k = s.values[:, i] / (bn[seg] * hc)
        np.testing.assert_allclose(k, np.round(k), atol=1e-9)
        assert np.all(np.round(k) * np.sign(x) >= 0)


@pytest.mark.parametrize(
    "h_blocks",
    [(0.2, 0.5, 0.3), ((0.2, 0.5, 0.3), (0.6, 0.1, 0.9), (1.5, 0.4, 0.25), (0.3, 0.3, 0.7))],
    ids=["shared", "per-worker"],
)
def test_block_quant_bits_per_block_reference(h_blocks):
    c = block_quant(h_blocks, 3)
    d = 10
    Xr = jnp.asarray(np.random.default_rng(1).normal(size=(4, d)))
    m = fast_jit(c)(jax.random.key(3), Xr)
    sizes = block_sizes(d, 3)
    starts = np.cumsum((0,) + sizes[:-1])
    rows = np.broadcast_to(np.asarray(c.h_blocks), (4, 3))  # worker i's block steps
    for i in range(4):
        hc = np.repeat(rows[i], sizes)
        x = np.asarray(Xr[i])
        bn = [np.linalg.norm(x[a : a + n]) for a, n in zip(starts, sizes, strict=True)]
        bn = np.repeat(bn, sizes)
        k = np.round(np.abs(np.asarray(m.values[i])) / (bn * hc)).astype(np.int64)
        np.testing.assert_allclose(k * bn * hc * np.sign(x), np.asarray(m.values[i]), rtol=1e-12)
        want = sum(int(_qsgd(k[a : a + n])) for a, n in zip(starts, sizes, strict=True))
        assert m.bits[i] == want and m.bits_noidx[i] == want and m.coords[i] == d + 3


def test_block_quant_smoothness_bound_formula():
    c = block_quant((0.5, 2.0))
    d = 5
    Lm = np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
    b1 = min(0.25 * 3.0, 0.5 * math.hypot(1, 2))
    b2 = min(4.0 * 12.0, 2.0 * math.sqrt(9 + 16 + 25))
    assert c.matrix_smoothness_bound(Lm) == pytest.approx(max(b1, b2))
    assert c.omega(d, 1) == pytest.approx(
        max(min(2 * 0.25, math.sqrt(2) * 0.5), min(3 * 4, math.sqrt(3) * 2))
    )


# ------------------------------------------------------------------------------------ rand-τ+


def test_rand_tau_probabilities_sum_and_constant():
    rng = np.random.default_rng(11)
    cases = [(np.diag(L), 3), (rng.lognormal(0, 3, size=50), 7.5), (np.ones(10), 4)]
    cases += [(rng.uniform(0.01, 100, size=30), t) for t in (0.5, 1, 15, 29.5)]
    for a, tau in cases:
        p = np.asarray(rand_tau_probabilities(a, tau))
        assert np.all((p > 0) & (p < 1))
        assert math.fsum(p) == pytest.approx(tau, rel=1e-12)
        r = (1 / p - 1) * a  # = c for every j
        np.testing.assert_allclose(r, r[0], rtol=1e-9)
    np.testing.assert_allclose(rand_tau_probabilities(np.ones(10), 4), 0.4, rtol=1e-12)


def test_rand_tau_unbiased_exact_variance_and_smoothness():
    s = _samples()["tau"]
    c = COMPS["tau"]
    p = np.asarray(P)
    assert c.tau == pytest.approx(3, rel=1e-12)
    assert c.omega(D, 2) == pytest.approx(np.max(1 / p - 1))
    cst = (1 / p - 1) * np.diag(L)
    assert c.matrix_smoothness_bound(L) == pytest.approx(cst.max())
    for i, x in enumerate(X):
        assert_mean_equals(s.values[:, i], x)
        err = s.values[:, i] - x
        assert_mean_equals((err**2).sum(-1), np.sum((1 / p - 1) * x * x))
        assert_mean_equals(_lnorm(err, L), np.sum(cst * x * x))
        assert_mean_at_most((err**2).sum(-1), c.omega(D, 2) * (x @ x))
    # row 0 has no zero coordinate: the kept set is the nonzero set; row 1's x_3 = 0 may be
    # sampled and sent as a zero value (its cost is counted: the coin, not the value, decides).
    nnz = (s.values[:, 0] != 0).sum(-1)
    np.testing.assert_array_equal(s.coords[:, 0], nnz)
    assert np.all(s.coords[:, 1] >= (s.values[:, 1] != 0).sum(-1))
    np.testing.assert_array_equal(s.bits, s.coords * (32 + math.ceil(math.log2(D))))
    np.testing.assert_array_equal(s.bits_noidx, s.coords * 32)
    eb, en, ec = c.expected_cost(D, 2)
    assert_mean_equals(s.coords[:, 0], ec)  # row 0 has no zero coordinate
    assert_mean_equals(s.bits[:, 0], eb)
    assert_mean_equals(s.bits_noidx[:, 0], en)


def test_rand_tau_omega_tight_on_worst_coordinate():
    p = np.asarray(P)
    j = int(np.argmin(p))
    x = np.zeros(D)
    x[j] = 1.3
    Xj = jnp.asarray(x[None])
    keys = jax.random.split(jax.random.key(9), 20_000)
    v = np.asarray(fast_jit(jax.vmap(lambda k: COMPS["tau"](k, Xj).values[0]))(keys))
    assert_mean_equals(((v - x) ** 2).sum(-1), COMPS["tau"].omega(D, 1) * (x @ x))


def test_rand_tau_unscaled_is_biased_code():
    s = _samples()["tau-unscaled"]
    c = COMPS["tau-unscaled"]
    p = np.asarray(P)
    assert not c.unbiased and COMPS["tau"].unbiased
    assert c.omega(D, 2) is None and c.delta(D) == pytest.approx(p.min())
    for i, x in enumerate(X):
        assert_mean_equals(s.values[:, i], p * x)
        err = ((s.values[:, i] - x) ** 2).sum(-1)
        assert_mean_equals(err, np.sum((1 - p) * x * x))
        assert_mean_at_most(err, (1 - c.delta(D)) * (x @ x))
    with pytest.raises(ValueError, match="scaled"):
        c.matrix_smoothness_bound(L)


# ------------------------------------------------------------------------------ per-worker


#: (per-worker compressor, the shared compressor of each worker's row)
_ROWS = {
    "qh-pw": [varying_step(r) for r in HW],
    "block-pw": [block_quant(r, 3) for r in HBW],
    "tau-pw": [rand_tau(r) for r in PW],
}


def test_per_worker_row_i_is_shared_compressor_with_row_i():
    """Row i of the per-worker message = row i of the shared compressor with worker i's row,
    same key (worker key fold_in(key, i)), draw by draw: the same draws (bits, coords exactly)
    and values to float64 rounding (XLA turns a division by the shared compressor's constant
    parameter into a multiplication by its reciprocal: a 1-ulp difference)."""
    Xj = jnp.asarray(X)
    keys = jax.random.split(jax.random.key(17), 16)

    def one(key):
        return {
            name: (COMPS[name](key, Xj), [c(key, Xj) for c in shared])
            for name, shared in _ROWS.items()
        }

    out = jax.tree.map(np.asarray, fast_jit(jax.vmap(one))(keys))
    for name, (m, shared) in out.items():
        for i, mi in enumerate(shared):
            np.testing.assert_allclose(m.values[:, i], mi.values[:, i], rtol=1e-12, atol=0)
            for field in ("bits", "bits_noidx", "coords"):
                np.testing.assert_array_equal(
                    getattr(m, field)[:, i], getattr(mi, field)[:, i], err_msg=f"{name} {field}"
                )


def test_per_worker_qh_identities_and_worker_constants():
    s, c = _samples()["qh-pw"], COMPS["qh-pw"]
    w = c.worker_omega(D, 2)
    bounds = c.worker_matrix_smoothness_bound(LW)
    for i, x in enumerate(X):
        h = np.asarray(HW[i])
        s2 = float(np.sum(h * h))
        assert w[i] == pytest.approx(min(s2, math.sqrt(s2)), rel=1e-14)
        dg = np.diag(LW[i])
        assert bounds[i] == pytest.approx(
            min(np.sum(dg * h * h), np.linalg.norm(dg * h)), rel=1e-14
        )
        v, th = _theta(x, h)
        err = s.values[:, i] - x
        assert_mean_equals(s.values[:, i], x)
        assert_mean_equals(_lnorm(err, LW[i]), (x @ x) * np.sum(dg * h * h * th * (1 - th)))
        assert_mean_equals((err**2).sum(-1), (x @ x) * np.sum(h * h * th * (1 - th)))
        assert_mean_at_most((err**2).sum(-1), w[i] * (x @ x))
        assert_mean_at_most(_lnorm(err, LW[i]), bounds[i] * (x @ x))
        k = np.abs(s.values[:, i]) / (np.linalg.norm(x) * h)
        np.testing.assert_allclose(k, np.round(k), atol=1e-9)  # worker i's grid h_i
        assert_mean_equals(np.round(k).sum(-1), np.sum(v / h))
    assert c.omega(D, 2) == max(w) and w[0] != w[1]
    assert c.theta(D, 2) == pytest.approx((w[0] + w[1]) / 4, rel=1e-14)
    assert c.ab(D, 2) == (max(w) / 2, 0.0)
    # one common L: the max over the workers' rows
    assert c.matrix_smoothness_bound(L) == max(r.matrix_smoothness_bound(L) for r in _ROWS["qh-pw"])
    np.testing.assert_array_equal(s.coords, D + 1)


def test_per_worker_block_quant_identities_and_worker_constants():
    s, c = _samples()["block-pw"], COMPS["block-pw"]
    sizes = block_sizes(D, 3)
    seg = np.repeat(np.arange(3), sizes)
    w = c.worker_omega(D, 2)
    bounds = c.worker_matrix_smoothness_bound(LW)
    for i, x in enumerate(X):
        hb = np.asarray(HBW[i])
        assert w[i] == pytest.approx(
            max(min(dl * h * h, math.sqrt(dl) * h) for dl, h in zip(sizes, hb, strict=True))
        )
        assert bounds[i] == pytest.approx(_ROWS["block-pw"][i].matrix_smoothness_bound(LW[i]))
        hc = hb[seg]
        bn = np.sqrt(np.bincount(seg, x * x))
        t = np.abs(x) / bn[seg] / hc
        th = t - np.floor(t)
        err = s.values[:, i] - x
        assert_mean_equals(s.values[:, i], x)
        per_block = np.stack([(err[:, seg == l] ** 2).sum(-1) for l in range(3)], -1)
        assert_mean_equals(per_block, bn**2 * hb**2 * np.bincount(seg, th * (1 - th)))
        dg = np.diag(LW[i])
        assert_mean_equals(_lnorm(err, LW[i]), bn[seg] ** 2 @ (dg * hc**2 * th * (1 - th)))
        assert_mean_at_most((err**2).sum(-1), w[i] * (x @ x))
        assert_mean_at_most(_lnorm(err, LW[i]), bounds[i] * (x @ x))
    assert c.omega(D, 2) == max(w) and w[0] != w[1]
    assert c.theta(D, 2) == pytest.approx((w[0] + w[1]) / 4, rel=1e-14)
    np.testing.assert_array_equal(s.coords, D + 3)


def test_per_worker_rand_tau_exact_variance_and_costs():
    s, c = _samples()["tau-pw"], COMPS["tau-pw"]
    w = c.worker_omega(D, 2)
    bounds = c.worker_matrix_smoothness_bound(LW)
    costs = c.expected_cost_per_worker(D, 2)
    assert c.worker_tau(2) == pytest.approx((3.0, 2.5), rel=1e-12)
    assert c.tau == pytest.approx(2.75, rel=1e-12)
    assert c.expected_cost(D, 2) == pytest.approx(tuple(np.mean(costs, axis=0)), rel=1e-14)
    for i, x in enumerate(X):
        p = np.asarray(PW[i])
        cst = (1 / p - 1) * np.diag(LW[i])
        assert w[i] == pytest.approx(np.max(1 / p - 1), rel=1e-14)
        assert bounds[i] == pytest.approx(cst.max(), rel=1e-14)
        err = s.values[:, i] - x
        assert_mean_equals(s.values[:, i], x)
        assert_mean_equals((err**2).sum(-1), np.sum((1 / p - 1) * x * x))
        assert_mean_equals(_lnorm(err, LW[i]), np.sum(cst * x * x))
        assert_mean_at_most(_lnorm(err, LW[i]), bounds[i] * (x @ x))
        # worker i's expected cost: the coins (not the values) decide, nnz → τ_i
        for field, e in zip(("bits", "bits_noidx", "coords"), costs[i], strict=True):
            assert_mean_equals(getattr(s, field)[:, i], e)
    assert costs[0] != costs[1]
    unscaled = rand_tau(PW, scaled=False)
    assert unscaled.delta(D) == min(min(r) for r in PW)
    assert unscaled.worker_omega(D, 2) is None and unscaled.theta(D, 2) is None


def test_shared_row_worker_constants_repeat():
    """A shared row: worker_omega is ω n times, worker_matrix_smoothness_bound the shared bound
    with each L_i, theta = ω/n as before."""
    for name in ("qh", "block", "tau"):
        c = COMPS[name]
        assert c.worker_omega(D, 3) == (c.omega(D, 3),) * 3
        assert c.theta(D, 3) == pytest.approx(c.omega(D, 3) / 3, rel=1e-14)
        want = [c.matrix_smoothness_bound(Li) for Li in LW]
        assert c.worker_matrix_smoothness_bound(LW) == pytest.approx(want, rel=1e-14)
    assert COMPS["tau"].expected_cost_per_worker(D, 2) == (COMPS["tau"].expected_cost(D, 2),) * 2
    with pytest.raises(NotImplementedError, match="data dependent"):
        COMPS["qh-pw"].expected_cost_per_worker(D, 2)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: varying_step([[0.1, 0.2], [0.3]]), r"(?s)h=.*n rows of equal length"),
        (lambda: varying_step(np.ones((2, 2, 2))), r"(?s)h=.*n rows of equal length"),
        (lambda: varying_step([[0.1, 0.2], [0.3, 0.0]]), r"h contains 0.0 \(worker 1's row\)"),
        (lambda: varying_step([[0.1, True]]), "h="),
        (lambda: block_quant([[0.1, 0.2], [0.3, 0.4]], 3), "each row's length=2"),
        (
            lambda: block_quant([[0.1, 0.2], [0.3, -1.0]]),
            r"h_blocks contains -1.0 \(worker 1's row\)",
        ),
        (lambda: rand_tau([[0.5, 1.5], [0.5, 0.5]]), r"probs contains 1.5 \(worker 0's row\)"),
        (lambda: rand_tau(np.zeros((0, 3))), "probs="),
    ],
)
def test_bad_per_worker_parameters_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("comp", "field"),
    [
        (varying_step(np.full((2, 4), 0.5)), "h"),
        (block_quant(np.full((2, 2), 0.5)), "h_blocks"),
        (rand_tau(np.full((2, 4), 0.5)), "probs"),
    ],
)
def test_per_worker_rows_must_match_n(comp, field):
    msg = rf"{comp.name}: {field} has 2 rows \(per-worker parameters\) but there are n=3 workers"
    with pytest.raises(ValueError, match=msg):
        comp(jax.random.key(0), jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=msg):
        comp.validate(4, 3)
    with pytest.raises(ValueError, match=msg):
        comp.worker_omega(4, 3)
    with pytest.raises(ValueError, match=msg):
        comp.omega(4, 3)
    with pytest.raises(ValueError, match=msg):
        comp.worker_matrix_smoothness_bound(np.stack([np.eye(4)] * 3))
    with pytest.raises(ValueError, match="Ls must have shape"):
        comp.worker_matrix_smoothness_bound(np.eye(4))
    comp.validate(4, 2)  # n = 2 rows: fine
    assert len(comp.worker_omega(4, 2)) == 2


def test_per_worker_row_length_and_levels_errors():
    with pytest.raises(ValueError, match="h has length 4 in every worker's row but .* d=5"):
        varying_step(np.full((2, 4), 0.5))(jax.random.key(0), jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="probs has length 4 in every worker's row but .* d=5"):
        rand_tau(np.full((2, 4), 0.5)).validate(5, 2)
    with pytest.raises(ValueError, match="levels: h=None is not allowed with per-worker"):
        COMPS["qh-pw"].levels(jax.random.key(0), jnp.ones(D))


# ------------------------------------------------------------------------------- validation


def test_static_under_jit_and_hashable():
    for c in COMPS.values():
        twin = dataclasses.replace(c)
        assert twin == c and hash(twin) == hash(c)
    f = fast_jit(lambda c, k, x: c(k, x).values, static_argnums=0)
    for c in COMPS.values():
        f(c, jax.random.key(0), jnp.asarray(X))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: varying_step([]), "h"),
        (lambda: varying_step([0.1, 0.0]), "h contains 0.0"),
        (lambda: varying_step([0.1, -1]), "h contains -1.0"),
        (lambda: varying_step([0.1, float("inf")]), "h contains inf"),
        (lambda: varying_step("ab"), "h="),
        (lambda: varying_step([0.1], encoder="elias"), "encoder='elias'"),
        (lambda: block_quant((0.1, 0.2), 3), "blocks=3"),
        (lambda: block_quant((0.1,), 0), "blocks=0"),
        (lambda: block_quant((0.1, -0.2)), "h_blocks contains -0.2"),
        (lambda: rand_tau([0.5, 0.0]), "probs contains 0.0"),
        (lambda: rand_tau([0.5, 1.5]), "probs contains 1.5"),
        (lambda: rand_tau([]), "probs"),
        (lambda: rand_tau([0.5], scaled=1), "scaled=1"),
        (lambda: rand_tau_probabilities([1.0, 2.0], 0), "tau=0"),
        (lambda: rand_tau_probabilities([1.0, 2.0], 2), "tau=2"),
        (lambda: rand_tau_probabilities([1.0, 2.0], True), "tau=True"),
        (lambda: rand_tau_probabilities([1.0, 0.0], 1), "diag_L"),
        (lambda: rand_tau_probabilities([[1.0]], 0.5), "diag_L"),
    ],
)
def test_bad_parameters_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("comp", "match"),
    [
        (varying_step([0.1] * 3), "h has length 3"),
        (block_quant([0.1] * 8), "blocks=8"),
        (rand_tau([0.5] * 3), "probs has length 3"),
    ],
)
def test_dimension_mismatch_rejected_at_call(comp, match):
    with pytest.raises(ValueError, match=match):
        comp(jax.random.key(0), jnp.ones((2, 5)))


def test_expected_cost_data_dependent_for_quantizers():
    for name in ("qh", "qh-e1", "block"):
        with pytest.raises(NotImplementedError, match="data dependent"):
            COMPS[name].expected_cost(D, 2)


@pytest.mark.parametrize("d", [1000, 4096, 25_000])
def test_log2_comb_lgamma_matches_exact_for_large_d(d):
    np.testing.assert_array_equal(_log2_comb_ceil_lgamma(d), _log2_comb_ceil_exact(d))
