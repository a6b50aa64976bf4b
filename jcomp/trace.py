"""Trace: the logged history of a run (or a batch of runs), saved and loaded without pickle."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, NamedTuple

import numpy as np

__all__ = ["METRICS", "Trace", "load_trace"]

#: Per-row metrics of the model x (spec §7).
METRICS = ("loss_gap", "grad_norm_sq", "dist_sq")


class Trace(NamedTuple):
    """One row per log point (row 0 is the start, step 0); leading axes index a sweep.

    Cumulative traffic is per worker: ``*_mean`` averages over workers, ``*_max`` is the busiest
    worker. ``setup_*`` is one-off traffic (e.g. an initial full-gradient upload), kept separate
    and added as an offset on bit axes where a figure counts it.
    """

    step: np.ndarray  # (..., T) iteration of each row
    up_bits: np.ndarray  # (..., T) cumulative uplink bits per worker, mean over workers
    up_bits_max: np.ndarray  # (..., T) ... max over workers
    up_bits_noidx: np.ndarray  # (..., T)
    up_bits_noidx_max: np.ndarray  # (..., T)
    up_coords: np.ndarray  # (..., T)
    up_coords_max: np.ndarray  # (..., T)
    down_bits: np.ndarray  # (..., T) cumulative downlink bits per worker, mean over workers
    down_bits_max: np.ndarray  # (..., T)
    down_bits_noidx: np.ndarray  # (..., T)
    down_bits_noidx_max: np.ndarray  # (..., T)
    down_coords: np.ndarray  # (..., T)
    down_coords_max: np.ndarray  # (..., T)
    setup_up_bits: np.ndarray  # (...) one-off uplink bits per worker (mean)
    setup_down_bits: np.ndarray  # (...) one-off downlink bits per worker (mean)
    loss_gap: np.ndarray  # (..., T) f(x) − f* (f(x) where f* is unknown)
    grad_norm_sq: np.ndarray  # (..., T) ‖∇f(x)‖²
    dist_sq: np.ndarray  # (..., T) ‖x − x*‖² / ‖x⁰ − x*‖² (NaN where x* is unknown)
    wall_time: np.ndarray  # (T,) seconds since the first step, measured between compiled chunks
    diverged: np.ndarray  # (...) bool: stopped on a non-finite or exploding value
    diverged_step: np.ndarray  # (...) first logged step found diverged, −1 if none
    meta: dict  # JSON-friendly: config, sweep axes, compile time, ...

    # ----------------------------------------------------------------- views
    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.diverged.shape

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self._asdict().items() if k != "meta"}

    def take(self, index) -> Trace:
        """Index the sweep axes (not the row axis): ``trace.take((2, 0))``."""
        out = {}
        for k, v in self.arrays().items():
            out[k] = v if k == "wall_time" else np.asarray(v[index])
        return Trace(**out, meta=dict(self.meta))

    def to_dict(self) -> dict[str, Any]:
        """Plain Python lists and the meta dict (JSON-serializable)."""
        out = {k: np.asarray(v).tolist() for k, v in self.arrays().items()}
        out["meta"] = self.meta
        return out

    def rows(self) -> list[dict[str, float]]:
        """One dict per log point (unbatched traces only)."""
        if self.batch_shape:
            raise ValueError(f"rows() needs an unbatched trace; batch shape is {self.batch_shape}")
        per_row = [k for k, v in self.arrays().items() if np.ndim(v) == 1]
        return [
            {k: np.asarray(self._asdict()[k])[t].item() for k in per_row}
            for t in range(len(self.step))
        ]

    def x_axis(self, name: str, *, setup: bool = False) -> np.ndarray:
        """A bit/coord axis such as ``"down_bits_noidx"``, optionally offset by setup bits."""
        x = np.asarray(getattr(self, name), dtype=np.float64)
        if setup and name.endswith(("bits", "bits_noidx")):
            side = "setup_up_bits" if name.startswith("up") else "setup_down_bits"
            x = x + np.asarray(getattr(self, side))[..., None]
        return x

    # ------------------------------------------------------------- save/load
    def save(self, path: str | os.PathLike) -> str:
        """Write ``path`` (``.npz``: arrays plus meta as JSON) atomically; never pickles."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp.npz")
        os.close(fd)
        try:
            np.savez(
                tmp,
                **{k: np.asarray(v) for k, v in self.arrays().items()},
                meta=np.asarray(json.dumps(self.meta, default=_json_default)),
            )
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path


def load_trace(path: str | os.PathLike) -> Trace:
    """Read a trace written by :meth:`Trace.save` (``allow_pickle=False``)."""
    with np.load(os.fspath(path), allow_pickle=False) as z:
        missing = set(Trace._fields) - set(z.files)
        if missing:
            raise ValueError(f"{path}: not a jcomp trace (missing fields {sorted(missing)})")
        arrays = {k: z[k] for k in Trace._fields if k != "meta"}
        meta = json.loads(str(z["meta"]))
    return Trace(**arrays, meta=meta)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "describe"):
        return o.describe()
    return repr(o)
