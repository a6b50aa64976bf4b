"""Problems: per-worker objectives on a leading worker axis, with exact constants."""

from ._base import Constants, Problem, problem_dataclass
from ._generators import homogeneous_quadratic, marina_p_quadratic, near_homogeneous_quadratic
from ._oracle import StochasticProblem, stochastic
from ._quadratic import Quadratic, quadratic, quadratic_constants
from ._structured import (
    StructuredQuadratic,
    structured_constants,
    structured_quadratic,
    tridiag_apply,
    tridiag_eigenvalues,
)

__all__ = [
    "Constants",
    "Problem",
    "Quadratic",
    "StochasticProblem",
    "StructuredQuadratic",
    "homogeneous_quadratic",
    "marina_p_quadratic",
    "near_homogeneous_quadratic",
    "problem_dataclass",
    "quadratic",
    "quadratic_constants",
    "stochastic",
    "structured_constants",
    "structured_quadratic",
    "tridiag_apply",
    "tridiag_eigenvalues",
]
