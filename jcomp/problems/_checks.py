"""Argument checks shared by the problem builders: each error names the parameter, its value and
what is allowed. ``where`` is the message prefix, e.g. ``"logistic: "``."""

from __future__ import annotations

import numpy as np

__all__ = ["check_int", "check_lam"]


def check_int(where: str, name: str, value, lo: int, hi: int | None = None, what: str = ""):
    """An integer in ``[lo, hi]`` (``hi=None``: no upper bound); ``what`` is appended to the
    allowed range in the message (e.g. ``" (number of workers)"``)."""
    ok = not isinstance(value, bool) and isinstance(value, int | np.integer)
    if not ok or value < lo or (hi is not None and value > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f"≥ {lo}"
        raise ValueError(f"{where}{name}={value!r} is not allowed: expected an integer {rng}{what}")


def check_lam(where: str, lam) -> None:
    """A regularization weight: a finite real number ≥ 0 (not a bool)."""
    if isinstance(lam, bool) or not isinstance(lam, int | float) or not np.isfinite(lam) or lam < 0:
        raise ValueError(f"{where}lam={lam!r} is not allowed: expected a finite number ≥ 0")
