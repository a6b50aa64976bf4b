"""Algorithms: ``Algorithm(init, step, setup)`` factories with theory parameters."""

from ._base import Algorithm, Cost, Info
from ._dcgd import DCGDState, dcgd, dcgd_theory
from ._diana import DIANAState, diana, diana_theory
from ._ef21_p import EF21PState, ef21_p, ef21_p_theory
from ._gd import GDState, gd, gd_theory
from ._marina import MARINAState, marina, marina_p_star, marina_theory
from ._marina_p import MARINAPState, marina_p, marina_p_default_p, marina_p_theory
from ._registry import AlgorithmEntry, get, names

__all__ = [
    "Algorithm",
    "AlgorithmEntry",
    "Cost",
    "DCGDState",
    "DIANAState",
    "EF21PState",
    "GDState",
    "Info",
    "MARINAPState",
    "MARINAState",
    "dcgd",
    "dcgd_theory",
    "diana",
    "diana_theory",
    "ef21_p",
    "ef21_p_theory",
    "gd",
    "gd_theory",
    "get",
    "marina",
    "marina_p",
    "marina_p_default_p",
    "marina_p_star",
    "marina_p_theory",
    "marina_theory",
    "names",
]
