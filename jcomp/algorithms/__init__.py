"""Algorithms: ``Algorithm(init, step, setup)`` factories with theory parameters."""

from ._base import Algorithm, Cost, Info
from ._gd import gd, gd_theory

__all__ = ["Algorithm", "Cost", "Info", "gd", "gd_theory"]
