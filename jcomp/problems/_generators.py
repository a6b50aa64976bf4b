"""Synthetic quadratic problems of the seed papers, built as :class:`StructuredQuadratic`.

All draws come from ``numpy.random.default_rng(seed)`` on the host, in a fixed order that each
generator documents, so a seed gives the same problem on every machine and device count. The
seeds write ``f_i(x) = ½ xᵀA_i x + b_iᵀx`` with ``b_i ~ N(0, I)``; jcomp's convention is
``− b_iᵀx``, so the stored ``b`` is minus the draw. The seeds start from ``x⁰ = 0``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._structured import StructuredQuadratic, structured_quadratic, tridiag_eigenvalues

__all__ = [
    "hessian_variance_quadratic",
    "homogeneous_quadratic",
    "marina_p_quadratic",
    "near_homogeneous_quadratic",
    "smoothness_spread_quadratic",
    "tridiag_x0",
]


def _check_int(where: str, name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer ≥ {minimum}; got {value!r}")
    return int(value)


def _check_real(where: str, name: str, value, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where}: {name} must be a real number ≥ {minimum}; got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{where}: {name} must be a finite real number ≥ {minimum}; got {value!r}")
    return value


def marina_p_quadratic(
    n: int,
    d: int = 300,
    L_A2: float = 1.0,
    L_B2: float = 1e4,
    seed=0,
    *,
    literal: bool = False,
    sigma: float | None = None,
) -> StructuredQuadratic:
    """Seed 004 Alg. 3 (**reconstructed**, spec ALGORITHMS.md §6): heterogeneous quadratics with
    target Thm 4.9 constants ``L_A² = L_A2``, ``L_B² = L_B2``.

    ``M = tridiag(−1, 2, −1) ∈ R^{d×d}``, ``‖M‖ = 2 − 2cos(dπ/(d+1))``; ``A_i = (v + ξ_i)M``,
    ``f_i(x) = ½ xᵀA_i x + b_iᵀx`` with ``b_i ~ N(0, I_d)``; start from ``x⁰ = 0``.

    Default: draw ``z ~ N(0, I_n)``, centre it, scale it to ``ξ`` with
    ``√2 max_i|ξ_i|‖M‖ = L_A`` (``ξ ≡ 0`` if ``L_A = 0``; ``L_A > 0`` needs n ≥ 2), and set
    ``v = L_B/(√2‖M‖)``. Then every ``c_i = v + ξ_i`` must be ≥ 0 (up to ``1e-12·v``), which
    holds whenever ``L_B ≥ L_A`` and fails for ``L_B`` much smaller than ``L_A``. With ξ
    centred and ``c_i ≥ 0``: ``L_B = √2 mean_i‖A_i‖ = √2 v‖M‖`` and ``L_A = √2 max_i|ξ_i|‖M‖``,
    so the reported constants equal the targets up to float64 rounding (relative error about
    ``1e-16·L_B/L_A`` for ``L_A``) when problems are stored in float64; in float32 they are the
    exact constants of the float32-rounded data.

    Option ``literal=True``: the seed's loop as printed, ``ξ_i ~ N(0, σ²)`` clipped to
    ``[−v, v]`` (``sigma`` required; ``v`` still ``L_B/(√2‖M‖)``; ``L_A2`` is not used and the
    resulting constants are whatever the draw gives, see ``.constants``).

    Draw order from ``numpy.random.default_rng(seed)``: ``z`` (n,) standard normal, then
    ``b`` (n, d) standard normal, so the ``b_i`` of a seed do not depend on ``L_A2``, ``L_B2``.
    Returns a :class:`StructuredQuadratic` with ``S = "tridiag"``, ``c = v + ξ``, ``τ = 0``.
    """
    where = "marina_p_quadratic"
    n = _check_int(where, "n", n)
    d = _check_int(where, "d", d)
    L_A2 = _check_real(where, "L_A2", L_A2)
    L_B2 = _check_real(where, "L_B2", L_B2)
    norm_M = float(tridiag_eigenvalues(d)[-1])
    L_A, L_B = math.sqrt(L_A2), math.sqrt(L_B2)
    v = L_B / (math.sqrt(2.0) * norm_M)
    if literal:
        if sigma is None:
            raise ValueError(f"{where}: literal=True needs sigma (std of ξ_i); got sigma=None")
        sigma = _check_real(where, "sigma", sigma)
    elif sigma is not None:
        raise ValueError(f"{where}: sigma is only used with literal=True; got sigma={sigma!r}")
    elif L_A > 0 and n < 2:
        raise ValueError(
            f"{where}: L_A2 > 0 needs n ≥ 2 workers (one worker has A_1 = Ā, so L_A = 0); "
            f"got n={n}, L_A2={L_A2!r}"
        )

    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    b_draw = rng.standard_normal((n, d))
    np.negative(b_draw, out=b_draw)  # f_i = ½xᵀA_ix + b_iᵀx  →  jcomp's −b convention

    if literal:
        xi = np.clip(sigma * z, -v, v)
    elif L_A == 0:
        xi = np.zeros(n)
    else:
        z = z - z.mean()
        zmax = np.abs(z).max()
        if zmax == 0:  # probability zero for n ≥ 2; guard against a degenerate draw
            raise ValueError(f"{where}: degenerate draw (all ξ_i equal) for seed={seed!r}")
        xi = z * (L_A / (math.sqrt(2.0) * norm_M * zmax))
    c = v + xi
    if not literal and c.min() < -1e-12 * v:
        raise ValueError(
            f"{where}: L_B2={L_B2!r} is too small for L_A2={L_A2!r} (n={n}, seed={seed!r}): "
            f"A_i = (v + ξ_i)M needs v + ξ_i ≥ 0 but v = {v:.6g} and min_i ξ_i = {xi.min():.6g}; "
            f"L_B2 ≥ L_A2 always works"
        )
    return structured_quadratic(c, b_draw, S="tridiag", tau=0.0)


def near_homogeneous_quadratic(
    n: int, d: int = 1000, var: float = 0.01, seed=0
) -> StructuredQuadratic:
    """Seed 004 F.1: ``A_i = (1 + ξ_i)I_d``, ``ξ_i ~ N(0, var)`` (``var`` is the variance),
    ``f_i(x) = ½ xᵀA_i x + b_iᵀx`` with ``b_i ~ N(0, I_d)`` (assumed, spec §6); ``x⁰ = 0``.

    Draw order from ``numpy.random.default_rng(seed)``: ``ξ`` (n,) then ``b`` (n, d).
    Returns a :class:`StructuredQuadratic` with ``S = "identity"``, ``c = 1 + ξ``, ``τ = 0``.
    """
    where = "near_homogeneous_quadratic"
    n = _check_int(where, "n", n)
    d = _check_int(where, "d", d)
    var = _check_real(where, "var", var)
    rng = np.random.default_rng(seed)
    xi = math.sqrt(var) * rng.standard_normal(n)
    b_draw = rng.standard_normal((n, d))
    np.negative(b_draw, out=b_draw)
    return structured_quadratic(1.0 + xi, b_draw, S="identity", tau=0.0)


def homogeneous_quadratic(
    n: int, d: int, S="tridiag", tau: float = 0.0, scale: float = 1.0, seed=0
) -> StructuredQuadratic:
    """Homogeneous quadratics: every worker has the same ``A = scale·S + τI``, only the linear
    terms differ: ``f_i(x) = ½ xᵀA x + b_iᵀx``, ``b_i ~ N(0, I_d)`` (draw order: ``b`` (n, d)
    from ``numpy.random.default_rng(seed)``).

    ``L_± = L_A = 0`` exactly (seed 003 Prop. 2; seed 004 Thm 4.5), so e.g. MARINA-P with PermK
    from ``w_i⁰ = x⁰`` reproduces GD. ``S`` as in :func:`structured_quadratic` (``"tridiag"``,
    ``"identity"`` or a symmetric (d, d) array); μ > 0 needs ``τ > 0`` for a singular S.
    """
    where = "homogeneous_quadratic"
    n = _check_int(where, "n", n)
    d = _check_int(where, "d", d)
    scale = _check_real(where, "scale", scale, minimum=-math.inf)
    rng = np.random.default_rng(seed)
    b_draw = rng.standard_normal((n, d))
    np.negative(b_draw, out=b_draw)
    return structured_quadratic(np.full(n, scale), b_draw, S=S, tau=tau)


def _seed003_linear_terms(c: np.ndarray, xi_b: np.ndarray, s: float, d: int) -> np.ndarray:
    """Seed 003 Alg. 5/6 linear terms ``b_i = c_i(−1 + ν_i^b)e_1`` with ``ν_i^b = s·ξ'_i``
    (jcomp's ``− b_iᵀx`` convention, as the spec writes ``f_i``)."""
    b = np.zeros((c.shape[0], d))
    b[:, 0] = c * (-1.0 + s * xi_b)
    return b


def hessian_variance_quadratic(
    n: int, d: int = 1024, s: float = 1.0, L_s: float = 1.0, lam: float = 1e-6, seed=0
) -> StructuredQuadratic:
    """Seed 003 Alg. 5 (**reconstructed** from the authors' code, spec ALGORITHMS.md §6): the
    noise scale ``s`` controls the Hessian variance L_±.

    Draw ``ξ`` (n,) then ``ξ'`` (n,) standard normal from ``numpy.random.default_rng(seed)``;
    ``ν_i^s = 1 + sξ_i``, ``ν_i^b = sξ'_i``; ``A_i = (L_sν_i^s/4)T`` with
    ``T = tridiag(−1, 2, −1)``, ``b_i = (L_sν_i^s/4)(−1 + ν_i^b)e_1``; then every A_i is shifted
    by ``(λ − λ_min(Ā))I`` so that ``λ_min(Ā) = λ`` exactly; ``f_i = ½xᵀA_ix − b_iᵀx``. As a
    structured quadratic: ``c_i = L_sν_i^s/4``, ``τ = λ − c̄·s_1`` with
    ``s_1 = 2 − 2cos(π/(d + 1))`` the smallest eigenvalue of T (needs ``c̄ > 0``). Then
    ``L_± = (L_s/4)·std(ν^s)·‖T‖`` (1/n variance): 0 for ``s = 0`` and independent of λ and ν^b.
    Start from :func:`tridiag_x0` (``(√d, 0, …, 0)``; the code's option is ``x⁰ = 0``).
    """
    where = "hessian_variance_quadratic"
    n = _check_int(where, "n", n)
    d = _check_int(where, "d", d)
    s = _check_real(where, "s", s)
    L_s = _check_real(where, "L_s", L_s)
    lam = _check_real(where, "lam", lam)
    if L_s == 0:
        raise ValueError(f"{where}: L_s must be > 0; got L_s={L_s!r}")
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal(n)
    xi_b = rng.standard_normal(n)
    c = L_s * (1.0 + s * xi) / 4.0
    if c.mean() <= 0:
        raise ValueError(
            f"{where}: s={s!r} gives mean_i ν_i^s = {c.mean() * 4 / L_s:.4g} ≤ 0 for seed={seed!r}"
            ", so Ā = c̄T + τI has no positive part to shift; use a smaller s or another seed"
        )
    tau = lam - c.mean() * float(tridiag_eigenvalues(d)[0])
    return structured_quadratic(c, _seed003_linear_terms(c, xi_b, s, d), S="tridiag", tau=tau)


def smoothness_spread_quadratic(
    n: int, d: int = 1024, s: float = 1.0, lam: float = 1e-6, seed=0
) -> StructuredQuadratic:
    """Seed 003 Alg. 6 (**reconstructed**, lost in the seed; spec ALGORITHMS.md §6): the noise
    scale ``s`` controls the spread of the L_i, hence ``L_QM − L_AM``.

    Draw ``ξ`` (n,) then ``ξ'`` (n,) standard normal from ``numpy.random.default_rng(seed)``;
    ``ν_i = 1 + s|ξ_i|``; ``A_i = (ν_i/4)T + λI``, ``b_i = (ν_i/4)(−1 + sξ'_i)e_1`` (as Alg. 5);
    ``f_i = ½xᵀA_ix − b_iᵀx``. ``L_i = (ν_i/4)‖T‖ + λ``, so ``s = 0`` gives ``L_AM = L_QM``.
    Start from :func:`tridiag_x0`.
    """
    where = "smoothness_spread_quadratic"
    n = _check_int(where, "n", n)
    d = _check_int(where, "d", d)
    s = _check_real(where, "s", s)
    lam = _check_real(where, "lam", lam)
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal(n)
    xi_b = rng.standard_normal(n)
    c = (1.0 + s * np.abs(xi)) / 4.0
    return structured_quadratic(c, _seed003_linear_terms(c, xi_b, s, d), S="tridiag", tau=lam)


def tridiag_x0(d: int, zero: bool = False) -> np.ndarray:
    """Seed 003's start ``x⁰ = (√d, 0, …, 0)`` (Szlendak et al.; default), or ``x⁰ = 0``
    (``zero=True``, the authors' code)."""
    d = _check_int("tridiag_x0", "d", d)
    x0 = np.zeros(d)
    if not zero:
        x0[0] = math.sqrt(d)
    return x0
