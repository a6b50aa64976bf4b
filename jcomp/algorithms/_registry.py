"""Name → algorithm registry: factory, theory rule, source paper, compressor requirement."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

from ._dcgd import dcgd, dcgd_theory
from ._diana import diana, diana_theory
from ._ef21_p import ef21_p, ef21_p_theory
from ._gd import gd, gd_theory
from ._marina import marina, marina_theory
from ._marina_p import marina_p, marina_p_theory

__all__ = ["AlgorithmEntry", "get", "names"]


@dataclasses.dataclass(frozen=True)
class AlgorithmEntry:
    """One registered algorithm.

    ``factory``: the public factory (``gd(step_size)``, ``marina(compressor, step_size, p)``, ...).
    ``theory``: its theory function, ``theory(problem)`` when ``compressor`` is ``None`` else
    ``theory(problem, compressor)``. ``compressor``: the requirement on the compressor,
    ``"unbiased"`` (U(ω)), ``"contractive"`` (B(δ)), ``"any"``, or ``None`` (takes none).
    ``rule``: the theory rule in words, for logs.
    """

    name: str
    factory: Callable
    theory: Callable
    source: str
    compressor: str | None
    rule: str

    @property
    def params(self) -> tuple[str, ...]:
        """The factory's numeric hyperparameters (its keywords other than ``compressor``)."""
        return tuple(p for p in inspect.signature(self.factory).parameters if p != "compressor")

    def make(self, compressor=None, **params):
        """Build the algorithm: ``factory(compressor, **params)`` (no compressor for GD)."""
        if self.compressor is None:
            if compressor is not None:
                raise ValueError(f"{self.name}: takes no compressor; got {compressor!r}")
            return self.factory(**params)
        if compressor is None:
            raise ValueError(f"{self.name}: needs a compressor ({self.compressor})")
        return self.factory(compressor, **params)

    def theory_params(self, problem, compressor=None, **options) -> dict:
        """The theory parameters, restricted to the factory's keywords (extra values such as
        MARINA-P's ``step_size_d1`` are dropped): ``make(c, **theory_params(problem, c))``."""
        out = (
            self.theory(problem, **options)
            if self.compressor is None
            else self.theory(problem, compressor, **options)
        )
        return {k: v for k, v in out.items() if k in self.params}


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
        "α = 1/(1+ω), M = 4ω/(nα), γ = 1/((2/n)ωL_max + (1+αM)L_max) (Thm 3, reconstructed)",
    ),
    AlgorithmEntry(
        "marina",
        marina,
        marina_theory,
        "Gorbunov et al. 2021; Szlendak et al. 2022; Panferov et al. 2024 (seed 003)",
        "unbiased",
        "γ = 1/(L_− + √((1−p)/p·((A−B)L_+² + BL_±²))), p = p* (seed 003 D.2.1)",
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

_REGISTRY = {e.name: e for e in _ENTRIES}


def names() -> tuple[str, ...]:
    """The registered algorithm names."""
    return tuple(_REGISTRY)


def get(name: str) -> AlgorithmEntry:
    """The registry entry of ``name`` (``-`` and ``_`` are interchangeable)."""
    key = str(name).replace("_", "-").lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown algorithm name={name!r}: known names are {', '.join(names())}")
    return _REGISTRY[key]
