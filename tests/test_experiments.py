"""The marina-p experiment end to end (tiny settings), its results folder, and the CLI."""

import json
import os

import numpy as np
import pytest

from jcomp.cli import main
from jcomp.experiments import marina_p
from jcomp.experiments._common import geometric_band, results_folder, step_function

TINY = [
    "ns=[4,8]",
    "d=24",
    "exponents=[-1,0,1]",
    "seeds=2",
    "budget_small_n=20000",
    "budget_large_n=20000",
    "cap=400",
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "marina-p"
    args = ["run", "marina-p", "--out", str(out)]
    for item in TINY:
        args += ["--set", item]
    assert main(args) == 0
    return out


def test_results_folder_contents(results):
    names = sorted(os.listdir(results))
    assert names == ["config.json", "figure.png", "summary.json", "traces"]
    traces = os.listdir(results / "traces")
    assert len(traces) == 2 * len(marina_p.METHODS)
    summary = json.loads((results / "summary.json").read_text())
    assert summary["experiment"] == "marina-p"
    assert set(summary["per_n"]) >= {"4", "8", "improvement"}
    assert any(k.startswith("PermK best") for k in summary["claims"])
    cfg = json.loads((results / "config.json").read_text())
    assert cfg["d"] == 24 and cfg["ns"] == [4, 8]
    # no partial folders left beside the results
    assert [p for p in os.listdir(results.parent) if "partial" in p or ".old-" in p] == []


def test_saved_sweeps_have_the_whole_grid(results):
    from jcomp import load_trace

    t = load_trace(results / "traces" / "n4_marina_p_perm_k.npz")
    assert t.grad_norm_sq.shape[:2] == (3, 2)  # exponents x seeds
    assert t.meta["method"] == "marina_p/perm_k" and t.meta["n"] == 4
    assert 0 <= t.meta["best"] < 3
    # every row's s2w traffic is 32 bits per coordinate (no index charge for PermK)
    np.testing.assert_array_equal(t.down_bits_noidx, 32 * t.down_coords)


def test_cli_plot_redraws(results):
    os.remove(results / "figure.png")
    assert main(["plot", str(results)]) == 0
    assert os.path.getsize(results / "figure.png") > 10_000


def test_cli_list_and_errors(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("marina-p", "perm_k", "rand_k", "ef21-p", "diana"):
        assert name in out
    assert main(["run", "no-such-experiment"]) == 2
    assert "unknown experiment 'no-such-experiment'" in capsys.readouterr().err
    assert main(["run", "marina-p", "--set", "bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_results_folder_is_all_or_nothing(tmp_path):
    out = tmp_path / "r"
    with pytest.raises(RuntimeError), results_folder(str(out)) as tmp:
        open(os.path.join(tmp, "half.json"), "w").close()
        raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []
    with results_folder(str(out)) as tmp:
        open(os.path.join(tmp, "a"), "w").close()
    with results_folder(str(out)) as tmp:
        open(os.path.join(tmp, "b"), "w").close()
    assert os.listdir(out) == ["b"] and os.listdir(tmp_path) == ["r"]


def test_step_function_and_geometric_band():
    x = np.array([0.0, 10.0, 20.0])
    y = np.array([8.0, 4.0, 2.0])
    grid = np.array([-1.0, 0.0, 5.0, 10.0, 25.0])
    np.testing.assert_array_equal(step_function(x, y, grid), [np.nan, 8, 8, 4, 2])
    xs = np.stack([x, x + 5])
    ys = np.stack([y, y * 4])
    m, lo, hi = geometric_band(xs, ys, np.array([10.0]))
    # seed 1 at x=10: 4; seed 2 at x=10 (its x=5 row): 32 -> geometric mean sqrt(128)
    np.testing.assert_allclose(m, [np.sqrt(4 * 32)], rtol=1e-12)
    np.testing.assert_allclose(lo * hi, m**2, rtol=1e-12)
