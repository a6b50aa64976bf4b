"""Every registered algorithm gives the same trace with its worker axis sharded over 8 host CPU
devices as on one device (a fresh process: the device count is fixed when JAX starts).

Workers draw their randomness from ``fold_in(key, i)`` and shared coins from the step key, so the
sharded run must reproduce the single-device trace: bits exactly, metrics up to float64
rounding (a sharded mean may sum in another order).
"""

import os
import subprocess
import sys
import textwrap

import pytest

from jcomp.algorithms import names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


#: One per mechanism in the default run (compiling 2 × 23 algorithms takes minutes on 2 cores):
#: shared coin + per-worker server compression, two compressors and averaging, synchronized
#: linear, matrix smoothness. The rest (per-worker coins, drawn clients, ...) run with -m slow.
DEFAULT = ("marina-p", "m3", "d-ef-sgd-sync", "dcgd+")


def _check_on_8_devices(selected):
    script = textwrap.dedent(
        f"""
        import sys
        import jax, numpy as np
        jax.config.update("jax_enable_x64", True)
        assert len(jax.devices()) == 8, jax.devices()
        sys.path.insert(0, {HERE!r})
        import jcomp
        from algorithm_helpers import hetero_quadratic, x0_for
        from jcomp.algorithms import get
        from jcomp.algorithms._smoothness_aware import quant_plus
        from jcomp.compressors import rand_k, same_rand_k, top_k
        problem = hetero_quadratic(seed=3, n=8, d=8)
        x0 = x0_for(problem)
        by_requirement = {{
            "unbiased": rand_k(2), "contractive": top_k(2), "any": rand_k(2),
            "linear-unbiased": same_rand_k(2), "linear-contractive": same_rand_k(2, scaled=False),
        }}
        done = []
        for name in {tuple(selected)!r}:
            entry = get(name)
            if name in ("dcgd+", "diana+"):
                comp = quant_plus(problem, name)
            else:
                comp = by_requirement.get(entry.compressor)
            params = entry.theory_params(problem, comp) if comp else entry.theory_params(problem)
            if "p" in params:
                params["p"] = 0.5
            alg = entry.make(comp, **params)
            kw = dict(key=5, steps=8, log_every=2)  # metrics stay far above rounding
            one = jcomp.run(alg, problem, x0, **kw)
            many = jcomp.run(alg, problem, x0, devices=8, **kw)
            assert len(many.meta["devices"]) == 8, name
            for k in ("up_bits", "down_bits", "up_coords_max", "down_bits_noidx"):
                np.testing.assert_array_equal(getattr(many, k), getattr(one, k), err_msg=name)
            for k in ("grad_norm_sq", "dist_sq"):
                np.testing.assert_allclose(getattr(many, k), getattr(one, k), rtol=1e-12,
                                           atol=0, err_msg=name)
            done.append(name)
        print("OK", done)
        """
    )
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    env = dict(os.environ, XLA_FLAGS=flags)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]
    assert all(repr(n) in out.stdout for n in selected)


def test_default_algorithms_same_trace_on_8_devices():
    assert set(DEFAULT) <= set(names())
    _check_on_8_devices(DEFAULT)


@pytest.mark.slow
def test_other_algorithms_same_trace_on_8_devices():
    _check_on_8_devices([n for n in names() if n not in DEFAULT])
