"""Smoke test of benchmarks/bench_alternatives.py: the --smoke run (one tiny size, few steps)
finishes, writes its JSON and markdown with the expected keys, and the deterministic GD rows of
the NumPy loop (and MiniFL, when torch is installed) agree with jcomp to rounding."""

import json

from bench_script import run_benchmark


def test_bench_alternatives_smoke(tmp_path):
    run_benchmark("bench_alternatives.py", "--smoke", "--out", str(tmp_path))
    payload = json.loads((tmp_path / "alternatives.json").read_text())
    assert (tmp_path / "alternatives.md").read_text().startswith("| task | n | d |")
    for key in ("benchmark", "command", "env", "config", "numpy", "minifl", "rows", "targets"):
        assert key in payload, key
    assert "--smoke" in payload["command"]
    assert payload["env"]["jax"] and payload["env"]["cpu_count"]
    assert payload["config"]["smoke"] is True

    rows = {r["task"]: r for r in payload["rows"]}
    assert set(rows) == {"marina_permk", "marina_randk", "ef21_topk", "gd", "gd_workers"}
    impls = ["numpy"] + (["minifl"] if payload["minifl"]["used"] else [])
    for r in rows.values():
        assert (r["n"], r["d"]) == (8, 64)
        assert r["jcomp"]["s_per_step"] > 0 and r["jcomp"]["compile_s"] > 0
        assert len(r["jcomp"]["final_grad_norm_sq"]) == r["seeds"]
        for impl in impls:
            assert r[impl]["s_per_step"] > 0
            assert r[f"speedup_vs_{impl}"] > 0
            assert r[impl]["agreement_steps"] == r["steps_agree"]
            assert r[impl]["dtype"] == "float64"
            assert "pass" in r["agreement"][impl]
    for task in ("gd", "gd_workers"):  # deterministic: agree to rounding
        for impl in impls:
            check = rows[task]["agreement"][impl]
            assert check["pass"] is True, (task, impl, check)
            assert check["max_rel_diff"] <= 1e-8
        assert rows[task]["agreement"]["pass"] is True
