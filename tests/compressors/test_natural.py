"""C_nat: powers of two are fixed points, outputs are the neighbouring powers, ω = 1/8 is tight."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import assert_mean_at_most, assert_mean_equals

from jcomp import compressors as C

# Compile Monte Carlo programs without LLVM optimizations: 4x faster to compile on CPU, the
# sampled values do not change, and compiling (not running) dominates these tests.
fast_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})

DTYPES = [jnp.float32, jnp.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_powers_of_two_and_zero_are_fixed(dtype):
    exps = np.arange(-100, 101) if dtype == jnp.float32 else np.arange(-1000, 1001)
    exps = exps[(exps > np.finfo(dtype).minexp) & (exps < np.finfo(dtype).maxexp)]
    x = np.concatenate([2.0 ** exps.astype(np.float64), -(2.0 ** exps[::7]), [0.0, -0.0]])
    X = jnp.asarray(x[None, :], dtype)
    keys = jax.random.split(jax.random.key(0), 64)
    out = fast_jit(jax.vmap(C.natural(), in_axes=(0, None)))(keys, X).values
    assert out.dtype == dtype
    np.testing.assert_array_equal(np.asarray(out), np.broadcast_to(np.asarray(X), out.shape))


@pytest.mark.parametrize("dtype", DTYPES)
def test_outputs_are_neighbouring_powers(dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 200)) * 10.0 ** rng.integers(-20, 20, size=(4, 200))
    X = jnp.asarray(x, dtype)
    xs = np.asarray(X, np.float64)
    out = np.asarray(C.natural()(jax.random.key(1), X).values, np.float64)
    mant, e = np.frexp(np.abs(xs))
    low = np.ldexp(0.5, e)  # largest power of two <= |x|
    assert (np.sign(out) == np.sign(xs)).all()
    assert ((np.abs(out) == low) | (np.abs(out) == 2 * low)).all()
    assert (np.abs(out) == low).any() and (np.abs(out) == 2 * low).any()


def test_rounding_probability():
    # |x| = 1.25: down to 1 with probability (2 - 1.25)/1 = 0.75; also the negative side.
    X = jnp.array([[1.25, -1.25, 3.0, 0.375]])
    keys = jax.random.split(jax.random.key(2), 40_000)
    out = np.asarray(fast_jit(jax.vmap(C.natural(), in_axes=(0, None)))(keys, X).values)[:, 0]
    down = (np.abs(out) == np.array([1.0, 1.0, 2.0, 0.25])).astype(np.float64)
    assert_mean_equals(down, [0.75, 0.75, 0.5, 0.5])
    assert_mean_equals(out, np.asarray(X)[0])


def test_omega_bound_is_tight_at_four_thirds():
    # E(C(t) - t)² = (t - 2^a)(2^{a+1} - t) <= t²/8 with equality at t = (4/3)2^a.
    rng = np.random.default_rng(3)
    a = rng.integers(-5, 5, size=16)
    worst = jnp.asarray((4 / 3 * 2.0**a * rng.choice([-1, 1], size=16))[None, :])
    spread = jnp.asarray((2.0**3 * (1 + (np.arange(16) + 0.5) / 16))[None, :])  # one binade
    keys = jax.random.split(jax.random.key(4), 40_000)
    comp = fast_jit(jax.vmap(C.natural(), in_axes=(0, None)))
    for x, tight in ((worst, True), (spread, False)):
        err = np.asarray(((comp(keys, x).values - x) ** 2).sum(-1))[:, 0]
        bound = float((x**2).sum()) / 8
        if tight:
            assert_mean_equals(err, bound)
        else:
            assert_mean_at_most(err, bound)


def test_cost_and_value_bits():
    X = jnp.ones((3, 20))
    m = C.natural()(jax.random.key(0), X)
    np.testing.assert_array_equal(m.bits, 9 * 20)
    np.testing.assert_array_equal(m.bits_noidx, 9 * 20)
    np.testing.assert_array_equal(m.coords, 20)
    assert C.natural().value_bits() == 9
    assert C.natural().expected_cost(20, 3) == (180, 180, 20)
    assert C.natural().omega(20, 3) == 1 / 8
