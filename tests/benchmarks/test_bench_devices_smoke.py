"""Smoke tests of benchmarks/bench_devices.py: sharded traces equal the unsharded one on 8 host
CPU devices, and the GPU suite's code path runs on CPU at tiny sizes (``--gpu-suite``)."""

import json

from bench_script import run_benchmark


def _run(*args):
    # the CPU path, also where a GPU is present
    return run_benchmark(
        "bench_devices.py", "--smoke", *args, timeout=300, env={"JAX_PLATFORMS": "cpu"}
    )


def test_bench_devices_cpu_smoke(tmp_path):
    _run("--skip-gpu", "--dtype", "float64", "--out", str(tmp_path))
    data = json.loads((tmp_path / "devices_cpu.json").read_text())
    assert (tmp_path / "devices_cpu.md").exists()
    for key in ("benchmark", "command", "env", "runs", "processes", "dtype"):
        assert key in data, key
    assert data["env"]["jax"] and data["dtype"] == "float64"
    for p in data["processes"]:
        assert p["error"] is None, p["stderr_tail"]
        assert p["device_count_seen"] == 8
    runs = data["runs"]
    assert {r["devices"] for r in runs} == {None, 8}
    for r in runs:
        assert r["s_per_step"] > 0 and r["compile_s"] > 0 and r["deterministic"]
        v = r["vs_unsharded"]
        assert v["counts_equal"], v["counts_unequal"]
        assert v["max_rel_diff"] <= 1e-12, v  # a sharded mean may sum in another order
        assert v["time_ratio"] > 0
    sharded = [r for r in runs if r["devices"] == 8]
    assert sharded and all(len(r["mesh_devices"]) == 8 for r in sharded)


def test_bench_devices_gpu_suite_on_cpu(tmp_path):
    _run("--skip-cpu", "--gpu-suite", "--out", str(tmp_path))
    assert not (tmp_path / "devices_gpu.json").exists()  # forced on CPU: its own file name
    data = json.loads((tmp_path / "devices_gpu_suite_cpu.json").read_text())
    assert (tmp_path / "devices_gpu_suite_cpu.md").exists()
    assert data["forced_on_cpu"] and data["backend"] == "cpu" and data["env"]["jax"]
    assert data["device_kind"] and data["peak_Bps"] is None
    algs = {r["alg"] for r in data["runs"]}
    assert {"gd", "marina_p_permk"} <= algs
    for r in data["runs"]:
        assert "error" not in r and "skipped" not in r, r
        assert r["s_per_step"] > 0 and r["xla_cost"]["bytes accessed"] > 0
        assert r["bandwidth_xla_Bps"] > 0 and r["bandwidth_model_Bps"] > 0
