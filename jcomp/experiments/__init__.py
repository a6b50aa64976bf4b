"""Reproduced figures: each a module with ``Config``, ``run(config, out)``, ``check``, ``plot``."""

from __future__ import annotations

from types import ModuleType

from . import marina_p

__all__ = ["EXPERIMENTS", "get"]

#: name -> module (``jcomp run NAME``)
EXPERIMENTS: dict[str, ModuleType] = {"marina-p": marina_p}


def get(name: str) -> ModuleType:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(sorted(EXPERIMENTS))}")
    return EXPERIMENTS[name]
