"""Name → algorithm registry: factory, theory rule, source paper, compressor requirement."""

from __future__ import annotations

from ._core_gd import ENTRIES as _CORE_GD
from ._dcgd import dcgd, dcgd_theory
from ._diana import diana, diana_theory
from ._ef import ENTRIES as _EF
from ._ef21_p import ENTRIES as _EF21_P_DCGD
from ._ef21_p import ef21_p, ef21_p_theory
from ._entry import AlgorithmEntry
from ._gd import gd, gd_theory
from ._gdci import ENTRIES as _GDCI
from ._m3 import ENTRIES as _M3
from ._marina import marina, marina_theory
from ._marina_p import marina_p, marina_p_theory
from ._rand_diana import ENTRIES as _RAND_DIANA
from ._shifted import ENTRIES as _SHIFTED
from ._smoothness_aware import ENTRIES as _SMOOTHNESS_AWARE
from ._synchronized import ENTRIES as _SYNCHRONIZED
from ._weighted_marina import ENTRIES as _WEIGHTED_MARINA

__all__ = ["AlgorithmEntry", "get", "names"]


_ENTRIES = (
    AlgorithmEntry(
        "gd",
        gd,
        gd_theory,
        "gradient descent (baseline)",
        None,
        "γ = 1/L",
    ),
    AlgorithmEntry(
        "dcgd",
        dcgd,
        dcgd_theory,
        "Khirirat et al. 2018; Shulgin & Richtárik 2022 (seed 002) Thm 1",
        "unbiased",
        "γ = 1/(L + 2 max_i L_i ω/n) (Shulgin Thm 1)",
    ),
    AlgorithmEntry(
        "diana",
        diana,
        diana_theory,
        "Mishchenko et al. 2019; Shulgin & Richtárik 2022 (seed 002) eq. 10, Thm 3",
        "unbiased",
        "α = 1/(1+ω(1−δ)), M = 4ω/(nα), γ = 1/((2/n)ωL_max + (1+αM)L_max) (Thm 3, "
        "reconstructed; C ≡ 0 unless a contractive C is given)",
    ),
    AlgorithmEntry(
        "marina",
        marina,
        marina_theory,
        "Gorbunov et al. 2021; Szlendak et al. 2022; Panferov et al. 2024 (seed 003)",
        "unbiased",
        "γ = 1/(L_− + √((1−p)/p·((A−B)L_+² + BL_±²))), p = p* (seed 003 D.2.1); (A, B) per "
        "spec §4 (IQ/CQ paper constants, DRIVE (π/2−1)/n, PermK (1, 1), PermK+CQ b·A_CQ)",
    ),
    AlgorithmEntry(
        "marina-p",
        marina_p,
        marina_p_theory,
        "Gruntkowska, Tyurin, Richtárik 2024 (seed 004) Alg. 1, Thm D.2",
        "unbiased",
        "γ = (L + √((ωL_A² + θL_B²)/p))⁻¹ (Thm D.2 ×1), p = K/d",
    ),
    AlgorithmEntry(
        "ef21-p",
        ef21_p,
        ef21_p_theory,
        "Gruntkowska, Tyurin, Richtárik 2023 (EF21-P)",
        "contractive",
        "γ = 1/(L(1 + √(1−α)/(1−√(1−α)))), α = δ (external, unverified)",
    ),
)

# Algorithm families declare their entries next to their code (``ENTRIES`` in each module);
# the registry concatenates them here, in this order.
_FAMILY_ENTRIES: tuple[AlgorithmEntry, ...] = (
    *_SHIFTED,
    *_RAND_DIANA,
    *_GDCI,
    *_EF,
    *_SYNCHRONIZED,
    *_WEIGHTED_MARINA,
    *_M3,
    *_EF21_P_DCGD,
    *_CORE_GD,
    *_SMOOTHNESS_AWARE,
)

_REGISTRY = {e.name: e for e in (*_ENTRIES, *_FAMILY_ENTRIES)}
if len(_REGISTRY) != len(_ENTRIES) + len(_FAMILY_ENTRIES):
    raise RuntimeError("jcomp.algorithms: two registry entries share a name")


def names() -> tuple[str, ...]:
    """The registered algorithm names."""
    return tuple(_REGISTRY)


def get(name: str) -> AlgorithmEntry:
    """The registry entry of ``name`` (``-`` and ``_`` are interchangeable)."""
    key = str(name).replace("_", "-").lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown algorithm name={name!r}: known names are {', '.join(names())}")
    return _REGISTRY[key]
