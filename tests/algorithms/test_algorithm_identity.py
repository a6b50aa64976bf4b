"""With the identity compressor every method is GD (float64, equal up to rounding)."""

import jax
import pytest
from algorithm_helpers import STEPS, assert_same_iterates, run_steps, small_problem, x0_for

from jcomp.algorithms import dcgd, diana, ef21_p, gd, marina, marina_p
from jcomp.compressors import identity

CASES = {
    "dcgd": lambda c, g: dcgd(c, g),
    "diana alpha=1": lambda c, g: diana(c, g, 1.0),
    "diana alpha=0.3": lambda c, g: diana(c, g, 0.3),
    "marina p=0.3": lambda c, g: marina(c, g, 0.3),
    "marina p=1": lambda c, g: marina(c, g, 1.0),
    "marina_p p=0.3": lambda c, g: marina_p(c, g, 0.3),
    "marina_p p=1": lambda c, g: marina_p(c, g, 1.0),
    "ef21_p": lambda c, g: ef21_p(c, g),
}


@pytest.mark.parametrize("case", list(CASES))
def test_identity_gives_gd(case):
    problem = small_problem()
    x0 = x0_for(problem)
    gamma = 1.0 / float(problem.constants.L)
    key = jax.random.key(7)
    ref = run_steps(gd(gamma), problem, x0, key, steps=STEPS)[0].x
    xs = run_steps(CASES[case](identity(), gamma), problem, x0, key, steps=STEPS)[0].x
    assert_same_iterates(xs, ref)
