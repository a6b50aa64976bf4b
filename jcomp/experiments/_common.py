"""Shared pieces of the figure reproductions: results folders, seed statistics on bit axes."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..trace import Trace

__all__ = [
    "env_info",
    "geometric_band",
    "parse_overrides",
    "results_folder",
    "step_function",
    "write_json",
]


def step_function(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Value of the run's last logged y at or before each grid x (NaN before its first x)."""
    idx = np.searchsorted(x, grid, side="right") - 1
    out = np.where(idx >= 0, y[np.clip(idx, 0, None)], np.nan)
    return out


def geometric_band(xs: np.ndarray, ys: np.ndarray, grid: np.ndarray):
    """Seed statistics of step-function curves on a common x grid.

    ``xs``, ``ys``: (seeds, T). Returns (geometric mean, lower, upper) on ``grid`` with the band
    ``exp(mean ± std of log y)`` (spec EXPERIMENTS.md §0).
    """
    curves = np.stack([step_function(x, y, grid) for x, y in zip(xs, ys, strict=True)])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(curves)
    m = logs.mean(axis=0)
    s = logs.std(axis=0)
    return np.exp(m), np.exp(m - s), np.exp(m + s)


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, default=_default)
    os.replace(tmp, path)


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if dataclasses.is_dataclass(o):
        return dataclasses.asdict(o)
    if hasattr(o, "describe"):
        return o.describe()
    return repr(o)


@contextmanager
def results_folder(out: str) -> Iterator[str]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` atomically
    (rename), so no results folder is ever left half written."""
    out = os.path.abspath(out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(out) + ".partial-", dir=parent)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if os.path.exists(out):
        old = out + f".old-{int(time.time() * 1e6)}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def env_info() -> dict:
    import jax

    return {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "x64": bool(jax.config.jax_enable_x64),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def parse_overrides(config, items: list[str]):
    """Apply ``key=value`` overrides to a dataclass config (values parsed as JSON, else str)."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    updates = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key=value")
        k, v = item.split("=", 1)
        if k not in fields:
            raise ValueError(f"--set {k}: unknown setting; known: {', '.join(sorted(fields))}")
        try:
            val = json.loads(v)
        except json.JSONDecodeError:
            val = v
        current = getattr(config, k)
        if isinstance(current, tuple) and isinstance(val, list):
            val = tuple(val)
        updates[k] = val
    return dataclasses.replace(config, **updates)


def load_traces(folder: str) -> dict[str, Trace]:
    from ..trace import load_trace

    out = {}
    tdir = os.path.join(folder, "traces")
    for name in sorted(os.listdir(tdir)):
        if name.endswith(".npz"):
            out[name[:-4]] = load_trace(os.path.join(tdir, name))
    return out
