"""Class constants of every registered compressor, by Monte Carlo with fixed keys.

For each case (compressor, d, n) we draw M messages (one ``vmap`` over M keys, compiled once) on
a heterogeneous input ``X = μ + noise`` (rows differ, their mean is far from 0) and on a common
input (every row equal), then check with standard-error tolerances (tests/mc.py, z = 5):

* unbiasedness ``E C_i(x_i) = x_i`` (unbiased compressors);
* ω: ``E‖C_i(x_i) − x_i‖² ≤ ω‖x_i‖²`` per worker, with equality where the class is tight;
* δ: ``E‖C_i(x_i) − x_i‖² ≤ (1 − δ)‖x_i‖²``;
* θ (P(θ)): ``E‖(1/n)Σ_i C_i(x) − x‖² ≤ θ‖x‖²`` on the common input;
* (A, B): ``E‖(1/n)Σ_i C_i(a_i) − ā‖² ≤ (A − B)(1/n)Σ‖a_i‖² + B(1/n)Σ‖a_i − ā‖²``;
* expected cost: the mean realized (bits, bits_noidx, coords) per worker = ``expected_cost``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases_combinators_extra import CASES_COMBINATORS_EXTRA
from cases_correlated import CASES_CORRELATED
from cases_projections import CASES_PROJECTIONS
from cases_quantizers import CASES_QUANTIZERS
from cases_smoothness_aware import CASES_SMOOTHNESS
from mc import assert_mean_at_most, assert_mean_equals

from jcomp import compressors as C

# Compile Monte Carlo programs without LLVM optimizations: 4x faster to compile on CPU, the
# same computation (no fast-math either way), and compiling (not running) dominates these tests.
fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

M = 40_000  # Monte Carlo samples per case


class Case(NamedTuple):
    id: str
    comp: C.Compressor
    d: int
    n: int
    exact: frozenset = frozenset()  # which of {"omega", "delta", "theta", "ab"} hold with equality


NAT = C.natural()
EXACT_ALL_BUT_DELTA = frozenset({"omega", "theta", "ab"})
CASES = [
    Case("identity", C.identity(), 12, 3, frozenset({"omega", "delta", "theta", "ab"})),
    Case("rand_k-n3", C.rand_k(3), 12, 3, EXACT_ALL_BUT_DELTA),
    Case("rand_k-n5", C.rand_k(5), 12, 5, EXACT_ALL_BUT_DELTA),
    Case("top_k", C.top_k(4), 12, 3),
    Case("same_rand_k-n3", C.same_rand_k(3), 12, 3, frozenset({"omega", "theta"})),
    Case("same_rand_k-n5", C.same_rand_k(4), 12, 5, frozenset({"omega", "theta"})),
    Case("same_rand_k-unscaled", C.same_rand_k(4, scaled=False), 12, 3, frozenset({"delta"})),
    Case("perm_k-n|d", C.perm_k(), 12, 3, EXACT_ALL_BUT_DELTA),
    Case("perm_k-n!|d", C.perm_k(), 12, 5, EXACT_ALL_BUT_DELTA),
    Case("perm_k-d<n-r0", C.perm_k(), 4, 8, EXACT_ALL_BUT_DELTA),
    Case("perm_k-d<n-r2", C.perm_k(), 4, 10, EXACT_ALL_BUT_DELTA),
    Case("perm_k-d<n-r3", C.perm_k(), 4, 11, EXACT_ALL_BUT_DELTA),
    Case("natural", NAT, 12, 3),
    Case("nat∘rand_k", C.compose(NAT, C.rand_k(3)), 12, 5),
    Case("nat∘perm_k", C.compose(NAT, C.perm_k()), 12, 5),
    Case("nat∘perm_k-d<n", C.compose(NAT, C.perm_k()), 4, 10),
    Case("nat∘same_rand_k", C.compose(NAT, C.same_rand_k(3)), 12, 3),
    Case("nat∘top_k", C.compose(NAT, C.top_k(4)), 12, 3),
    Case("id∘perm_k", C.compose(C.identity(), C.perm_k()), 12, 5, EXACT_ALL_BUT_DELTA),
]
CASES += [
    Case(*row)
    for rows in (
        CASES_QUANTIZERS,
        CASES_CORRELATED,
        CASES_SMOOTHNESS,
        CASES_COMBINATORS_EXTRA,
        CASES_PROJECTIONS,
    )
    for row in rows
]
BY_ID = {c.id: c for c in CASES}


def _inputs(d, n):
    rng = np.random.default_rng(1000 * d + n)
    mu = rng.normal(size=d)
    X = mu + 0.7 * rng.normal(size=(n, d))  # heterogeneous rows, mean far from 0
    common = np.broadcast_to(rng.normal(size=d), (n, d))
    return jnp.asarray(X), jnp.asarray(common)


@functools.cache
def _samples(case_id):
    """(X, common, heterogeneous messages, messages on the common input) of one case: M keys in
    one compiled program per case (one program for all cases made XLA's CPU runtime stall)."""
    case = BY_ID[case_id]
    X, common = _inputs(case.d, case.n)
    keys = jax.random.split(jax.random.key(0), M)

    def one_key(key):
        return case.comp(key, X), case.comp(key, common)

    het, com = fast_jit(jax.vmap(one_key))(keys)
    return jax.tree.map(np.asarray, (X, common, het, com))


def _atol(samples):
    """Rounding bound of a float64 sample mean of M terms (naive summation along axis 0): a
    deterministic quantity (identity, PermK's θ = 0) has SE ≈ 0 but its mean still rounds."""
    return M * np.finfo(np.float64).eps * float(np.abs(samples).max())


def _equals(samples, target):
    assert_mean_equals(samples, target, atol=_atol(samples))


def _check(kind, case, samples, target, scale=0.0):
    """Equality (within 5 SE) where the class is tight for this case, else the bound. ``scale``
    (‖x‖²) adds the float64 rounding of an exact identity, rtol 1e-12 on the vector."""
    atol = _atol(samples) + 1e-24 * scale
    if kind in case.exact:
        assert_mean_equals(samples, target, atol=atol)
    else:
        assert_mean_at_most(samples, target, atol=atol)


def test_cases_cover_registry():
    covered = {c.comp.name for c in CASES}
    covered |= {c.comp.inner.name for c in CASES if isinstance(c.comp, C.Compose)}
    assert set(C.names()) <= covered


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_batched_program_has_no_custom_call(case):
    # LAPACK custom calls (jnp.linalg.qr/solve on CPU) batched by vmap deadlocked XLA's CPU
    # thread pool under jaxlib 0.10 (jcomp/compressors/_householder.py); compressors must lower
    # to plain XLA operations so that key-batched Monte Carlo and sweeps cannot hang.
    X, _ = _inputs(case.d, case.n)
    keys = jax.random.split(jax.random.key(0), 4)
    hlo = jax.jit(jax.vmap(lambda k: case.comp(k, X))).lower(keys).as_text()
    assert "custom_call" not in hlo


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_unbiased(case):
    if not case.comp.unbiased:
        pytest.skip("biased compressor")
    X, common, het, com = _samples(case.id)
    _equals(het.values, X)
    _equals(com.values, common)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_omega_delta(case):
    X, _, het, _ = _samples(case.id)
    err = ((het.values - X) ** 2).sum(-1)  # (M, n)
    sq = (X**2).sum(-1)  # (n,)
    w, dl = case.comp.omega(case.d, case.n), case.comp.delta(case.d)
    assert w is not None or dl is not None or case.id == "nat∘top_k"
    if w is not None:
        _check("omega", case, err, w * sq)
    if dl is not None:
        _check("delta", case, err, (1 - dl) * sq)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_theta_common_input(case):
    th = case.comp.theta(case.d, case.n)
    if th is None:
        pytest.skip("no P(theta) class")
    _, common, _, com = _samples(case.id)
    x = common[0]
    err = ((com.values.mean(1) - x) ** 2).sum(-1)  # (M,)
    _check("theta", case, err, th * (x**2).sum(), scale=(x**2).sum())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_ab_heterogeneous(case):
    ab = case.comp.ab(case.d, case.n)
    if ab is None:
        pytest.skip("no AB class")
    A, B = ab
    X, _, het, _ = _samples(case.id)
    abar = X.mean(0)
    lhs = ((het.values.mean(1) - abar) ** 2).sum(-1)  # (M,)
    rhs = (A - B) * (X**2).sum(-1).mean() + B * ((X - abar) ** 2).sum(-1).mean()
    _check("ab", case, lhs, rhs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_expected_cost(case):
    _, _, het, _ = _samples(case.id)
    try:
        expected = case.comp.expected_cost(case.d, case.n)
    except NotImplementedError:
        pytest.skip(f"{case.id}: cost is data dependent (checked against its encoder instead)")
    for field, e in zip(("bits", "bits_noidx", "coords"), expected, strict=True):
        _equals(getattr(het, field), np.full(case.n, e))


def test_permk_ab_constants_match_spec():
    # d >= n: A = B = 1 (also n ∤ d); d < n: A = B = (n − q)/(q(n − 1)) = (d − 1)/(n − 1) if r = 0.
    p = C.perm_k()
    assert p.ab(12, 5) == (1.0, 1.0) and p.omega(12, 5) == 4.0 and p.theta(12, 5) == 0.0
    assert p.ab(4, 8) == pytest.approx(((4 - 1) / 7, (4 - 1) / 7))
    q = 2
    assert p.ab(4, 11) == pytest.approx(((11 - q) / (q * 10),) * 2)
    assert p.omega(4, 11) == pytest.approx(11 / 2 - 1)


def test_compose_constants():
    c = C.compose(NAT, C.perm_k())
    for n in (3, 7):
        assert c.omega(100, n) == pytest.approx(9 * n / 8 - 1)
        assert c.theta(100, n) == pytest.approx(1 / 8)
    r = C.compose(NAT, C.rand_k(4))
    w = (100 / 4 - 1) + 1 / 8 + (100 / 4 - 1) / 8
    assert r.omega(100, 5) == pytest.approx(w)
    assert r.theta(100, 5) == pytest.approx(w / 5)
    assert C.compose(NAT, C.top_k(3)).omega(100, 5) is None
    assert not C.compose(NAT, C.top_k(3)).unbiased
    assert C.compose(C.identity(), C.top_k(3)).delta(100) == pytest.approx(0.03)
