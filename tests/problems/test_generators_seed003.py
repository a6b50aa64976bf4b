"""Seed 003 generators: Alg. 5 (λ_min(Ā) = λ exactly; L_± controlled by s alone) and Alg. 6
(s controls the spread of the L_i), checked against dense float64 eigendecompositions."""

import numpy as np
import pytest

from jcomp.problems import (
    hessian_variance_quadratic,
    quadratic_constants,
    smoothness_spread_quadratic,
    tridiag_eigenvalues,
    tridiag_x0,
)


def _dense(problem):
    return np.asarray(problem.to_dense().A)


@pytest.mark.parametrize("s", [0.0, 0.5, 1.0])
def test_alg5_shift_hits_lambda_and_matches_dense(s):
    lam = 1e-3
    p = hessian_variance_quadratic(8, d=12, s=s, lam=lam, seed=3)
    A = _dense(p)
    consts, Abar = quadratic_constants(A)
    assert np.linalg.eigvalsh(Abar).min() == pytest.approx(lam, rel=1e-9, abs=1e-14)
    assert float(p.constants.mu) == pytest.approx(lam, rel=1e-9, abs=1e-14)
    for k in ("L", "L_plus", "L_A", "L_B", "mu"):
        assert float(getattr(p.constants, k)) == pytest.approx(consts[k], rel=1e-10, abs=1e-13)
    # L_± is a square root: the dense eigvalsh of (1/n)ΣA_i² − Ā² rounds at eps·L², so compare
    # squares (for s = 0 the dense value is √(rounding) ≈ 1e-8, the structured one exactly 0)
    L2 = consts["L_plus"] ** 2
    assert float(p.constants.L_pm) ** 2 == pytest.approx(consts["L_pm"] ** 2, abs=1e-13 * L2)
    # the structure is A_i = (L_s ν_i/4)T + τI with b_i on e_1 only
    b = np.asarray(p.b)
    assert np.all(b[:, 1:] == 0)


def test_alg5_hessian_variance_depends_on_s_only():
    base = hessian_variance_quadratic(16, d=32, s=0.7, lam=1e-6, seed=1)
    other_lam = hessian_variance_quadratic(16, d=32, s=0.7, lam=0.3, seed=1)
    assert float(other_lam.constants.L_pm) == pytest.approx(float(base.constants.L_pm), rel=1e-12)
    # s = 0: every worker has the same Hessian; otherwise L_± = std(c)·‖T‖ (structured form)
    assert float(hessian_variance_quadratic(16, d=32, s=0.0, seed=1).constants.L_pm) == 0.0
    c = np.asarray(base.c)
    expected = c.std() * tridiag_eigenvalues(32)[-1]
    assert float(base.constants.L_pm) == pytest.approx(expected, rel=1e-12)
    assert float(base.constants.L_pm) > 0


def test_alg6_spread():
    flat = smoothness_spread_quadratic(10, d=16, s=0.0, lam=1e-6, seed=0)
    L_i = np.asarray(flat.constants.L_i)
    assert np.sqrt(np.mean(L_i**2)) == pytest.approx(L_i.mean(), rel=1e-14)  # L_QM = L_AM
    gaps = []
    for s in (0.5, 1.0, 2.0, 4.0):
        L_i = np.asarray(smoothness_spread_quadratic(10, d=16, s=s, seed=0).constants.L_i)
        gaps.append(np.sqrt(np.mean(L_i**2)) - L_i.mean())
    assert all(g > 0 for g in gaps) and gaps == sorted(gaps)  # grows with s
    p = smoothness_spread_quadratic(5, d=16, s=1.0, lam=1e-2, seed=2)
    consts, _ = quadratic_constants(_dense(p))
    np.testing.assert_allclose(np.asarray(p.constants.L_i), consts["L_i"], rtol=1e-12)
    assert float(p.constants.mu) >= 1e-2 * (1 - 1e-12)


def test_x0_and_bad_input():
    assert np.array_equal(tridiag_x0(4), [2.0, 0, 0, 0])
    assert np.array_equal(tridiag_x0(4, zero=True), np.zeros(4))
    with pytest.raises(ValueError, match="s must be a real number"):
        hessian_variance_quadratic(4, d=8, s="big")
    with pytest.raises(ValueError, match="L_s must be > 0"):
        hessian_variance_quadratic(4, d=8, L_s=0.0)
    with pytest.raises(ValueError, match="mean_i ν_i\\^s .* ≤ 0"):
        hessian_variance_quadratic(2, d=8, s=1e6, seed=0)  # this draw has mean ν^s < 0
    with pytest.raises(ValueError, match="lam must be"):
        smoothness_spread_quadratic(4, d=8, lam=-1.0)
