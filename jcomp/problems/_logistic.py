"""L2-regularized logistic regression split over workers (seed 000).

Seed 000: Wang, Safaryan, Richtárik (2021), "Smoothness-aware quantization techniques" (spec
ALGORITHMS.md §6, "L2 logistic regression"). Worker i holds m rows ``a_t`` (features, no bias
term) with labels ``b_t ∈ {−1, +1}`` and

    ``f_i(x) = (1/m) Σ_t log(1 + exp(−b_t a_tᵀx)) + (λ/2)‖x‖²``,   ``f = (1/n) Σ_i f_i``,

λ = 1e-3 by default. Rows are first divided by their max |entry| (``scale="row_max"``), then
split: by default a seeded shuffle followed by n contiguous equal parts of ``m = ⌊N/n⌋`` rows
(the remainder ``N − nm`` is dropped); option ``split="norm_sorted"`` (the authors' code: rows
sorted by ℓ2 norm, ascending, then contiguous) and ``split="contiguous"`` (file order).

Smoothness (seed 000, derived): the logistic Hessian is ``(1/m)Σ_t σ(z_t)(1−σ(z_t)) a_ta_tᵀ + λI``
with ``σ(1−σ) ≤ 1/4``, so ``∇²f_i ⪯ 𝐋_i = (1/(4m))A_iᵀA_i + λI`` everywhere and f_i satisfies the
matrix-smoothness inequality ``f_i(x) ≤ f_i(y) + ⟨∇f_i(y), x−y⟩ + ½‖x−y‖²_{𝐋_i}``.

Samples (for the minibatch oracle, :func:`jcomp.problems.minibatch`): ``f_i`` is the mean over
its rows of ``f_it(x) = log(1 + exp(−b_t a_tᵀx)) + (λ/2)‖x‖²``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Constants, Problem, problem_dataclass
from ._checks import check_int, check_lam
from ._quadratic import _check_finite, _data_matrix, _host64

__all__ = [
    "Logistic",
    "NonconvexLogistic",
    "logistic",
    "logistic_libsvm",
    "logistic_newton",
    "nonconvex_logistic",
    "split_indices",
]

SPLITS = ("shuffle", "norm_sorted", "contiguous")
SCALES = ("row_max", None)


@problem_dataclass
class Logistic(Problem):
    """L2 logistic regression over n workers (seed 000): ``features`` (n, m, d), ``labels``
    (n, m) in {−1, +1}, ``lam`` (), and x*, f*, constants computed on the host in float64."""

    features: jax.Array  # (n, m, d) worker i's rows A_i (after scaling)
    labels: jax.Array  # (n, m) worker i's b_i ∈ {−1, +1}
    lam: jax.Array  # () λ
    x_star: jax.Array | None  # (d,)
    f_star: jax.Array | None  # ()
    constants: Constants
    name = "logistic"

    @property
    def n(self) -> int:
        return self.labels.shape[0]

    @property
    def d(self) -> int:
        return self.features.shape[2]

    @property
    def samples_per_worker(self) -> int:
        return self.labels.shape[1]

    def regularizer(self, X):
        """``(λ/2)‖x‖²`` of each row of X (or of a vector x)."""
        return 0.5 * self.lam * jnp.sum(X * X, axis=-1)

    def regularizer_grad(self, X):
        """``λx`` for each row of X (or a vector x)."""
        return self.lam * X

    def _margins(self, X):
        """(n, m): z_it = b_t a_tᵀ X[i]."""
        return self.labels * jnp.einsum("nmd,nd->nm", self.features, X)

    def worker_losses(self, X):
        z = self._margins(X)
        return jnp.mean(jnp.logaddexp(0.0, -z), axis=1) + self.regularizer(X)

    def worker_grads(self, X, key=None):
        del key  # exact oracle
        w = -self.labels * jax.nn.sigmoid(-self._margins(X))  # (n, m) d/dz of log(1+e^{−z}), × b
        m = self.samples_per_worker
        return jnp.einsum("nm,nmd->nd", w, self.features) / m + self.regularizer_grad(X)

    def loss(self, x):
        z = self.labels * jnp.einsum("nmd,d->nm", self.features, x)
        return jnp.mean(jnp.logaddexp(0.0, -z)) + self.regularizer(x)

    def grad(self, x, key=None):
        del key  # exact oracle
        z = self.labels * jnp.einsum("nmd,d->nm", self.features, x)
        w = -self.labels * jax.nn.sigmoid(-z)
        return jnp.einsum("nm,nmd->d", w, self.features) / w.size + self.regularizer_grad(x)

    def sample_grads(self, X: jax.Array, idx: jax.Array) -> jax.Array:
        """(n, d): row i is the mean of ``∇f_it(X[i])`` over the samples ``idx[i]`` ((n, b)
        indices into worker i's m rows); with all m rows it equals ``∇f_i(X[i])``."""
        rows = jnp.take_along_axis(self.features, idx[..., None], axis=1)  # (n, b, d)
        lab = jnp.take_along_axis(self.labels, idx, axis=1)  # (n, b)
        z = lab * jnp.einsum("nbd,nd->nb", rows, X)
        w = -lab * jax.nn.sigmoid(-z)
        return jnp.einsum("nb,nbd->nd", w, rows) / idx.shape[1] + self.regularizer_grad(X)

    def smoothness_matrices(self) -> np.ndarray:
        """(n, d, d) float64 numpy: ``𝐋_i = (1/(4m))A_iᵀA_i + λI`` (seed 000), with ∇²f_i ⪯ 𝐋_i."""
        return _smoothness_matrices(
            np.asarray(jax.device_get(self.features), dtype=np.float64),
            float(jax.device_get(self.lam)),
        )

    def describe(self) -> dict:
        out = super().describe()
        out["samples_per_worker"] = self.samples_per_worker
        out["lam"] = float(jax.device_get(self.lam))
        return out


def _smoothness_matrices(feats: np.ndarray, lam: float) -> np.ndarray:
    n, m, d = feats.shape
    return np.einsum("nmi,nmj->nij", feats, feats) / (4.0 * m) + lam * np.eye(d)


def logistic_constants(Lmat: np.ndarray, lam: float) -> dict:
    """Constants from the smoothness matrices 𝐋_i (n, d, d), float64 on the host.

    ``L_i = λ_max(𝐋_i)``, ``L_max = max L_i``, ``L = λ_max((1/n)Σ𝐋_i)`` (∇²f ⪯ (1/n)Σ𝐋_i),
    ``μ = λ``. ``L_+`` **(derived)**: with ``H_i = ∫₀¹∇²f_i(y + s(x−y))ds``, ``0 ⪯ H_i ⪯ 𝐋_i``, so
    ``‖∇f_i(x)−∇f_i(y)‖² = vᵀH_i²v ≤ ‖H_i‖vᵀH_iv ≤ L_i vᵀ𝐋_iv`` (v = x−y), hence
    ``L_+² ≤ λ_max((1/n)Σ L_i𝐋_i)`` (≤ L_QM², and ≥ λ_max((1/n)Σ𝐋_i²); the latter is not a proven
    bound, since A ⪯ B does not imply A² ⪯ B²). ``L_±``, ``L_A``, ``L_B`` are left undefined.
    """
    n = Lmat.shape[0]
    L_i = np.linalg.eigvalsh(Lmat).max(axis=1)
    L = float(np.linalg.eigvalsh(Lmat.mean(axis=0)).max())
    L_plus2 = float(np.linalg.eigvalsh(np.einsum("n,nij->ij", L_i, Lmat) / n).max())
    return dict(
        L=L,
        L_i=L_i,
        L_max=float(L_i.max()),
        L_plus=float(np.sqrt(max(L_plus2, 0.0))),
        mu=float(lam),
    )


def _objective(A: np.ndarray, b: np.ndarray, lam: float, x: np.ndarray):
    """(f, ∇f, z) of ``f(x) = mean_t log(1 + exp(−b_t a_tᵀx)) + (λ/2)‖x‖²`` in float64 numpy."""
    from scipy.special import expit

    z = b * (A @ x)
    f = np.mean(np.logaddexp(0.0, -z)) + 0.5 * lam * x @ x
    g = A.T @ (-b * expit(-z)) / A.shape[0] + lam * x
    return f, g, z


def logistic_newton(A, b, lam: float, tol: float = 1e-12, max_iter: int = 100):
    """Minimize ``f(x) = mean_t log(1 + exp(−b_t a_tᵀx)) + (λ/2)‖x‖²`` (all rows of A, N×d) by
    damped Newton's method in float64 numpy from x = 0 (backtracking on f, Armijo 1e-4).

    Stops when ``‖∇f(x)‖ ≤ tol`` or when Newton steps no longer lower ‖∇f‖ (the gradient
    has reached its rounding floor: three iterations without a smaller ‖∇f‖). Returns the point
    of smallest ‖∇f‖ seen as ``(x, f(x), ‖∇f(x)‖, iteration at which it was reached)``.
    """
    from scipy.special import expit

    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    N, d = A.shape
    x = np.zeros(d)
    f, g, z = _objective(A, b, lam, x)
    best = (x, f, float(np.linalg.norm(g)), 0)
    stalls = 0
    for it in range(1, max_iter + 1):
        if best[2] <= tol or stalls >= 3:
            break
        s = expit(z)
        H = (A.T * (s * (1.0 - s))) @ A / N + lam * np.eye(d)
        try:
            p = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            p = np.linalg.lstsq(H, g, rcond=None)[0]
        t, slack = 1.0, 4 * np.finfo(np.float64).eps * abs(f)  # rounding slack in the test on f
        while True:
            x_new = x - t * p
            f_new, g_new, z_new = _objective(A, b, lam, x_new)
            if f_new <= f - 1e-4 * t * (g @ p) + slack or t < 1e-10:
                break
            t *= 0.5
        x, f, g, z = x_new, f_new, g_new, z_new
        gn = float(np.linalg.norm(g))
        if gn < best[2]:
            best, stalls = (x, f, gn, it), 0
        else:  # no progress in ‖∇f‖: at the rounding floor after a few tries
            stalls += 1
    return best


def split_indices(A, n: int, split: str = "shuffle", seed: int = 0) -> np.ndarray:
    """(n, m) row indices of worker i's rows, ``m = ⌊N/n⌋`` (the remainder is dropped).

    ``"shuffle"``: ``np.random.default_rng(seed).permutation(N)`` then contiguous parts;
    ``"norm_sorted"``: rows sorted by ℓ2 norm of ``A`` (ascending, stable), then contiguous (the
    ``N − nm`` rows of largest norm are dropped); ``"contiguous"``: file order.
    """
    A = np.asarray(A)
    N = A.shape[0]
    m = N // n
    if split == "shuffle":
        order = np.random.default_rng(seed).permutation(N)
    elif split == "norm_sorted":
        order = np.argsort(np.linalg.norm(A, axis=1), kind="stable")
    elif split == "contiguous":
        order = np.arange(N)
    else:
        raise ValueError(f"split_indices: split={split!r} is not allowed: expected one of {SPLITS}")
    return order[: n * m].reshape(n, m)


def _check_args(where, n, lam, split, scale, seed, N=None):
    """ValueError naming the parameter, its value and what is allowed (n ≤ N only if N given)."""
    what = " (number of workers" + (f", at most the number of rows N = {N})" if N else ")")
    check_int(f"{where}: ", "n", n, 1, N, what)
    check_lam(f"{where}: ", lam)
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"{where}: split={split!r} is not allowed: expected one of {SPLITS}")
    if not (scale is None or (isinstance(scale, str) and scale in SCALES)):
        raise ValueError(f"{where}: scale={scale!r} is not allowed: expected one of {SCALES}")
    check_int(f"{where}: ", "seed", seed, 0)


def logistic(A, b, n: int, lam=1e-3, split="shuffle", seed=0, scale="row_max") -> Logistic:
    """Seed 000 L2 logistic regression from data ``A`` (N, d) and labels ``b`` (N,) in {−1, +1}.

    ``f_i(x) = (1/m) Σ_t log(1 + exp(−b_t a_tᵀx)) + (λ/2)‖x‖²`` over worker i's m = ⌊N/n⌋ rows
    (Wang, Safaryan, Richtárik 2021, "Smoothness-aware quantization techniques"). ``scale``:
    ``"row_max"`` divides each row by its max |entry| (all-zero rows are kept), ``None`` keeps
    the features. ``split``: ``"shuffle"`` (seeded by ``seed``), ``"norm_sorted"`` or
    ``"contiguous"``, see :func:`split_indices` (norms of the scaled rows).

    Constants (:func:`logistic_constants`), x* (:func:`logistic_newton` on the kept rows) and
    f* = f(x*) are computed in float64 on the host from the data as stored. x*/f* are None if
    Newton does not reach ‖∇f‖ ≤ 1e-9 (possible only for λ = 0 on separable data).
    """
    feats, labs, lam64, dtype = _prepare("logistic", A, b, n, lam, split, seed, scale)
    d = feats.shape[2]
    consts = logistic_constants(_smoothness_matrices(feats, lam64), lam64)
    x_np, f_np, gn, _ = logistic_newton(feats.reshape(-1, d), labs.reshape(-1), lam64)
    x_star = f_star = None
    if gn <= 1e-9:
        x_star, f_star = jnp.asarray(x_np, dtype), jnp.asarray(f_np, dtype)
    return _build(Logistic, feats, labs, lam64, dtype, consts, x_star, f_star)


def _build(cls, feats, labs, lam64, dtype, consts, x_star, f_star):
    """A problem of class ``cls`` from host data, storing every array in ``dtype``."""
    return cls(
        features=jnp.asarray(feats, dtype),
        labels=jnp.asarray(labs, dtype),
        lam=jnp.asarray(lam64, dtype),
        x_star=x_star,
        f_star=f_star,
        constants=Constants(**{k: jnp.asarray(v, dtype) for k, v in consts.items()}),
    )


def _prepare(where, A, b, n, lam, split, seed, scale):
    """Validated, scaled and split data: ``(features (n, m, d), labels (n, m), λ, dtype)`` as
    float64 numpy holding the values of the stored dtype."""
    A_np, b_np = _data_matrix(where, A, b, "b")
    N = A_np.shape[0]
    _check_args(where, n, lam, split, scale, seed, N)
    _check_finite(where, "A", A_np)
    _check_finite(where, "b", b_np)
    if not np.all(np.abs(b_np) == 1.0):
        bad = np.unique(b_np[np.abs(b_np) != 1.0])[:5].tolist()
        raise ValueError(
            f"{where}: b must contain labels in {{-1, +1}}; found {bad} (load_libsvm maps any "
            f"two-label file to ±1)"
        )
    lam = float(lam)
    if scale == "row_max":
        mx = np.abs(A_np).max(axis=1)
        A_np = A_np / np.where(mx > 0, mx, 1.0)[:, None]
    idx = split_indices(A_np, n, split, seed)
    dtype = jnp.result_type(float)
    feats = _host64(A_np[idx], dtype)  # (n, m, d)
    labs = b_np[idx]  # ±1: exact in any float dtype
    lam64 = float(_host64(lam, dtype))
    return feats, labs, lam64, dtype


def logistic_libsvm(
    name, n: int, lam=1e-3, *, data_dir=None, n_features=None, download=False, **kw
) -> Logistic:
    """:func:`load_libsvm` ``(name, n_features, data_dir, download)`` then :func:`logistic`
    ``(A, b, n, lam, **kw)`` (``split``, ``seed``, ``scale``). E.g. ``logistic_libsvm("a9a",
    10)``."""
    from ._libsvm import load_libsvm

    allowed = {"split", "seed", "scale"}
    if set(kw) - allowed:
        raise TypeError(f"logistic_libsvm: unexpected arguments {sorted(set(kw) - allowed)}")
    _check_args(
        "logistic_libsvm",
        n,
        lam,
        kw.get("split", "shuffle"),
        kw.get("scale", "row_max"),
        kw.get("seed", 0),
    )
    A, b = load_libsvm(name, n_features=n_features, data_dir=data_dir, download=download)
    return logistic(A, b, n, lam, **kw)


@problem_dataclass
class NonconvexLogistic(Logistic):
    """Seed 003's non-convex logistic regression: the logistic loss of :class:`Logistic` plus
    ``λ Σ_j x_j²/(1 + x_j²)`` instead of ``(λ/2)‖x‖²``. No x*/f* (non-convex)."""

    name = "nonconvex_logistic"

    def regularizer(self, X):
        """``λ Σ_j x_j²/(1 + x_j²)`` of each row of X (or of a vector x)."""
        sq = X * X
        return self.lam * jnp.sum(sq / (1.0 + sq), axis=-1)

    def regularizer_grad(self, X):
        """``2λx_j/(1 + x_j²)²`` coordinatewise."""
        return 2.0 * self.lam * X / (1.0 + X * X) ** 2

    def smoothness_matrices(self) -> np.ndarray:
        """(n, d, d) float64: ``(1/(4m))A_iᵀA_i + 2λI``. The regularizer's second derivative
        ``λ(2 − 6x²)/(1 + x²)³`` lies in ``[−λ/2, 2λ]``, so ``−(λ/2)I ⪯ ∇²f_i ⪯`` this matrix."""
        feats = np.asarray(jax.device_get(self.features), dtype=np.float64)
        return _smoothness_matrices(feats, 2.0 * float(jax.device_get(self.lam)))


def nonconvex_logistic(
    A, b, n: int, lam=0.1, split="shuffle", seed=0, scale=None
) -> NonconvexLogistic:
    """Seed 003 (Panferov et al. 2024) non-convex logistic regression, spec ALGORITHMS.md §6:
    ``f_i(x) = (1/m)Σ_t log(1 + exp(−b_t a_tᵀx)) + λΣ_j x_j²/(1 + x_j²)``, λ = 0.1 by default
    (**assumption**: lost in the seed), LibSVM features as shipped (``scale=None``), seeded
    shuffle then n contiguous equal segments; start from x⁰ = 0.

    Constants (float64, host): ``L_i = λ_max(A_iᵀA_i)/(4m) + 2λ`` (spec), ``L = λ_max(AᵀA)/(4N)
    + 2λ`` over the kept rows, ``L_+ = L_QM = √((1/n)ΣL_i²)`` (a valid bound: each ∇f_i is
    L_i-Lipschitz, the Hessian's eigenvalues lie in ``[−λ/2, L_i]``); no μ, x*, f*.
    """
    feats, labs, lam64, dtype = _prepare("nonconvex_logistic", A, b, n, lam, split, seed, scale)
    Lmat = _smoothness_matrices(feats, 2.0 * lam64)
    L_i = np.linalg.eigvalsh(Lmat).max(axis=1)
    consts = dict(
        L=float(np.linalg.eigvalsh(Lmat.mean(axis=0)).max()),
        L_i=L_i,
        L_max=float(L_i.max()),
        L_plus=float(np.sqrt(np.mean(L_i**2))),
    )
    return _build(NonconvexLogistic, feats, labs, lam64, dtype, consts, None, None)
