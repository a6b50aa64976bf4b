"""Messages do not depend on how the worker axis is split over devices.

Every registered compressor (its instances in ``example_compressors``; one per mechanism in the
default run, the rest with -m slow) compresses the same
(n, d) batch once on one device and once with the rows sharded over 8 host CPU devices, in a
fresh process (the device count is fixed when JAX starts). Independent compressors give worker i
the key ``fold_in(key, i)`` and correlated ones draw their shared randomness from ``key``, so the
two messages must agree: bits and coordinates exactly, values up to float64 rounding (a sharded
matrix product, e.g. a rotation, may sum in another order).
"""

import os
import subprocess
import sys
import textwrap

import pytest

from jcomp.compressors import names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


#: One per mechanism in the default run: worker keys, a shared permutation, shared quantization
#: randomness, one linear map for all workers, rotations (a sharded matrix product), per-worker
#: parameter rows. The rest run with -m slow.
DEFAULT = ("rand_k", "perm_k", "cq", "same_rand_k", "drive", "varying_step")


def _check_on_8_devices(selected):
    script = textwrap.dedent(
        """
        import jax, numpy as np
        jax.config.update("jax_enable_x64", True)
        assert len(jax.devices()) == 8, jax.devices()
        from jcomp.compressors import catalog, example_compressors
        from jcomp.run import shard_workers, worker_mesh
        n, d = 16, 24
        SELECTED = SELECTED_NAMES
        X = jax.numpy.asarray(np.random.default_rng(0).normal(size=(n, d)))
        mesh = worker_mesh(8)
        Xs = shard_workers(X, mesh, n)
        assert len(Xs.sharding.device_set) == 8
        comps = example_compressors(d, n)
        labels = [r["label"] for r in catalog(d, n, comps)]
        names = set()
        for comp, label in zip(comps, labels):
            if comp.name not in SELECTED:
                continue
            f = jax.jit(lambda key, X, comp=comp: comp(key, X))
            key = jax.random.key(7)
            one, many = f(key, X), f(key, Xs)
            for a, b in zip((one.bits, one.bits_noidx, one.coords),
                            (many.bits, many.bits_noidx, many.coords)):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=label)
            v1, v8 = np.asarray(one.values), np.asarray(many.values)
            scale = np.abs(v1).max() + 1e-300
            assert np.abs(v1 - v8).max() <= 1e-12 * scale, (label, np.abs(v1 - v8).max())
            names.add(comp.name)
        print("OK", len(comps), sorted(names))
        """
    ).replace("SELECTED_NAMES", repr(set(selected)))
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    env = dict(os.environ, XLA_FLAGS=flags)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]
    shown = out.stdout.split("OK", 1)[1]
    missing = [nm for nm in selected if repr(nm) not in shown]
    assert not missing, f"not covered by example_compressors: {missing}"


def test_default_compressors_give_the_same_messages_on_8_devices():
    assert set(DEFAULT) <= set(names())
    _check_on_8_devices(DEFAULT)


@pytest.mark.slow
def test_other_compressors_give_the_same_messages_on_8_devices():
    _check_on_8_devices([n for n in names() if n not in DEFAULT])
