"""DRIVE (Hadamard / Haar rotations), CORE and the sketch S_V (float64).

Exact identities (rtol 1e-12 / 1e-10): DRIVE ``⟨x̂, x⟩ = ‖x‖²`` for both rotations; the
randomized Hadamard rotation is orthogonal; S_V is an orthogonal projection
(``‖S_Vx − x‖² = ‖x‖² − ‖S_Vx‖²``, ``S_V² = S_V``). Monte Carlo (fixed keys, z = 5): Haar DRIVE
unbiased; Hadamard DRIVE's vNMSE ≤ π/2 − 1 (its unbiasedness is never asserted: it is biased);
CORE unbiased with ω = (d + 1)/m exactly; S_V's δ = p/d and (d/p)S_V's ω = d/p − 1 exactly.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_at_most, assert_mean_equals

from jcomp.compressors._projections import core, sketch, sketch_matrix
from jcomp.compressors._rotations import drive, fwht, haar_rotation, padded_dim

fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

M = 20_000
D, N = 12, 2


def _X(d=D, n=N, seed=0):
    rng = np.random.default_rng(seed + 100 * d + n)
    return jnp.asarray(rng.normal(size=(n, d)) + rng.normal(size=d))


MC_COMPS = {
    "haar": drive("haar"),
    "hadamard": drive(),
    "core3": core(3),
    "core12": core(12),
    "sk_gauss": sketch(4),
    "sk_coord": sketch(5, kind="coordinates"),
    "sk_gauss_u": sketch(4, unbiased=True),
    "sk_coord_u": sketch(5, kind="coordinates", unbiased=True),
}
HADAMARD_DIMS = (12, 40)  # d′ = 16 and 64


@functools.cache
def _mc():
    """Decoded values of every MC compressor, M keys each, from one compiled program."""
    X = _X()
    Xh = [_X(d, 2, seed=7) for d in HADAMARD_DIMS]
    keys = jax.random.split(jax.random.key(42), M)

    def one(key, X, Xh):
        out = {k: c(key, X).values for k, c in MC_COMPS.items()}
        out["hadamard_dims"] = [drive()(key, x).values for x in Xh]
        return out

    out = fast_jit(jax.vmap(one, in_axes=(0, None, None)))(keys, X, Xh)
    return np.asarray(X), [np.asarray(x) for x in Xh], jax.tree.map(np.asarray, out)


def _err(values, X):
    return ((values - X) ** 2).sum(-1)  # (M, n)


# ---------------------------------------------------------------------------------------------
# DRIVE


@pytest.mark.parametrize("rotation", ["hadamard", "haar"])
@pytest.mark.parametrize("d", [1, 2, 5, 12, 16, 33])
def test_drive_inner_product_exact(rotation, d):
    X = _X(d, 3)
    comp = drive(rotation)
    keys = jax.random.split(jax.random.key(d), 4)
    xh = fast_jit(jax.vmap(lambda k: comp(k, X).values))(keys)  # (4, 3, d): one program
    np.testing.assert_allclose((xh * X).sum(-1), np.tile((X * X).sum(-1), (4, 1)), rtol=1e-12)


@pytest.mark.parametrize("dp", [1, 2, 8, 64])
def test_hadamard_rotation_orthogonal(dp):
    s = jnp.where(jax.random.normal(jax.random.key(dp), (dp,)) >= 0, 1.0, -1.0)
    jfwht = fast_jit(fwht)
    Rt = jfwht(jnp.eye(dp) * s[None, :]) / math.sqrt(dp)  # row k = R e_k, i.e. Rᵀ
    np.testing.assert_allclose(Rt @ Rt.T, np.eye(dp), atol=1e-12)
    np.testing.assert_allclose(Rt.T @ Rt, np.eye(dp), atol=1e-12)
    # the unnormalized transform is the Sylvester Hadamard matrix
    H = np.array([[1.0]])
    while H.shape[0] < dp:
        H = np.block([[H, H], [H, -H]])
    np.testing.assert_allclose(jfwht(jnp.eye(dp)), H, atol=0)


def test_drive_hadamard_matches_explicit_matrix():
    d, n = 11, 3
    X = _X(d, n)
    key = jax.random.key(5)
    comp = drive()
    xh = np.asarray(fast_jit(lambda k, X: comp(k, X).values)(key, X))
    dp = padded_dim(d)
    assert dp == 16
    H = np.asarray(fast_jit(fwht)(jnp.eye(dp)))
    for i in range(n):
        k = jax.random.fold_in(key, i)
        s = np.where(np.asarray(jax.random.normal(k, (dp,), X.dtype)) >= 0, 1.0, -1.0)
        R = H @ np.diag(s) / math.sqrt(dp)
        x = np.pad(np.asarray(X[i]), (0, dp - d))
        y = R @ x
        S = (x @ x) / np.abs(y).sum()
        np.testing.assert_allclose(xh[i], (R.T @ (S * np.where(y >= 0, 1.0, -1.0)))[:d], rtol=1e-12)


def test_haar_rotation_orthogonal():
    Q = haar_rotation(jax.random.key(0), 7, jnp.float64)
    np.testing.assert_allclose(Q @ Q.T, np.eye(7), atol=1e-12)


@pytest.mark.parametrize("rotation", ["hadamard", "haar"])
def test_drive_zero_row_and_private_keys(rotation):
    x = _X(6, 1)[0]
    X = jnp.stack([x, jnp.zeros(6), x])
    out = np.asarray(drive(rotation)(jax.random.key(1), X).values)
    assert np.all(out[1] == 0) and np.isfinite(out).all()
    assert not np.allclose(out[0], out[2])  # private rotations: equal inputs, different outputs


def test_drive_metadata_and_cost():
    had, haar = drive(), drive("haar")
    assert not had.unbiased and haar.unbiased and had.independent
    assert had.omega(12, 3) == haar.omega(12, 3) == pytest.approx(math.pi / 2 - 1)
    assert had.delta(12) is None
    assert had.expected_cost(12, 3) == (16 + 32, 16 + 32, 17)
    assert haar.expected_cost(12, 3) == (12 + 32, 12 + 32, 13)
    m = had(jax.random.key(0), _X(12, 3))
    np.testing.assert_array_equal(m.bits, 48)
    np.testing.assert_array_equal(m.coords, 17)


def test_drive_haar_unbiased_mc():
    X, _, out = _mc()
    assert_mean_equals(out["haar"], X)


def test_drive_haar_vnmse_mc():
    X, _, out = _mc()
    assert_mean_at_most(_err(out["haar"], X), (math.pi / 2 - 1) * (X**2).sum(-1))


def test_drive_hadamard_vnmse_mc():
    # Biased: only vNMSE ≤ π/2 − 1 (+ 5 SE) is checked, on dense generic inputs.
    X, Xh, out = _mc()
    for x, v in zip([X, *Xh], [out["hadamard"], *out["hadamard_dims"]], strict=True):
        assert_mean_at_most(_err(v, x) / (x**2).sum(-1), math.pi / 2 - 1)


# ---------------------------------------------------------------------------------------------
# CORE


@pytest.mark.parametrize("name", ["core3", "core12"])
def test_core_unbiased_and_omega_exact(name):
    X, _, out = _mc()
    c = MC_COMPS[name]
    assert_mean_equals(out[name], X)
    assert_mean_equals(_err(out[name], X), c.omega(D, N) * (X**2).sum(-1))
    assert c.omega(D, N) == (D + 1) / c.m


def test_core_shared_and_linear():
    c = core(4)
    key = jax.random.key(3)
    x, y, z = _X(9, 3)
    a = c(key, jnp.stack([x, y])).values
    b = c(key, jnp.stack([x, z])).values
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)  # same ξ for every worker and input
    s = c(key, jnp.stack([x + y, 2 * z])).values
    np.testing.assert_allclose(s[0], a[0] + a[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s[1], 2 * b[1], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Sketch S_V


@pytest.mark.parametrize("kind", ["gaussian", "coordinates"])
@pytest.mark.parametrize("p", [1, 4, 12])
def test_sketch_projection_identities(kind, p):
    sk = sketch(p, kind=kind)
    X = _X(12, 4)
    project = fast_jit(sk.project)
    for s in range(3):
        key = jax.random.key(s)
        P = project(key, X)
        lhs = ((P - X) ** 2).sum(-1)
        rhs = (X**2).sum(-1) - (P**2).sum(-1)
        # rhs cancels to ~0 at p = d, where the normal equations' rounding (κ(V)²·eps) shows
        atol = (1e-8 if p == 12 and kind == "gaussian" else 1e-12) * float((X**2).sum())
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=atol)
        tol = 1e-7 if p == 12 and kind == "gaussian" else 1e-10
        np.testing.assert_allclose(project(key, P), P, rtol=tol, atol=tol)
        if p == 12:  # V square: S_V = I (normal equations: rounding ~ κ(V)²·eps)
            np.testing.assert_allclose(P, X, rtol=1e-7, atol=1e-9)


def test_sketch_shared_v():
    d, p = 10, 3
    key = jax.random.key(9)
    sk = sketch(p)
    V = np.asarray(sketch_matrix(key, d, p, "gaussian", jnp.float64))
    X = _X(d, 3)
    P = np.asarray(fast_jit(sk.project)(key, X))
    proj = V @ np.linalg.solve(V.T @ V, V.T)
    np.testing.assert_allclose(P, np.asarray(X) @ proj.T, rtol=1e-10, atol=1e-12)
    x, y, z = X
    values = fast_jit(lambda k, X: sk(k, X).values)
    a = values(key, jnp.stack([x, y]))
    b = values(key, jnp.stack([z, x]))
    np.testing.assert_allclose(a[0], b[1], rtol=1e-12)  # same V for every input and worker
    mask = np.asarray(fast_jit(sketch(4, kind="coordinates").project)(key, jnp.ones((2, d)))) != 0
    assert mask.sum(-1).tolist() == [4, 4] and (mask[0] == mask[1]).all()


@pytest.mark.parametrize("name", ["sk_gauss", "sk_coord"])
def test_sketch_delta_exact(name):
    X, _, out = _mc()
    c = MC_COMPS[name]
    assert c.delta(D) == c.p / D and c.omega(D, N) is None and not c.unbiased
    assert_mean_equals(_err(out[name], X), (1 - c.p / D) * (X**2).sum(-1))


@pytest.mark.parametrize("name", ["sk_gauss_u", "sk_coord_u"])
def test_sketch_unbiased_omega_exact(name):
    X, _, out = _mc()
    c = MC_COMPS[name]
    assert c.unbiased and c.omega(D, N) == D / c.p - 1 and c.delta(D) is None
    assert_mean_equals(out[name], X)
    assert_mean_equals(_err(out[name], X), (D / c.p - 1) * (X**2).sum(-1))


def test_projection_costs():
    X = _X(12, 3)
    for c, k in [(core(5), 5), (sketch(4), 4), (sketch(3, kind="coordinates", unbiased=True), 3)]:
        m = fast_jit(lambda k, X, c=c: c(k, X))(jax.random.key(0), X)
        assert c.expected_cost(12, 3) == (32 * k, 32 * k, k)
        np.testing.assert_array_equal(m.bits, 32 * k)
        np.testing.assert_array_equal(m.bits_noidx, 32 * k)
        np.testing.assert_array_equal(m.coords, k)


# ---------------------------------------------------------------------------------------------
# Common: determinism, jit, validation

ALL = [drive(), drive("haar"), core(3), sketch(4), sketch(4, kind="coordinates", unbiased=True)]


@pytest.mark.parametrize("c", ALL, ids=lambda c: repr(c))
def test_same_key_same_message_and_jit(c):
    X = _X(12, 3)
    k0, k1 = jax.random.key(0), jax.random.key(1)
    a, b = c(k0, X), c(k0, X)
    jax.tree.map(np.testing.assert_array_equal, a, b)
    assert not np.allclose(a.values, c(k1, X).values)
    j = jax.jit(lambda k, X: c(k, X))(k0, X)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12), a, j)


def test_bad_parameters():
    with pytest.raises(ValueError, match="rotation"):
        drive("fourier")
    with pytest.raises(ValueError, match="m="):
        core(0)
    with pytest.raises(ValueError, match="m="):
        core(1.5)
    with pytest.raises(ValueError, match="m=13"):
        core(13)(jax.random.key(0), _X(12, 2))
    with pytest.raises(ValueError, match="p="):
        sketch(0)
    with pytest.raises(ValueError, match="p=13"):
        sketch(13)(jax.random.key(0), _X(12, 2))
    with pytest.raises(ValueError, match="kind"):
        sketch(2, kind="sparse")
    with pytest.raises(ValueError, match="unbiased"):
        sketch(2, unbiased="yes")
    with pytest.raises(ValueError, match="power-of-two"):
        fwht(jnp.ones(6))
