"""The NumPy references of benchmarks/numpy_compressors.py apply the same rules as jcomp.

Their random streams differ (np.random.Generator vs JAX keys), so each reference is compared
with its jcomp compressor in law, by Monte Carlo on defining statistics of one fixed input:
per entry the mean of the decoded values and of their squares (the error), per coordinate the
mean square of the workers' average (what correlation changes: CQ vs IQ, PermK's exact sum),
and per worker the mean ``bits``, ``bits_noidx`` and ``coords``. Two-sample tolerances come
from the standard errors (z = 5, tests/mc.py); deterministic statistics (zero SE on both sides)
must agree to rounding. Plus a smoke test of the benchmark script's ``main``.
"""

from __future__ import annotations

import functools
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mc import Z, mean_and_se

import jcomp.compressors as C

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")
sys.path.insert(0, os.path.abspath(BENCH))

import bench_compressors  # noqa: E402
import numpy_compressors as NC  # noqa: E402

N, D = 4, 10  # workers, dimension (n ∤ d: PermK's unequal blocks; 2 | n, d: PermK+CQ b = 2)
M_JAX, M_NP = 4000, 600  # Monte Carlo calls (jcomp vmapped; NumPy looped)

_P = tuple(float(v) for v in np.linspace(0.15, 0.9, D))  # non-uniform rand-τ probabilities
_H = tuple(float(v) for v in np.linspace(0.2, 0.6, D))  # varying steps

CASES = {
    "identity": C.identity(),
    "rand_k": C.rand_k(3),
    "top_k": C.top_k(3),
    "same_rand_k": C.same_rand_k(3),
    "same_rand_k_unscaled": C.same_rand_k(3, scaled=False),
    "perm_k": C.perm_k(),
    "natural": C.natural(),
    "bernoulli": C.get("bernoulli", p=0.4),
    "bernoulli_unbiased": C.get("bernoulli", p=0.4, unbiased=True),
    "dithering": C.dithering(3),
    "dithering_linf": C.dithering(2, norm="linf"),
    "ternary": C.ternary(),
    "natural_dithering": C.natural_dithering(3),
    "iq": C.iq(2),
    "iq_shared": C.iq(1, range_="shared"),
    "cq": C.cq(),
    "cq_s3_cyclic": C.cq(3, perm="cyclic"),
    "cq_shared": C.cq(2, range_="shared"),
    "perm_k_cq_b1": C.get("perm_k_cq"),
    "perm_k_cq_b2": C.get("perm_k_cq", b=2),
    "varying_step": C.get("varying_step", h=_H),
    "varying_step_e1": C.get("varying_step", h=_H, encoder="e1"),
    "varying_step_per_worker": C.get("varying_step", h=[_H, _H[::-1], _H, _H[::-1]]),
    "block_quant": C.get("block_quant", h_blocks=(0.3, 0.5, 0.4), blocks=3),
    "rand_tau": C.get("rand_tau", probs=_P),
    "rand_tau_unscaled": C.get("rand_tau", probs=_P, scaled=False),
    "core": C.get("core", m=3),
    "sketch": C.get("sketch", p=3),
    "sketch_coordinates_unbiased": C.get("sketch", p=3, kind="coordinates", unbiased=True),
    "drive_hadamard": C.get("drive"),
    "drive_haar": C.get("drive", rotation="haar"),
    "natural_perm_k": C.get("compose", outer="natural", inner="perm_k"),
    "natural_rand_k": C.get("compose", outer="natural", inner={"name": "rand_k", "k": 3}),
    "induced": C.get("induced", C={"name": "top_k", "k": 2}, Q={"name": "rand_k", "k": 3}),
    "scaled": C.get("scaled", C={"name": "rand_k", "k": 3}),
    "iscc": C.get("iscc", base="natural"),
    "iscc_weighted_tau2": C.get("iscc", base="perm_k", weights=(0.1, 0.2, 0.3, 0.4), tau=2),
}


def _input(n=N, d=D):
    X = np.random.default_rng(7).normal(size=(n, d))
    X[1] *= 3.0  # heterogeneous rows
    return X


def _stats(values, bits, bits_noidx, coords):
    """Per-sample statistics (leading axis = samples), flattened to (samples, k)."""
    v = np.asarray(values, np.float64)
    m = v.shape[0]
    parts = [v, v * v, v.mean(1) ** 2, bits, bits_noidx, coords]
    return np.concatenate([np.asarray(p, np.float64).reshape(m, -1) for p in parts], 1)


#: Cases compiled together (one jitted program per group: compile time dominates, and one
#: program per case would cost ~4x more; one program for all cases is too large).
GROUPS = [list(CASES)[i::2] for i in range(2)]


@functools.cache
def _jcomp_group(g: int):
    """jcomp samples of every case of group g: {name: stats}, one compiled program."""
    comps = [CASES[name] for name in GROUPS[g]]
    keys = jax.random.split(jax.random.key(1), M_JAX)
    f = jax.jit(lambda keys, X: [jax.vmap(c, in_axes=(0, None))(keys, X) for c in comps])
    msgs = f(keys, jnp.asarray(_input()))
    return {
        name: _stats(*(np.asarray(a) for a in m)) for name, m in zip(GROUPS[g], msgs, strict=True)
    }


def _jcomp_samples(comp, X):
    keys = jax.random.split(jax.random.key(1), M_JAX)
    msg = jax.jit(jax.vmap(comp, in_axes=(0, None)))(keys, jnp.asarray(X))
    return _stats(*(np.asarray(a) for a in msg))


def _numpy_samples(comp, X):
    f = NC.reference(comp)
    rng = np.random.default_rng(2)
    out = [f(rng, X) for _ in range(M_NP)]
    return _stats(*(np.stack(a) for a in zip(*out, strict=True)))


def _assert_same_law(a, b, scale):
    ma, sa = mean_and_se(a)
    mb, sb = mean_and_se(b)
    tol = Z * np.sqrt(sa**2 + sb**2) + 1e-9 * scale
    bad = np.abs(ma - mb) > tol
    assert not bad.any(), (
        f"statistics differ at {np.flatnonzero(bad)[:6].tolist()}: jcomp {ma[bad][:6]}, "
        f"numpy {mb[bad][:6]}, tolerance {tol[bad][:6]}"
    )


@pytest.mark.parametrize("g", range(len(GROUPS)))
def test_reference_matches_jcomp(g):
    jc = _jcomp_group(g)
    failures = []
    for name in GROUPS[g]:
        assert NC.has_reference(CASES[name])
        a, b = jc[name], _numpy_samples(CASES[name], _input())
        try:
            _assert_same_law(a, b, np.maximum(np.abs(a).max(0), 1.0))
        except AssertionError as e:
            failures.append(f"{name}: {e}")
    assert not failures, "\n".join(failures)


def test_perm_k_fewer_coordinates_than_workers():
    comp, X = C.perm_k(), _input(n=5, d=3)  # q = 1, r = 2: two workers send nothing
    a, b = _jcomp_samples(comp, X), _numpy_samples(comp, X)
    _assert_same_law(a, b, np.maximum(np.abs(a).max(0), 1.0))


def test_every_example_compressor_has_a_reference():
    """Every compressor the benchmark times can be compared, so none is missing at runtime."""
    for d, n in ((300, 1000), (10_000, 1000), (D, N)):
        missing = [c.describe() for c in C.example_compressors(d, n) if not NC.has_reference(c)]
        assert not missing, f"no NumPy reference for {missing}"


def test_missing_reference_is_loud(capsys):
    class Unknown(C.Compressor):
        name = "no_such_compressor"

    assert not NC.has_reference(Unknown())
    with pytest.raises(NC.MissingReference):
        NC.reference(Unknown())
    rows = [{"compressor": "u", "seconds_per_call": 1.0, "messages_per_second": 4.0}]
    out = bench_compressors.compare_slowest(rows, {"u": Unknown()}, np.ones((4, 3)), 5, 1)
    assert out == [{"compressor": "u", "jcomp_messages_per_second": 4.0, "numpy": "MISSING"}]
    assert "!!! NO NUMPY REFERENCE" in capsys.readouterr().out


def test_benchmark_main_smoke(tmp_path, capsys):
    only = ["identity", "top_k", "same_rand_k"]
    res = bench_compressors.main(
        ["--n", "4", "--d", "8", "--repeat", "1", "--np-repeat", "1", "--slowest", "2"]
        + ["--only", *only, "--out", str(tmp_path)]
    )
    assert os.path.exists(tmp_path / "compressors_n4.json")
    rows = res["by_d"]["8"]
    assert {r["compressor"].split("(")[0] for r in rows} == set(only)
    assert all(r["messages_per_second"] > 0 for r in rows)
    cmp_rows = res["numpy_by_d"]["8"]
    assert len(cmp_rows) == 2 and all(r["speedup"] > 0 for r in cmp_rows)
    slowest = sorted(rows, key=lambda r: -r["seconds_per_call"])[:2]
    assert [r["compressor"] for r in cmp_rows] == [r["compressor"] for r in slowest]
    out = capsys.readouterr().out
    assert "jax " in out and "jcomp/NumPy" in out
