"""Smoke test of benchmarks/bench_sweep.py: it runs, writes its results, its sweep traces equal
the separate runs and nothing recompiles across step sizes or seeds."""

import json

from bench_script import run_benchmark


def test_bench_sweep_smoke(tmp_path):
    proc = run_benchmark("bench_sweep.py", "--smoke", "--out", str(tmp_path))
    assert "# Sweep vs separate runs" in proc.stdout
    assert (tmp_path / "sweep.md").read_text().startswith("# Sweep vs separate runs")
    payload = json.loads((tmp_path / "sweep.json").read_text())

    for key in ("benchmark", "command", "env", "config", "machine", "results", "fit", "total_s"):
        assert key in payload, key
    assert payload["command"].startswith("python benchmarks/bench_sweep.py")
    assert "--smoke" in payload["command"]
    assert payload["env"]["jax"] and payload["env"]["x64"] is True
    cfg = payload["config"]
    assert cfg["smoke"] is True and cfg["points"] == 8
    assert payload["machine"]["copy_bandwidth"][0]["GBps"] > 0

    assert payload["results"], "no benchmark case ran"
    for r in payload["results"]:
        for key in ("one_run", "separate_runs", "sweeps", "ratios", "step_cost"):
            assert key in r, key
        one, runs = r["one_run"], r["separate_runs"]
        assert one["compile_s"] > 0 and one["run_s"] > 0
        # the separate runs reuse the one run's compiled programs
        assert runs["new_programs"] == 0
        assert runs["max_compile_s"] < 0.5
        for key in (
            "sweep_over_one_run",
            "sweep_over_one_run_with_compile",
            "runs_over_one_run",
            "runs_over_one_run_with_compile",
            "runs_over_sweep",
            "runs_over_sweep_with_compile",
        ):
            assert r["ratios"][key] > 0, key
        assert r["sweeps"][0]["batch_chunk"] == "default"
        for sw in r["sweeps"]:
            assert sw["run_s"] > 0 and sw["runs_computed"] >= r["points"]
            # same key → same run: bits, flags and non-finite entries exactly, metrics to
            # float64 rounding (vmapped reductions may sum in another order)
            cmp = sw["vs_separate_runs"]
            assert cmp["nonfinite_or_flag_mismatches"] == 0, cmp
            assert cmp["max_rel_diff"] <= 1e-12, cmp
        # a second sweep with other step sizes and seeds compiles nothing
        warm = r["sweeps"][0]["warm"]
        assert warm["new_programs"] == 0
        assert warm["compile_s"] < 0.5
