"""Problems: per-worker objectives on a leading worker axis, with exact constants."""

from ._base import Constants, Problem
from ._quadratic import Quadratic, quadratic

__all__ = ["Constants", "Problem", "Quadratic", "quadratic"]
