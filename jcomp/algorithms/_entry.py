"""``AlgorithmEntry``: one row of the algorithm registry (kept apart from the registry so that
algorithm modules can declare their own entries)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

__all__ = ["REQUIREMENTS", "AlgorithmEntry"]

#: What an algorithm needs of its compressor: ``"unbiased"`` (U(ω)), ``"contractive"`` (B(δ)),
#: ``"any"``, ``"linear-unbiased"`` / ``"linear-contractive"`` (one linear compressor shared by
#: all workers per step: synchronized methods, seed 001 Alg. 5–6), or ``None`` (takes none).
REQUIREMENTS = ("unbiased", "contractive", "any", "linear-unbiased", "linear-contractive", None)


@dataclasses.dataclass(frozen=True)
class AlgorithmEntry:
    """One registered algorithm.

    ``factory``: the public factory (``gd(step_size)``, ``marina(compressor, step_size, p)``, ...).
    ``theory``: its theory function, ``theory(problem)`` when ``compressor`` is ``None`` else
    ``theory(problem, compressor)``. ``compressor``: the requirement on the compressor,
    one of :data:`REQUIREMENTS`.
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
