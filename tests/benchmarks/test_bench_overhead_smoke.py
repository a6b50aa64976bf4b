"""Smoke test of benchmarks/bench_overhead.py: the --smoke run finishes, writes its JSON and
markdown, GD's ratio to itself is exactly 1, and no timed run recompiled."""

import json

from bench_script import run_benchmark


def test_bench_overhead_smoke(tmp_path):
    run_benchmark("bench_overhead.py", "--smoke", "--out", str(tmp_path))
    payload = json.loads((tmp_path / "overhead_smoke.json").read_text())
    assert (tmp_path / "overhead_smoke.md").read_text().startswith("# Overhead of compression")
    for key in ("benchmark", "command", "config", "env", "wall_s", "results", "summary"):
        assert key in payload, key
    assert "--smoke" in payload["command"]
    assert payload["env"]["jax"] and payload["env"]["cpu_count"]
    (block,) = payload["results"]
    assert (block["n"], block["d"], block["dtype"]) == (4, 50, "float32")
    for key in ("gd_us_per_step", "floor_us_per_step", "pairs", "skipped", "compile_per_algorithm"):
        assert key in block, key
    rows = {(r["algorithm"], r["compressor"]): r for r in block["pairs"]}
    assert rows[("gd", "none")]["ratio_gd"] == 1.0
    assert rows[("dcgd", "identity")]["ratio_floor"] == 1.0
    assert {"gd", "marina-p", "ef21-p"} <= {a for a, _ in rows}
    for r in block["pairs"]:
        for key in ("us_per_step", "ratio_gd", "ratio_floor", "compile_s", "recompiled"):
            assert key in r, (r["algorithm"], r["compressor"], key)
        assert r["us_per_step"] > 0 and r["compile_s"] > 0
        assert r["recompiled"] in (False, None), (r["algorithm"], r["compressor"])
    # the no-recompilation check ran on each algorithm's default pair (and GD, the floor)
    for pair in (("gd", "none"), ("dcgd", "identity"), ("marina-p", "perm_k"), ("ef21-p", "top_k")):
        assert rows[pair]["recompile_checked"] and rows[pair]["recompiled"] is False, pair
    assert set(block["compile_per_algorithm"]) >= {"gd", "marina-p", "ef21-p"}
    prof = block["profile"]["compressors"]
    assert len(prof) == 1 and next(iter(prof.values()))["us"] > 0
