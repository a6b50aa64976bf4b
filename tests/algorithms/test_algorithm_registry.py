"""Every registered algorithm under lax.scan, vmap (step sizes, keys, p), jit vs eager, and as a
jitted argument without recompiling."""

import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from algorithm_helpers import (
    STEPS,
    assert_same_iterates,
    run_steps,
    scan_run,
    small_problem,
    x0_for,
)
from cases_algorithms_smoothness_aware import CASES_SMOOTHNESS_AWARE
from cases_error_feedback import CASES_ERROR_FEEDBACK
from cases_gradient_difference import CASES_GRADIENT_DIFFERENCE
from cases_marina_family import CASES_MARINA_FAMILY

from jcomp.algorithms import Algorithm, get, names
from jcomp.algorithms._entry import REQUIREMENTS
from jcomp.compressors import perm_k, rand_k, same_rand_k, top_k

EAGER_STEPS = 2

# (registry name, compressor) pairs covering every entry
CASES = [
    ("gd", None),
    ("dcgd", rand_k(2)),
    ("diana", rand_k(2)),
    ("marina", rand_k(2)),
    ("marina-p", rand_k(2)),
    ("marina-p", perm_k()),
    ("marina-p", same_rand_k(2)),
    ("ef21-p", top_k(2)),
]
# Algorithm families add their (name, compressor) cases in tests/algorithms/cases_*.py:
# CASES += CASES_<FAMILY>
CASES += (
    CASES_GRADIENT_DIFFERENCE + CASES_ERROR_FEEDBACK + CASES_MARINA_FAMILY + CASES_SMOOTHNESS_AWARE
)
IDS = [f"{a}-{c.name if c is not None else 'none'}" for a, c in CASES]
# one compressor per algorithm for the costlier checks
CASES_ONE_EACH = list({a: (a, c) for a, c in reversed(CASES)}.values())[::-1]  # first per name
IDS_ONE_EACH = [i for i, c in zip(IDS, CASES, strict=True) if c in CASES_ONE_EACH]


def test_names_and_entries():
    assert {a for a, _ in CASES} == set(names())
    for name in names():
        e = get(name)
        assert e.name == name
        assert e.compressor in REQUIREMENTS
        assert e.source and e.rule
        assert callable(e.factory) and callable(e.theory)
    assert get("marina_p") is get("marina-p")
    assert get("ef21-p").compressor == "contractive"
    assert get("marina").compressor == "unbiased"


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown algorithm name='adam'.*marina-p"):
        get("adam")


def _setup(name, comp):
    problem = small_problem()
    entry = get(name)
    params = entry.theory_params(problem, comp)
    if "p" in params:
        params["p"] = 0.5  # both branches within a few steps
    return problem, x0_for(problem), entry, params


@pytest.mark.parametrize(("name", "comp"), CASES_ONE_EACH, ids=IDS_ONE_EACH)
def test_scan_jit_eager_and_vmap(name, comp):
    problem, x0, entry, params = _setup(name, comp)
    alg = entry.make(comp, **params)
    assert isinstance(alg, Algorithm)
    key = jax.random.key(11)

    # jitted scan vs an eager Python loop with the same keys
    states, infos = run_steps(alg, problem, x0, key, steps=STEPS)
    xs = states.x
    compiled = run_steps._cache_size()
    key_init, key_steps = jax.random.split(key)
    state = alg.init(key_init, problem, x0)
    eager = []
    for t in range(EAGER_STEPS):
        state, info = alg.step(jax.random.fold_in(key_steps, t), state, problem)
        eager.append(state.x)
        for a, b in zip(
            jax.tree.leaves(info),
            jax.tree.leaves(jax.tree.map(operator.itemgetter(t), infos)),
            strict=True,
        ):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert_same_iterates(np.stack(eager), xs[:EAGER_STEPS])
    assert np.all(np.isfinite(np.asarray(xs)))
    assert state.x.shape == (problem.d,) and state._fields[0] == "x"

    # vmap over every numeric hyperparameter and the key at once (one compiled program): the
    # factory is called with traced values; each row must equal its own unbatched run
    batch = {"step_size": params["step_size"] * jnp.array([0.25, 0.5, 1.0])}
    if "p" in params:
        batch["p"] = jnp.array([0.3, 0.6, 1.0])
    if "alpha" in params:
        batch["alpha"] = jnp.array([0.2, 0.6, 1.0])
    keys = jax.random.split(jax.random.key(12), 3)

    def batched(hyper, k):
        return scan_run(entry.make(comp, **{**params, **hyper}), problem, x0, k, STEPS)[0].x

    xs_b = jax.jit(jax.vmap(batched))(batch, keys)
    for i in range(3):
        hyper = {k: float(v[i]) for k, v in batch.items()}
        alg_i = entry.make(comp, **{**params, **hyper})
        ref = run_steps(alg_i, problem, x0, keys[i], steps=STEPS)[0].x
        assert_same_iterates(xs_b[i], ref)
    # new hyperparameter values and keys reused the compiled run (Algorithm as an argument)
    assert run_steps._cache_size() == compiled


def test_new_step_size_does_not_recompile():
    """A fresh jitted function taking the Algorithm as an argument compiles once per algorithm
    and compressor, not once per step size or p."""

    @jax.jit
    def one_step(alg, problem, x0, key):
        state = alg.init(key, problem, x0)
        return alg.step(key, state, problem)

    key = jax.random.key(0)
    for i, (name, comp) in enumerate([("marina", rand_k(2)), ("marina-p", perm_k())]):
        problem, x0, entry, params = _setup(name, comp)
        out = []
        for scale in (1.0, 0.5, 0.125):
            alg = entry.make(comp, **{**params, "step_size": params["step_size"] * scale})
            out.append(one_step(alg, problem, x0, key)[0].x)
        one_step(entry.make(comp, **{**params, "p": 0.25}), problem, x0, key)
        assert one_step._cache_size() == i + 1
        assert not np.allclose(out[0], out[1])


def test_float32_state_and_info_keep_their_dtype():
    """Code never hard-codes a dtype: float32 data give float32 states and costs (one step of
    every case, traced abstractly: dtypes and shapes are facts of the trace, nothing compiles)."""
    problem64, x0, _, _ = _setup("gd", None)
    problem = jax.tree.map(lambda a: a.astype(jnp.float32), problem64)
    x0 = x0.astype(jnp.float32)
    algs = []
    for name, comp in CASES:
        entry = get(name)
        algs.append(entry.make(comp, **entry.theory_params(problem64, comp)))

    def one_step_each(algs, problem, x0, key):
        return [alg.step(key, alg.init(key, problem, x0), problem) for alg in algs]

    out = jax.eval_shape(one_step_each, algs, problem, x0, jax.random.key(0))
    for (state, info), case in zip(out, IDS, strict=True):
        for leaf in jax.tree.leaves((state, info)):
            assert leaf.dtype == jnp.float32, case
        assert info.up.bits.shape == info.down.bits.shape == (problem.n,), case
