"""IQ and CQ (spec §4): unbiasedness, exact MSE formulas, CQ's gain over IQ, shared randomness.

Monte Carlo with fixed keys, M draws from one compiled program, tolerances z = 5 standard
errors (tests/mc.py). Exact targets:

* per worker, both IQ and CQ: ``E‖C_i(a_i) − a_i‖² = Σ_j Δ_i²f_ij(1−f_ij)`` (the two-point
  variance; each U_ij is U[0,1) for both);
* common input x, mean of n outputs: IQ ``(1/n)Σ_j Δ²f_j(1−f_j)``; CQ (either perm)
  ``(1/n²)Σ_j Δ²g_j(1−g_j)`` with ``g_j = frac(n f_j)`` (one uniform per stratum);
* heterogeneous input: the mean's MSE under a permutation law, computed by enumerating the
  law's permutations (n! for "uniform", n shifts for "cyclic").
"""

from __future__ import annotations

import dataclasses
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_at_most, assert_mean_equals, mean_and_se

from jcomp.compressors._correlated import (
    CQ,
    IQ,
    cq,
    cq_permutations,
    iq,
    quantize,
    two_point_variance,
)

fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

M = 20_000
NS = (2, 4, 8, 16)  # worker counts for the CQ-vs-IQ comparison on identical inputs
D_COMMON = 16

# Heterogeneous single-worker / AB checks: n = 4, d = 6.
HET = {
    "iq-s1": iq(),
    "iq-s3": iq(s=3),
    "cq-s1": cq(),
    "cq-s3": cq(s=3),
    "cq-cyc-s1": cq(perm="cyclic"),
    "cq-cyc-s3": cq(s=3, perm="cyclic"),
    "iq-shared": iq(range_="shared", ab_mode="exact"),
    "cq-shared": cq(range_="shared", ab_mode="exact"),
    "cq-shared-s3": cq(s=3, range_="shared", ab_mode="exact"),
}
COMMON = {"iq": iq(), "cq": cq(), "cq-cyc": cq(perm="cyclic"), "cq-s3": cq(s=3)}
N1 = {"iq-s1": iq(), "cq-s1": cq(), "iq-s3": iq(s=3), "cq-s3": cq(s=3)}
ORDER = {"uniform": cq(), "cyclic": cq(perm="cyclic")}


def _het_input():
    rng = np.random.default_rng(7)
    return rng.normal(size=6) + 0.8 * rng.normal(size=(4, 6))


def _common_input(n):
    x = np.random.default_rng(11).normal(size=D_COMMON)
    return np.broadcast_to(x, (n, D_COMMON)).copy()


def _n1_input():
    return np.random.default_rng(13).normal(size=(1, 6))


def _order_inputs():
    """Heterogeneous inputs on which the cyclic law's MSE differs from the uniform one (picked
    by maximizing the exact gap over random normal inputs; exact mean MSE uniform / cyclic:
    n = 3: 0.305 / 0.062, n = 4: 0.450 / 0.173)."""
    return {
        3: np.array([[0.08, 0.21], [-1.36, 0.41], [-1.19, -0.42]]),
        4: np.array([[-0.04, 1.74], [1.72, -0.05], [0.24, -1.64], [-0.91, -0.37]]),
    }


@functools.cache
def _samples():
    inputs = {
        "het": _het_input(),
        "common": {n: _common_input(n) for n in NS},
        "n1": _n1_input(),
        "order": _order_inputs(),
    }
    keys = jax.random.split(jax.random.key(2024), M)

    def one_key(key, inp):
        return {
            "het": {k: c(key, inp["het"]) for k, c in HET.items()},
            "common": {f"{k}-{n}": c(key, inp["common"][n]) for k, c in COMMON.items() for n in NS},
            "n1": {k: c(key, inp["n1"]) for k, c in N1.items()},
            "order": {
                f"{k}-{n}": c(key, X) for k, c in ORDER.items() for n, X in inp["order"].items()
            },
        }

    jin = jax.tree.map(jnp.asarray, inputs)
    out = fast_jit(jax.vmap(one_key, in_axes=(0, None)))(keys, jin)
    return inputs, jax.tree.map(np.asarray, out)


_two_point_variance = fast_jit(two_point_variance, static_argnums=(1, 2))


def _tpv(X, s=1, range_="worker"):
    return np.asarray(_two_point_variance(jnp.asarray(X), s, range_))


def _cq_common_mse(x, n, s=1):
    """Exact MSE of CQ's mean on the common input x: (1/n²)Σ_j Δ²g(1−g), g = frac(n·frac(t))."""
    nrm = np.linalg.norm(x)
    delta = 2 * nrm / s
    t = np.clip((x + nrm) / delta, 0, s)
    g = (n * (t - np.floor(t))) % 1.0
    return (delta**2 * g * (1 - g)).sum() / n**2


def _mean_mse_by_enumeration(X, perms):
    """Exact E‖(1/n)Σ_i C_i(a_i) − ā‖² for s = 1, worker range, π_j i.i.d. uniform on ``perms``."""
    n, d = X.shape
    nrm = np.linalg.norm(X, axis=1)
    delta = 2 * nrm
    f = np.clip((X + nrm[:, None]) / delta[:, None], 0, 1)
    f = f - np.floor(f)
    total = 0.0
    for j in range(d):
        acc = 0.0
        for p in perms:
            pk = np.clip(n * f[:, j] - np.asarray(p), 0.0, 1.0)  # P(U_ij < f_ij | π_j)
            acc += (delta**2 * pk * (1 - pk)).sum() + ((delta * (pk - f[:, j])).sum()) ** 2
        total += acc / len(perms)
    return total / n**2


def _perm_law(kind, n):
    if kind == "uniform":
        return list(itertools.permutations(range(n)))
    return [tuple((s + i) % n for i in range(n)) for s in range(n)]


# ---------------------------------------------------------------------------------------------
# Monte Carlo


@pytest.mark.parametrize("name", list(HET))
def test_unbiased_heterogeneous(name):
    inputs, out = _samples()
    assert_mean_equals(out["het"][name].values, inputs["het"])


@pytest.mark.parametrize("name", list(COMMON))
def test_unbiased_common(name):
    inputs, out = _samples()
    for n in NS:
        assert_mean_equals(out["common"][f"{name}-{n}"].values, inputs["common"][n])


@pytest.mark.parametrize("name", list(HET))
def test_worker_mse_equals_two_point_variance(name):
    # IQ (the spec's property) and CQ (same marginals): E‖C_i(a_i) − a_i‖² = Σ_j Δ²f(1−f).
    inputs, out = _samples()
    comp, X = HET[name], inputs["het"]
    err = ((out["het"][name].values - X) ** 2).sum(-1)  # (M, n)
    assert_mean_equals(err, _tpv(X, comp.s, comp.range_).sum(-1))


@pytest.mark.parametrize("name", ["iq-s1", "iq-s3", "cq-s1", "cq-cyc-s1"])
def test_omega_worker_range(name):
    inputs, out = _samples()
    comp, X = HET[name], inputs["het"]
    d, n = X.shape[1], X.shape[0]
    err = ((out["het"][name].values - X) ** 2).sum(-1)
    bound = comp.omega(d, n) * (X**2).sum(-1)
    if comp.s == 1:  # ω = d − 1 with equality for every input
        assert_mean_equals(err, bound)
    else:
        assert_mean_at_most(err, bound)


@pytest.mark.parametrize("name", list(HET))
def test_ab_exact_constants_hold(name):
    inputs, out = _samples()
    comp = HET[name]
    comp = dataclasses.replace(comp, ab_mode="exact")  # the paper constants are no bound here
    X = inputs["het"]
    n, d = X.shape
    A, B = comp.ab(d, n)
    lhs = ((out["het"][name].values.mean(1) - X.mean(0)) ** 2).sum(-1)
    assert_mean_at_most(lhs, A * (X**2).sum(-1).mean())
    assert B == 0.0


def test_iq_mean_mse_common_input_exact():
    inputs, out = _samples()
    for n in NS:
        X = inputs["common"][n]
        err = ((out["common"][f"iq-{n}"].values.mean(1) - X[0]) ** 2).sum(-1)
        assert_mean_equals(err, _tpv(X[:1]).sum() / n)
        # = θ‖x‖² with θ = (d − 1)/n at s = 1
        assert _tpv(X[:1]).sum() / n == pytest.approx(iq().theta(D_COMMON, n) * (X[0] ** 2).sum())


@pytest.mark.parametrize("name", ["cq", "cq-cyc", "cq-s3"])
def test_cq_mean_mse_common_input_exact(name):
    inputs, out = _samples()
    comp = COMMON[name]
    for n in NS:
        X = inputs["common"][n]
        err = ((out["common"][f"{name}-{n}"].values.mean(1) - X[0]) ** 2).sum(-1)
        target = _cq_common_mse(X[0], n, comp.s)
        assert_mean_equals(err, target, atol=1e-12)
        assert target <= comp.theta(D_COMMON, n) * (X[0] ** 2).sum() * (1 + 1e-12)


def _mean_mse(out, key, X):
    err = ((out["common"][key].values.mean(1) - X[0]) ** 2).sum(-1)
    return mean_and_se(err)


def test_cq_beats_iq_and_ratio_increases_with_n():
    inputs, out = _samples()
    ratios, exact = [], []
    for n in NS:
        X = inputs["common"][n]
        (m_iq, se_iq), (m_cq, se_cq) = _mean_mse(out, f"iq-{n}", X), _mean_mse(out, f"cq-{n}", X)
        assert m_cq + 5 * se_cq < m_iq - 5 * se_iq, (n, m_cq, m_iq)
        ratios.append(m_iq / m_cq)
        exact.append(_tpv(X[:1]).sum() / n / _cq_common_mse(X[0], n))
    print(
        "IQ/CQ mean-MSE ratios by n:",
        [f"{n}: {r:.2f} (exact {e:.2f})" for n, r, e in zip(NS, ratios, exact, strict=True)],
    )
    assert all(b > a for a, b in itertools.pairwise(ratios)), ratios
    assert all(b > a for a, b in itertools.pairwise(exact)), exact


@pytest.mark.parametrize("s", [1, 3])
def test_cq_equals_iq_at_n1(s):
    inputs, out = _samples()
    x = inputs["n1"]
    a, b = out["n1"][f"iq-s{s}"].values, out["n1"][f"cq-s{s}"].values
    # First two moments agree within SE (the spec's statement) ...
    ma, sa = mean_and_se(a)
    mb, sb = mean_and_se(b)
    assert np.all(np.abs(ma - mb) <= 5 * np.hypot(sa, sb) + 1e-12)
    ea, eb = ((a - x) ** 2).sum(-1), ((b - x) ** 2).sum(-1)
    (m1, s1), (m2, s2) = mean_and_se(ea), mean_and_se(eb)
    assert abs(m1 - m2) <= 5 * np.hypot(s1, s2) + 1e-12
    # ... and, since U = (0 + u)/1 with u from fold_in(key, 0) in both, the messages coincide.
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n", [3, 4])
def test_cyclic_differs_from_uniform_on_heterogeneous_input(n):
    inputs, out = _samples()
    X = inputs["order"][n]
    res = {}
    for kind in ("uniform", "cyclic"):
        err = ((out["order"][f"{kind}-{n}"].values.mean(1) - X.mean(0)) ** 2).sum(-1)
        exact = _mean_mse_by_enumeration(X, _perm_law(kind, n))
        assert_mean_equals(err, exact)
        res[kind] = (*mean_and_se(err), exact)
    (mu, su, eu), (mc, sc, ec) = res["uniform"], res["cyclic"]
    print(
        f"n={n}: mean MSE uniform {mu:.4f}±{su:.4f} (exact {eu:.4f}), "
        f"cyclic {mc:.4f}±{sc:.4f} (exact {ec:.4f})"
    )
    assert abs(mu - mc) > 5 * np.hypot(su, sc)


def test_cyclic_order_dependence_exact():
    # Reordering the workers changes the cyclic law's MSE, not the uniform one's.
    X = _order_inputs()[4]
    swapped = X[[1, 0, 2, 3]]  # swap two workers: a different cyclic neighbourhood structure
    u = [_mean_mse_by_enumeration(Y, _perm_law("uniform", 4)) for Y in (X, swapped)]
    c = [_mean_mse_by_enumeration(Y, _perm_law("cyclic", 4)) for Y in (X, swapped)]
    assert u[0] == pytest.approx(u[1], rel=1e-12)
    assert abs(c[0] - c[1]) > 1e-3 * c[0]


# ---------------------------------------------------------------------------------------------
# Shared / private randomness


@functools.cache
def _perm_freqs():
    keys = jax.random.split(jax.random.key(5), M)
    f = fast_jit(jax.vmap(lambda k: (cq_permutations(k, 3, 2), cq_permutations(k, 3, 2, "cyclic"))))
    return jax.tree.map(np.asarray, f(keys))


@pytest.mark.parametrize("kind", ["uniform", "cyclic"])
def test_permutation_law(kind):
    pis = _perm_freqs()[0 if kind == "uniform" else 1]  # (M, n=3, d=2)
    law = _perm_law(kind, 3)
    perms = list(itertools.permutations(range(3)))
    code = lambda p: perms.index(tuple(p))
    c0 = np.array([code(p) for p in pis[:, :, 0]])
    c1 = np.array([code(p) for p in pis[:, :, 1]])
    for p in perms:
        expected = 1 / len(law) if p in law else 0.0
        assert_mean_equals((c0 == code(p)).astype(float), expected, atol=1e-15)
    # Coordinates draw independent permutations.
    both = ((c0 == code(law[0])) & (c1 == code(law[0]))).astype(float)
    assert_mean_equals(both, 1 / len(law) ** 2)


@pytest.mark.parametrize("comp", [cq(), cq(perm="cyclic", s=3)], ids=["uniform", "cyclic"])
def test_shared_and_private_randomness(comp):
    key = jax.random.key(42)
    n, d = 5, 7
    rng = np.random.default_rng(0)
    X1, X2 = jnp.asarray(rng.normal(size=(n, d))), jnp.asarray(3 * rng.normal(size=(n, d)))
    U = np.asarray(fast_jit(comp.uniforms, static_argnums=(1, 2, 3))(key, n, d, jnp.float64))
    pi = np.asarray(fast_jit(cq_permutations, static_argnums=(1, 2, 3))(key, n, d, comp.perm))
    # π depends on the shared key only and is a permutation of 0..n−1 in every column.
    np.testing.assert_array_equal(np.floor(n * U).astype(int), pi)
    np.testing.assert_array_equal(np.sort(pi, axis=0), np.tile(np.arange(n)[:, None], (1, d)))
    # Private part of worker i from fold_in(key, i).
    for i in range(n):
        u_i = jax.random.uniform(jax.random.fold_in(key, i), (d,), jnp.float64)
        np.testing.assert_allclose(n * U[i] - pi[i], u_i, rtol=0, atol=1e-12)
    # The message is quantize(X, U(key)) for any input: different inputs share the same π.
    jitted = fast_jit(
        lambda k, X: (comp(k, X).values, quantize(X, comp.uniforms(k, n, d, X.dtype), comp.s))
    )
    for X in (X1, X2):
        got, want = jitted(key, X)
        np.testing.assert_array_equal(got, want)
    # A new key gives new permutations.
    assert not np.array_equal(pi, np.asarray(cq_permutations(jax.random.key(43), n, d, comp.perm)))


def test_iq_private_uniforms():
    key = jax.random.key(3)
    U = np.asarray(fast_jit(iq().uniforms, static_argnums=(1, 2, 3))(key, 4, 5, jnp.float64))
    for i in range(4):
        np.testing.assert_array_equal(
            U[i], jax.random.uniform(jax.random.fold_in(key, i), (5,), jnp.float64)
        )


# ---------------------------------------------------------------------------------------------
# Determinism, jit, edge cases, metadata, validation

ALL = [iq(), iq(s=3), iq(range_="shared"), cq(), cq(s=2, perm="cyclic"), cq(range_="shared")]


@pytest.mark.parametrize("comp", ALL, ids=repr)
def test_same_key_same_message_and_jit(comp):
    X = jnp.asarray(np.random.default_rng(1).normal(size=(4, 9)))
    key = jax.random.key(9)
    jitted = fast_jit(comp.__call__)
    m1, m2, mj = jitted(key, X), jitted(key, X), comp(key, X)  # mj: not jitted
    for a, b, c in zip(m1, m2, mj, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=0)
    assert not np.array_equal(m1.values, jitted(jax.random.key(10), X).values)
    # Outputs lie on the grid l + Δ·{0..s}.
    lo = -np.linalg.norm(np.asarray(X), axis=1, keepdims=True)
    if comp.range_ == "shared":
        lo = np.full_like(lo, lo.min())
    q = (np.asarray(m1.values) - lo) / (-2 * lo / comp.s)
    np.testing.assert_allclose(q, np.round(q), atol=1e-9)
    d = X.shape[1]
    bits, _, coords = comp.expected_cost(d, 4)
    np.testing.assert_array_equal(m1.bits, bits)
    np.testing.assert_array_equal(m1.bits_noidx, bits)
    np.testing.assert_array_equal(m1.coords, d + 1)


@pytest.mark.parametrize("comp", ALL, ids=repr)
def test_zero_rows_map_to_zero(comp):
    X = jnp.zeros((3, 4)).at[1].set(jnp.array([1.0, -2.0, 0.5, 0.0]))
    if comp.range_ == "shared":
        X = jnp.zeros((3, 4))
    v = np.asarray(fast_jit(comp.__call__)(jax.random.key(0), X).values)
    assert np.isfinite(v).all()
    np.testing.assert_array_equal(v[0], 0.0)
    np.testing.assert_array_equal(v[2], 0.0)


def test_extreme_entries_are_exact():
    # a = ±‖a‖ e_1: t ∈ {0, s} and 1/2 on the rest; the ±‖a‖ coordinate is reproduced exactly.
    X = jnp.array([[3.0, 0.0, 0.0], [0.0, -2.0, 0.0]])
    for comp in (iq(), cq(s=3)):
        v = np.asarray(fast_jit(comp.__call__)(jax.random.key(1), X).values)
        assert v[0, 0] == 3.0 and v[1, 1] == -2.0


def test_metadata():
    d, n = 10, 4
    assert iq().omega(d, n) == d - 1 and cq().omega(d, n) == d - 1
    assert iq(s=3).omega(d, n) == pytest.approx(d / 9)
    assert iq(s=2).omega(3, n) == pytest.approx(min(3 / 4, 2))
    assert iq(range_="shared").omega(d, n) is None
    assert iq().theta(d, n) == pytest.approx((d - 1) / n)
    assert cq().theta(d, n) == pytest.approx(d / n**2)
    assert cq(s=2).theta(d, n) == pytest.approx(d / (4 * n**2))
    # Paper constants (default) and the provable ones.
    assert iq().ab(d, n) == pytest.approx((d / (4 * n), 0.0))
    assert cq().ab(d, n) == pytest.approx((d / (4 * n**2), 0.0))
    assert iq(ab_mode="exact").ab(d, n) == pytest.approx(((d - 1) / n, 0.0))
    assert cq(ab_mode="exact").ab(d, n) == pytest.approx((d - 1, 0.0))
    assert iq(range_="shared", ab_mode="exact").ab(d, n) == pytest.approx((d, 0.0))
    assert cq(range_="shared", ab_mode="exact").ab(d, n) == pytest.approx((n * d, 0.0))
    # ω = d − 1 ≈ 4× the paper's A_IQ·n
    assert iq().omega(d, n) / (iq().ab(d, n)[0] * n) == pytest.approx(4 * (d - 1) / d)
    assert iq().expected_cost(d, n) == (d + 32.0, d + 32.0, d + 1.0)
    assert cq(s=3).expected_cost(d, n) == (2 * d + 32.0, 2 * d + 32.0, d + 1.0)
    assert cq(s=4).expected_cost(d, n) == (3 * d + 32.0, 3 * d + 32.0, d + 1.0)
    assert iq().unbiased and cq().unbiased and iq().independent and not cq().independent
    for c in ALL:
        desc = c.describe()
        cls = {"iq": IQ, "cq": CQ}[desc.pop("name")]
        assert cls(**desc) == c
        assert hash(c) == hash(cls(**desc))


def test_two_point_variance_s1_is_norm_minus_square():
    X = np.random.default_rng(2).normal(size=(3, 5))
    tpv = _tpv(X)
    np.testing.assert_allclose(tpv, (X**2).sum(-1, keepdims=True) - X**2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (iq, {"s": 0}, "s=0"),
        (cq, {"s": -2}, "s=-2"),
        (iq, {"s": 1.5}, "s=1.5"),
        (cq, {"perm": "random"}, "perm='random'"),
        (iq, {"range_": "global"}, "range_='global'"),
        (cq, {"range_": None}, "range_=None"),
        (cq, {"ab_mode": "tight"}, "ab_mode='tight'"),
    ],
)
def test_bad_parameters_rejected(factory, kwargs, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(".", r"\.")):
        factory(**kwargs)


def test_bad_shape_rejected():
    with pytest.raises(ValueError, match="shape"):
        cq()(jax.random.key(0), jnp.ones(4))
