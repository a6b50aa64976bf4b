"""Shared pieces of the benchmark scripts: environment record, timing, peak memory, saving.

Every benchmark script prints a table and saves one JSON file under ``benchmarks/results/``
with an ``env`` block from :func:`environment`, written atomically by :func:`save_json` (a
temporary file renamed into place, so an interrupted run never leaves half a file).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable

import jax
import numpy as np

__all__ = [
    "RESULTS_DIR",
    "block",
    "cpu_name",
    "environment",
    "median_time",
    "peak_rss_bytes",
    "save_json",
]

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (falls back to ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    """Installed version of a distribution, read from its metadata (importing torch just for
    its version would cost seconds)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def environment() -> dict:
    """Machine, device and library versions, recorded in every results file."""
    devices = jax.devices()
    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "numpy": np.__version__,
        "torch": _version("torch"),
        "minifl": _version("MiniFL"),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "x64": bool(jax.config.jax_enable_x64),
        "machine": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


def block(tree):
    """Wait for every array in ``tree`` (JAX dispatch is asynchronous)."""
    return jax.block_until_ready(tree)


def median_time(
    fn: Callable[[], object], repeat: int = 5, budget_s: float = 30.0, warmup: int = 1
) -> tuple[float, int]:
    """Median wall time of ``fn()`` over up to ``repeat`` calls (after ``warmup`` calls).

    Stops early once the timed calls have used ``budget_s`` seconds. ``fn`` must block on
    its own result (wrap JAX calls with :func:`block`). Returns ``(median_s, calls_timed)``.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if sum(times) > budget_s:
            break
    return float(np.median(times)), len(times)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far: ``VmHWM`` from ``/proc/self/status``
    (Linux's ``ru_maxrss`` keeps the parent's peak across fork + exec, which would charge a
    child with its parent's memory), else ``ru_maxrss`` (KiB on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def save_json(name: str, payload: dict, out_dir: str = RESULTS_DIR) -> str:
    """Write ``payload`` to ``out_dir/name`` atomically; returns the path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=2, default=_default)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
