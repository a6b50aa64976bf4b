"""The driver: sweeps equal single runs, no recompilation, jit/no-jit, divergence, save/load."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jcomp
from jcomp.algorithms import dcgd, gd, marina_p
from jcomp.compressors import perm_k, rand_k, same_rand_k
from jcomp.problems import quadratic
from jcomp.run import compile_cache_size

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _problem(n=4, d=6, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, d, d))
    A = M @ M.transpose(0, 2, 1) / d + np.eye(d)
    return quadratic(A, rng.normal(size=(n, d)))


@pytest.fixture(scope="module")
def problem():
    return _problem()


def test_trace_rows_and_costs(problem):
    d = problem.d
    gamma = 1 / float(problem.constants.L)
    tr = jcomp.run(gd(gamma), problem, jnp.zeros(d), key=0, steps=25, log_every=10)
    np.testing.assert_array_equal(tr.step, [0, 10, 20, 25])  # last row at `steps`
    np.testing.assert_array_equal(tr.up_bits, 32 * d * tr.step)
    np.testing.assert_array_equal(tr.down_coords_max, d * tr.step)
    assert tr.dist_sq[0] == 1.0 and tr.dist_sq[-1] < tr.dist_sq[1]
    assert not tr.diverged and tr.diverged_step == -1
    assert len(tr.rows()) == 4 and set(tr.rows()[0]) >= {"step", "grad_norm_sq"}


def test_sweep_equals_individual_runs(problem):
    x0 = jnp.ones(problem.d)
    comp = rand_k(2)
    gammas = [0.05, 0.1]
    sw = jcomp.sweep(
        dcgd,
        problem,
        x0,
        compressor=comp,
        steps=30,
        log_every=3,
        grid={"step_size": gammas},
        seeds=[0, 7],
    )
    assert sw.grad_norm_sq.shape == (2, 2, 11)
    for i, g in enumerate(gammas):
        for j, s in enumerate([0, 7]):
            one = jcomp.run(
                dcgd(comp, g), problem, x0, key=jax.random.key(s), steps=30, log_every=3
            )
            for field in ("grad_norm_sq", "dist_sq", "loss_gap", "up_bits", "down_bits"):
                np.testing.assert_allclose(
                    getattr(sw, field)[i, j], getattr(one, field), rtol=1e-12, atol=0
                )


def test_no_recompilation_for_new_step_size_seed_or_instance(problem):
    x0 = jnp.zeros(problem.d)
    comp = rand_k(3)
    jcomp.run(dcgd(comp, 0.1), problem, x0, key=0, steps=20, log_every=5)
    before = compile_cache_size()
    jcomp.run(dcgd(comp, 0.05), problem, x0, key=1, steps=20, log_every=5)
    jcomp.run(dcgd(rand_k(3), 0.2), _problem(seed=3), x0, key=2, steps=20, log_every=5)
    assert compile_cache_size() == before
    sw = dict(steps=20, log_every=5, grid={"step_size": [0.1, 0.2]}, seeds=[0, 1])
    jcomp.sweep(dcgd, problem, x0, compressor=comp, **sw)
    mid = compile_cache_size()
    jcomp.sweep(dcgd, problem, x0, compressor=comp, **{**sw, "grid": {"step_size": [0.3, 0.4]}})
    jcomp.sweep(dcgd, problem, x0, compressor=comp, **{**sw, "seeds": [5, 6]})
    assert compile_cache_size() == mid


def test_jit_and_no_jit_agree(problem):
    """The compiled run equals a plain Python loop over the un-jitted step."""
    alg = dcgd(rand_k(2), 0.1)
    x0 = jnp.ones(problem.d)
    key = jax.random.key(3)
    tr = jcomp.run(alg, problem, x0, key=key, steps=12, log_every=1)
    key_init, key_steps = jax.random.split(key)
    state = alg.init(key_init, problem, x0)
    with jax.disable_jit():
        for t in range(12):
            state, _ = alg.step(jax.random.fold_in(key_steps, t), state, problem)
            gn = float(jnp.sum(problem.grad(state.x) ** 2))
            np.testing.assert_allclose(tr.grad_norm_sq[t + 1], gn, rtol=1e-12)


def test_divergence_is_recorded_not_raised(problem):
    L = float(problem.constants.L)
    tr = jcomp.run(gd(3 / L), problem, jnp.ones(problem.d), key=0, steps=400, log_every=5)
    assert tr.diverged and tr.diverged_step > 0
    after = tr.step >= tr.diverged_step
    assert np.all(np.isinf(tr.grad_norm_sq[after])) and np.all(np.isfinite(tr.grad_norm_sq[~after]))
    assert tr.meta["stopped_early"]  # every run diverged: the host stopped launching chunks
    assert tr.step[-1] == 400 and tr.up_bits[-1] == tr.up_bits[after][0]  # traffic frozen
    sw = jcomp.sweep(
        gd, problem, jnp.ones(problem.d), steps=100, log_every=5, grid={"step_size": [1 / L, 3 / L]}
    )
    np.testing.assert_array_equal(sw.diverged[:, 0], [False, True])
    assert jcomp.best_index(sw) == 0


def test_save_load_roundtrip(tmp_path, problem):
    tr = jcomp.run(gd(0.1), problem, jnp.zeros(problem.d), key=0, steps=10, meta={"note": "x"})
    path = tr.save(tmp_path / "t")
    back = jcomp.load_trace(path)
    for k, v in tr.arrays().items():
        np.testing.assert_array_equal(np.asarray(v), getattr(back, k))
    assert back.meta["note"] == "x" and os.listdir(tmp_path) == ["t.npz"]
    (tmp_path / "bad.npz").write_bytes(b"not a trace")
    with pytest.raises(Exception, match="bad.npz|pickle|zip|format"):
        jcomp.load_trace(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": 0}, "steps=0"),
        ({"steps": 5, "log_every": 6}, "log_every=6"),
        ({"steps": 5, "key": "seed"}, "key="),
        ({"steps": 5, "x0": np.zeros(3)}, "x0 has shape"),
        ({"steps": 5, "divergence": 0.5}, "divergence=0.5"),
    ],
)
def test_run_rejects_bad_input(problem, kwargs, match):
    args = {"key": 0, "x0": np.zeros(problem.d), **kwargs}
    x0 = args.pop("x0")
    with pytest.raises(ValueError, match=match):
        jcomp.run(gd(0.1), problem, x0, **args)


def test_run_and_sweep_reject_bad_algorithms(problem):
    with pytest.raises(TypeError, match="algorithm="):
        jcomp.run(lambda x: x, problem, np.zeros(problem.d), key=0, steps=3)
    with pytest.raises(ValueError, match="step_size"):
        jcomp.sweep(gd, problem, np.zeros(problem.d), steps=3, grid={"step_size": [0.1, -1.0]})
    with pytest.raises(ValueError, match="grid"):
        jcomp.sweep(gd, problem, np.zeros(problem.d), steps=3, grid={"step_size": []})


def test_sharded_workers_give_the_same_trace():
    """8 host CPU devices (fresh process: the device count is fixed at JAX start-up)."""
    script = textwrap.dedent(
        """
        import jax, numpy as np
        jax.config.update("jax_enable_x64", True)
        assert len(jax.devices()) == 8, jax.devices()
        import jcomp
        from jcomp.algorithms import marina_p
        from jcomp.compressors import perm_k
        from jcomp.problems import quadratic
        rng = np.random.default_rng(0)
        n, d = 16, 12
        M = rng.normal(size=(n, d, d)); A = M @ M.transpose(0, 2, 1) / d + np.eye(d)
        p = quadratic(A, rng.normal(size=(n, d)))
        alg = marina_p(perm_k(), step_size=0.05, p=0.3)
        one = jcomp.run(alg, p, np.zeros(d), key=4, steps=40, log_every=4)
        many = jcomp.run(alg, p, np.zeros(d), key=4, steps=40, log_every=4, devices=8)
        assert len(many.meta["devices"]) == 8
        for k in ("grad_norm_sq", "dist_sq", "down_bits", "down_coords_max", "up_bits"):
            np.testing.assert_allclose(getattr(many, k), getattr(one, k), rtol=1e-12, atol=0)
        try:
            jcomp.run(alg, p, np.zeros(d), key=4, steps=4, devices=3)
        except ValueError as e:
            assert "divisible" in str(e)
        else:
            raise AssertionError("n=16 over 3 devices was accepted")
        print("OK")
        """
    )
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    env = dict(os.environ, XLA_FLAGS=flags)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]


def test_marina_p_perm_k_runs_under_driver(problem):
    tr = jcomp.run(
        marina_p(perm_k(), step_size=0.05, p=0.5), problem, jnp.zeros(problem.d), key=0, steps=10
    )
    assert np.all(np.diff(tr.down_bits) > 0)


def _registered(name, problem):
    """(registry entry, compressor, theory parameters) of a registered algorithm."""
    from jcomp.compressors import top_k

    entry = jcomp.algorithms.get(name)
    comp = {
        "unbiased": rand_k(2),
        "contractive": top_k(2),
        "any": rand_k(2),
        "linear-unbiased": same_rand_k(2),
        "linear-contractive": same_rand_k(2, scaled=False),
    }.get(entry.compressor)
    params = entry.theory_params(problem, comp) if comp else entry.theory_params(problem)
    return entry, comp, params


@pytest.mark.parametrize("name", jcomp.algorithms.names())
def test_every_registered_algorithm_runs(problem, name):
    entry, comp, params = _registered(name, problem)
    alg = entry.make(comp, **params)
    tr = jcomp.run(alg, problem, jnp.ones(problem.d), key=1, steps=40, log_every=10)
    assert not tr.diverged and tr.grad_norm_sq[-1] < tr.grad_norm_sq[0]
    assert np.all(np.diff(tr.up_bits) > 0) and np.all(np.diff(tr.down_bits) > 0)


# The default run sweeps a few algorithms through the driver (every algorithm's factory is
# vmapped over traced hyperparameters in test_algorithm_registry.py); -m slow sweeps them all.
SWEPT_BY_DEFAULT = ("gd", "marina-p", "ef21", "diana")


@pytest.mark.parametrize(
    "name",
    [
        n if n in SWEPT_BY_DEFAULT else pytest.param(n, marks=pytest.mark.slow)
        for n in jcomp.algorithms.names()
    ],
)
def test_every_registered_algorithm_sweeps(problem, name):
    entry, comp, params = _registered(name, problem)
    x0 = jnp.ones(problem.d)
    tr = jcomp.run(entry.make(comp, **params), problem, x0, key=1, steps=10, log_every=10)
    fixed = {k: v for k, v in params.items() if k != "step_size"}
    if comp is not None:
        fixed["compressor"] = comp
    gamma = params["step_size"]
    # compared over the first 10 steps, well above the rounding floor that later rows reach
    sw = jcomp.sweep(entry.factory, problem, x0, steps=10, log_every=10, seeds=[1],
                     grid={"step_size": [gamma / 2, gamma]}, **fixed)  # fmt: skip
    np.testing.assert_allclose(sw.grad_norm_sq[1, 0], tr.grad_norm_sq, rtol=1e-12)


def test_progress_is_reported_between_chunks(problem, capsys):
    jcomp.run(gd(0.1), problem, jnp.zeros(problem.d), key=0, steps=40, log_every=4, chunks=5,
              progress=True)  # fmt: skip
    err = capsys.readouterr().err
    assert "step 40/40" in err and err.count("step ") == 5
    jcomp.run(gd(0.1), problem, jnp.zeros(problem.d), key=0, steps=40, progress=False)
    assert capsys.readouterr().err == ""


def test_default_batch_chunk_is_balanced_and_sized_by_the_largest_state_array():
    from jcomp.problems import marina_p_quadratic
    from jcomp.run import CPU_BATCH_ELEMENTS, _default_batch_chunk, _largest_state_array

    if jax.default_backend() != "cpu":
        pytest.skip("the chunk rule is for CPU")
    problem = marina_p_quadratic(10, 300, seed=0)  # n·d = 3000: cap 43 runs
    assert CPU_BATCH_ELEMENTS // 3000 == 43
    assert _default_batch_chunk(problem, 64) == 32  # 2 × 32, not 43 + 21 padded
    assert _default_batch_chunk(problem, 40) == 40
    assert _default_batch_chunk(problem, 87) == 29  # 3 chunks
    x0 = jnp.zeros(300)
    assert _largest_state_array(lambda p: gd(**p), {"step_size": 0.1}, problem, x0) == 300
    comp = jcomp.compressors.perm_k()
    build = lambda p: marina_p(comp, p=0.1, **p)
    assert _largest_state_array(build, {"step_size": 0.1}, problem, x0) == 3000
    assert _default_batch_chunk(problem, 64, per_run=300) == 64  # GD: all at once


@pytest.mark.parametrize("batch_chunk", [1, 2])
def test_sweep_chunks_equal_separate_runs(batch_chunk):
    """One run per chunk (the unbatched program) and padded batches both reproduce ``run``."""
    from jcomp.compressors import perm_k
    from jcomp.problems import marina_p_quadratic

    problem = marina_p_quadratic(6, 40, seed=0)
    comp = perm_k()
    steps_grid = [0.01, 0.02, 0.04]
    kw = dict(steps=12, log_every=4, chunks=2)
    sw = jcomp.sweep(
        marina_p, problem, np.zeros(40), compressor=comp, p=0.3,
        grid={"step_size": steps_grid}, seeds=[0, 5], batch_chunk=batch_chunk, **kw,
    )  # fmt: skip
    assert sw.grad_norm_sq.shape == (3, 2, 4) and sw.diverged.shape == (3, 2)
    for i, g in enumerate(steps_grid):
        for j, seed in enumerate([0, 5]):
            alg = marina_p(comp, step_size=g, p=0.3)
            tr = jcomp.run(alg, problem, np.zeros(40), key=jax.random.key(seed), **kw)
            np.testing.assert_array_equal(sw.down_bits[i, j], tr.down_bits)
            np.testing.assert_allclose(sw.grad_norm_sq[i, j], tr.grad_norm_sq, rtol=1e-12)
            assert sw.diverged[i, j] == tr.diverged
