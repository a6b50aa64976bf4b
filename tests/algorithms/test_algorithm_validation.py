"""Bad arguments are rejected in the factory, before tracing, naming the parameter."""

import math

import jax
import numpy as np
import pytest
from algorithm_helpers import hetero_quadratic, x0_for

from jcomp.algorithms import (
    dcgd,
    diana,
    diana_theory,
    ef21_p,
    ef21_p_theory,
    gd,
    marina,
    marina_p,
    marina_p_theory,
    marina_theory,
)
from jcomp.compressors import compose, natural, perm_k, rand_k, same_rand_k, top_k

FACTORIES = {
    "gd": lambda c, **kw: gd(**kw),
    "dcgd": lambda c, **kw: dcgd(c, **kw),
    "diana": lambda c, **kw: diana(c, alpha=0.5, **kw),
    "marina": lambda c, **kw: marina(c, p=0.5, **kw),
    "marina_p": lambda c, **kw: marina_p(c, p=0.5, **kw),
    "ef21_p": lambda c, **kw: ef21_p(c, **kw),
}
GOOD = {"ef21_p": top_k(2)}


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("step_size", [-0.1, 0.0, math.nan, math.inf])
def test_bad_step_size(name, step_size):
    comp = GOOD.get(name, rand_k(2))
    with pytest.raises(ValueError, match=rf"{name}: step_size=.*positive"):
        FACTORIES[name](comp, step_size=step_size)


@pytest.mark.parametrize("factory", [marina, marina_p])
@pytest.mark.parametrize("p", [0.0, 1.5, -0.2, math.nan])
def test_bad_p(factory, p):
    with pytest.raises(ValueError, match=r"p=.*\(0, 1\]"):
        factory(rand_k(2), 0.1, p)


@pytest.mark.parametrize("alpha", [2.0, 0.0, -1.0])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match=r"diana: alpha=.*\(0, 1\]"):
        diana(rand_k(2), 0.1, alpha)


@pytest.mark.parametrize("name", ["dcgd", "diana", "marina", "marina_p"])
@pytest.mark.parametrize("comp", [top_k(2), same_rand_k(2, scaled=False)], ids=["top_k", "srk"])
def test_biased_compressor_rejected(name, comp):
    with pytest.raises(ValueError, match=rf"{name}: compressor=.*{comp.name}.*unbiased"):
        FACTORIES[name](comp, step_size=0.1)


@pytest.mark.parametrize(
    "comp",
    [rand_k(2), same_rand_k(2), perm_k(), compose(natural(), rand_k(2))],
    ids=["rand_k", "same_rand_k", "perm_k", "natural-rand_k"],
)
def test_ef21_p_needs_contractive(comp):
    with pytest.raises(ValueError, match=rf"ef21_p: compressor=.*{comp.name}.*contractive"):
        ef21_p(comp, 0.1)
    with pytest.raises(ValueError, match="ef21_p_theory: compressor=.*contractive"):
        ef21_p_theory(hetero_quadratic(), comp)


@pytest.mark.parametrize("name", [n for n in FACTORIES if n != "gd"])
@pytest.mark.parametrize(
    "bad", ["rand_k", None, 3, lambda key, x: x], ids=["str", "none", "int", "function"]
)
def test_not_a_compressor(name, bad):
    with pytest.raises(TypeError, match=rf"{name}: compressor=.*Compressor"):
        FACTORIES[name](bad, step_size=0.1)


def test_theory_rejects_biased():
    problem = hetero_quadratic()
    for theory in (diana_theory, marina_theory, marina_p_theory):
        with pytest.raises(ValueError, match="compressor=.*unbiased"):
            theory(problem, top_k(2))
    with pytest.raises(ValueError, match=r"marina_p_theory: p=.*\(0, 1\]"):
        marina_p_theory(problem, rand_k(2), p=0.0)
    with pytest.raises(ValueError, match=r"marina_theory: p=.*\(0, 1\]"):
        marina_theory(problem, rand_k(2), p=1.5)


def test_traced_hyperparameters_are_not_checked_but_work():
    """Inside vmap/jit the values are tracers: the factory accepts them (checked on the host)."""
    problem = hetero_quadratic(n=3, d=4)
    x0 = x0_for(problem)

    @jax.jit
    def run(gamma, p):
        alg = marina(rand_k(2), gamma, p)
        state = alg.init(jax.random.key(0), problem, x0)
        return alg.step(jax.random.key(1), state, problem)[0].x

    assert np.all(np.isfinite(np.asarray(run(0.01, 0.5))))


def test_smoothness_aware_refuses_huge_matrices_before_building_them():
    """n·d² = 10¹⁰ would need 40 GB of dense L_i: a clear error, not an out-of-memory abort."""
    from jcomp.algorithms import dcgd_plus_theory, diana_plus_theory
    from jcomp.problems import marina_p_quadratic

    problem = marina_p_quadratic(100, 10_000, seed=0)  # structured: O(nd) to build
    for theory in (dcgd_plus_theory, diana_plus_theory):
        with pytest.raises(ValueError, match=r"n·d² = 100·10000² .* MAX_MATRIX_ELEMENTS"):
            theory(problem, rand_k(10))
