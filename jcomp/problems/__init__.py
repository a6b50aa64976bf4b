"""Problems: per-worker objectives on a leading worker axis, with exact constants."""

from ._autoencoder import Autoencoder, autoencoder, autoencoder_mnist
from ._base import Constants, Problem, problem_dataclass
from ._download import DATASETS, DataFile, cache_dir, download
from ._generators import (
    hessian_variance_quadratic,
    homogeneous_quadratic,
    marina_p_quadratic,
    near_homogeneous_quadratic,
    smoothness_spread_quadratic,
    tridiag_x0,
)
from ._libsvm import KNOWN_WIDTHS, load_libsvm
from ._logistic import Logistic, NonconvexLogistic, logistic, logistic_libsvm, nonconvex_logistic
from ._mnist import load_mnist, synthetic_digits
from ._oracle import MinibatchProblem, StochasticProblem, minibatch, oracle_sigma2, stochastic
from ._quadratic import Quadratic, quadratic, quadratic_constants
from ._ridge import Ridge, ridge, ridge_regression
from ._structured import (
    StructuredQuadratic,
    structured_constants,
    structured_quadratic,
    tridiag_apply,
    tridiag_eigenvalues,
)

__all__ = [
    "Autoencoder",
    "Constants",
    "DATASETS",
    "DataFile",
    "KNOWN_WIDTHS",
    "Logistic",
    "MinibatchProblem",
    "NonconvexLogistic",
    "Problem",
    "Quadratic",
    "Ridge",
    "StochasticProblem",
    "StructuredQuadratic",
    "autoencoder",
    "autoencoder_mnist",
    "cache_dir",
    "download",
    "hessian_variance_quadratic",
    "load_libsvm",
    "load_mnist",
    "logistic",
    "logistic_libsvm",
    "homogeneous_quadratic",
    "marina_p_quadratic",
    "minibatch",
    "oracle_sigma2",
    "near_homogeneous_quadratic",
    "nonconvex_logistic",
    "problem_dataclass",
    "quadratic",
    "quadratic_constants",
    "ridge",
    "ridge_regression",
    "stochastic",
    "smoothness_spread_quadratic",
    "structured_constants",
    "structured_quadratic",
    "synthetic_digits",
    "tridiag_apply",
    "tridiag_eigenvalues",
    "tridiag_x0",
]
