"""Smoke test of benchmarks/bench_scaling.py: ``--smoke`` runs every algorithm at a tiny size in
a subprocess and records a point past the memory limit as skipped."""

import json

from bench_script import run_benchmark

ALGORITHMS = {"gd", "marina_p_permk", "marina_randk", "ef21_topk"}


def test_bench_scaling_smoke(tmp_path):
    run_benchmark("bench_scaling.py", "--smoke", "--out", str(tmp_path), timeout=300)
    data = json.loads((tmp_path / "scaling.json").read_text())
    assert (tmp_path / "scaling.md").read_text().startswith("## jcomp scaling")
    for key in ("benchmark", "mode", "command", "env", "results", "grid", "timing"):
        assert key in data, key
    assert data["mode"] == "smoke"
    assert data["env"]["backend"] and data["env"]["jax"]

    ran = [r for r in data["results"] if not r.get("skipped")]
    skipped = [r for r in data["results"] if r.get("skipped")]
    assert {r["alg"] for r in ran} == ALGORITHMS
    for r in ran:
        assert "error" not in r, r.get("stderr_tail")
        assert r["s_per_step"] > 0 and r["compile_s"] > 0 and r["step_compile_s"] > 0
        assert r["steps"] >= 1 and r["repeats"] >= 1
        assert r["peak_rss_bytes"] >= r["rss_baseline_bytes"] > 0
        assert r["theory_bytes"] == r["problem_bytes"] + r["state_bytes"] > 0
        assert r["xla_cost"]["bytes accessed"] > 0
        assert r["traffic_model_bytes"] > 0 and r["bandwidth_model_Bps"] > 0
        assert r["bandwidth_xla_Bps"] > 0
        assert not r["diverged"]
    # the state the algorithms carry: GD none of size n·d, MARINA two (n, d) arrays
    by = {r["alg"]: r for r in ran}
    n, d, item = by["gd"]["n"], by["gd"]["d"], 4
    assert by["marina_randk"]["state_bytes"] - by["gd"]["state_bytes"] >= 2 * n * d * item
    assert {r["alg"] for r in skipped} == ALGORITHMS
    for r in skipped:
        assert r["estimated_peak_bytes"] > data["mem_limit_bytes"]
        assert "s_per_step" not in r
