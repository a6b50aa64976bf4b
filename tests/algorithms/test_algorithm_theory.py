"""Theory parameters reproduce the spec's formulas on a problem with hand-computed constants."""

import inspect
import math

import numpy as np
import pytest

from jcomp import compressors
from jcomp.algorithms import (
    dcgd_theory,
    diana_theory,
    ef21_p_theory,
    gd_theory,
    get,
    marina_p_default_p,
    marina_p_theory,
    marina_theory,
    names,
)
from jcomp.compressors import identity, rand_k
from jcomp.problems import Constants, quadratic

# n = 2, d = 2: A_1 = diag(1, 2), A_2 = diag(3, 4), so Ā = diag(2, 3) and by hand
# L = 3, μ = 2, L_i = (2, 4), L_max = 4, L_+² = λ_max(diag(5, 10)) = 10,
# L_±² = λ_max(diag(5, 10) − diag(4, 9)) = 1, L_A = √2·max‖A_i − Ā‖ = √2, L_B = √2·3 = 3√2.
L, MU, L_MAX, L_PLUS2, L_PM2, L_A2, L_B2 = 3.0, 2.0, 4.0, 10.0, 1.0, 2.0, 18.0


def _problem():
    A = np.array([np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])
    b = np.array([[1.0, -2.0], [0.5, 3.0]])
    return quadratic(A, b)


def test_hand_constants():
    c = _problem().constants.to_dict()
    assert c["L"] == pytest.approx(L, rel=1e-14)
    assert c["mu"] == pytest.approx(MU, rel=1e-14)
    assert c["L_max"] == pytest.approx(L_MAX, rel=1e-14)
    assert c["L_plus"] ** 2 == pytest.approx(L_PLUS2, rel=1e-14)
    assert c["L_pm"] ** 2 == pytest.approx(L_PM2, rel=1e-14)
    assert c["L_A"] ** 2 == pytest.approx(L_A2, rel=1e-14)
    assert c["L_B"] ** 2 == pytest.approx(L_B2, rel=1e-14)


def test_gd_theory():
    assert gd_theory(_problem())["step_size"] == pytest.approx(1 / 3, rel=1e-14)


def test_dcgd_theory():
    # ω(rand_1, d = 2) = 1: γ = 1/(L + 2·L_max·ω/n) = 1/(3 + 4) = 1/7
    assert dcgd_theory(_problem(), rand_k(1)) == pytest.approx({"step_size": 1 / 7}, rel=1e-14)
    assert dcgd_theory(_problem(), identity())["step_size"] == pytest.approx(1 / 3, rel=1e-14)


def test_diana_theory():
    # ω = 1: α = 1/2, M = 4ω/(nα) = 4, γ = 1/((2/n)ωL_max + (1 + αM)L_max) = 1/(4 + 12)
    # (diana_theory also passes through the factory's ``contractive`` keyword, None here)
    out = diana_theory(_problem(), rand_k(1))
    assert out.pop("contractive") is None
    assert out == pytest.approx({"step_size": 1 / 16, "alpha": 0.5}, rel=1e-14)
    # identity: α = 1, M = 0, γ = 1/L_max
    out = diana_theory(_problem(), identity())
    assert out.pop("contractive") is None
    assert out == pytest.approx({"step_size": 1 / 4, "alpha": 1.0}, rel=1e-14)


def _marina_gamma(p, A=0.5, B=0.0):
    return 1 / (L + math.sqrt((1 - p) / p * ((A - B) * L_PLUS2 + B * L_PM2)))


def test_marina_theory_fixed_p():
    # rand_1, independent: (A, B) = (ω/n, 0) = (1/2, 0); p = 1/4: γ = 1/(3 + √(3·5))
    out = marina_theory(_problem(), rand_k(1), p=0.25)
    assert out == pytest.approx({"step_size": 1 / (3 + math.sqrt(15)), "p": 0.25}, rel=1e-14)
    assert _marina_gamma(0.25) == pytest.approx(out["step_size"], rel=1e-14)
    assert marina_theory(_problem(), rand_k(1), p=1.0)["step_size"] == pytest.approx(1 / 3)


class _Stub:
    """Only sizes and constants matter for the theory rules."""

    def __init__(self, n, d, **constants):
        self.n, self.d = n, d
        self.constants = Constants(L_i=None, L_max=None, **constants) if constants else None


def test_marina_theory_p_star():
    # p* minimizes [p·32d + (1−p)ζ]/γ(p) (seed 003 D.2.1). n = 100, d = 100, rand_50: ω = 1,
    # (A, B) = (1/100, 0), ζ = 50(32 + 7) = 1950 bits; L = L_+ = 1, L_± = 1/2: an interior optimum
    problem = _Stub(100, 100, L=1.0, L_plus=1.0, L_pm=0.5)
    out = marina_theory(problem, rand_k(50))
    grid = np.linspace(1e-5, 1.0, 200001)
    gammas = 1 / (1 + np.sqrt((1 - grid) / grid * 0.01))
    cost = (grid * 3200 + (1 - grid) * 1950) / gammas
    p_grid = grid[np.argmin(cost)]
    assert 0.05 < p_grid < 0.5
    assert out["p"] == pytest.approx(p_grid, abs=1e-4)
    assert out["step_size"] == pytest.approx(1 / (1 + math.sqrt((1 - out["p"]) / out["p"] * 0.01)))
    obj = (out["p"] * 3200 + (1 - out["p"]) * 1950) / out["step_size"]
    assert obj <= cost.min() * (1 + 1e-9)
    # on the hand problem (rand_1 at d = 2, ζ = 33) GD is optimal: p* = 1
    out = marina_theory(_problem(), rand_k(1))
    assert out == pytest.approx({"step_size": 1 / 3, "p": 1.0}, rel=1e-14)


def test_marina_p_theory_rand_k():
    # rand_1: ω = 1, θ = ω/n = 1/2, default p = K/d = 1/2;
    # ωL_A² + θL_B² = 2 + 9 = 11: D.2 γ = 1/(3 + √(11/p)), D.1 γ = 1/(3 + √(11(1/p − 1)))
    out = marina_p_theory(_problem(), rand_k(1))
    expected = {"step_size": 1 / (3 + math.sqrt(22)), "p": 0.5, "step_size_d1": 1 / (3 + 11**0.5)}
    assert out == pytest.approx(expected, rel=1e-14)
    out = marina_p_theory(_problem(), rand_k(1), p=0.25)
    assert out["step_size"] == pytest.approx(1 / (3 + math.sqrt(44)), rel=1e-14)
    assert out["step_size_d1"] == pytest.approx(1 / (3 + math.sqrt(33)), rel=1e-14)


def test_marina_p_theory_identity_is_gd():
    out = marina_p_theory(_problem(), identity())
    assert out == pytest.approx({"step_size": 1 / 3, "p": 1.0, "step_size_d1": 1 / 3}, rel=1e-14)


def test_marina_p_theory_perm_k():
    perm = compressors.perm_k()
    # d = n = 2: ω = n − 1 = 1, θ = 0, p = max(1, ⌊d/n⌋)/d = 1/2: γ = 1/(L + L_A√(ω/p)) = 1/5
    out = marina_p_theory(_problem(), perm)
    assert out == pytest.approx(
        {"step_size": 1 / (3 + 2), "p": 0.5, "step_size_d1": 1 / (3 + math.sqrt(2))}, rel=1e-14
    )


@pytest.mark.parametrize(
    ("n", "d", "p"), [(10, 300, 1 / 10), (7, 300, 42 / 300), (1000, 300, 1 / 300)]
)
def test_marina_p_default_p_perm_k(n, d, p):
    # K = max(1, ⌊d/n⌋), p = K/d (seed 004 L3440; EXPERIMENTS §6), PermK included
    assert marina_p_default_p(_Stub(n, d), compressors.perm_k()) == pytest.approx(p, rel=1e-14)


def test_marina_p_default_p_rand_k():
    assert marina_p_default_p(_Stub(10, 300), rand_k(30)) == pytest.approx(0.1, rel=1e-14)
    assert marina_p_default_p(_Stub(10, 300), identity()) == 1.0


def test_ef21_p_theory():
    assert ef21_p_theory(_problem(), identity())["step_size"] == pytest.approx(1 / 3, rel=1e-14)
    # α = K/d = 1/2, r = √(1 − α): γ = 1/(L(1 + r/(1 − r))) = (1 − r)/L
    r = math.sqrt(0.5)
    out = ef21_p_theory(_problem(), compressors.top_k(1))
    assert out["step_size"] == pytest.approx((1 - r) / 3, rel=1e-13)
    # unscaled SameRandK is B(K/d) too
    out = ef21_p_theory(_problem(), compressors.same_rand_k(1, scaled=False))
    assert out["step_size"] == pytest.approx((1 - r) / 3, rel=1e-13)


def test_registry_theory_params_build():
    problem = _problem()
    for name in names():
        entry = get(name)
        comp = None if entry.compressor is None else identity()
        params = entry.theory_params(problem, comp)
        # every required keyword of the factory comes from theory; options keep their defaults
        sig = inspect.signature(entry.factory).parameters
        required = {p for p in entry.params if sig[p].default is inspect.Parameter.empty}
        assert required <= set(params) <= set(entry.params), name
        alg = entry.make(comp, **params)
        assert alg.step is not None


def test_marina_theory_perm_k():
    # PermK at d = n = 2: A = B = 1, so γ = 1/(L_− + √(B(1−p)/p)·L_±) (spec §5.3); p = 1/5
    out = marina_theory(_problem(), compressors.perm_k(), p=0.2)
    assert out["step_size"] == pytest.approx(1 / (3 + math.sqrt(4.0) * 1.0), rel=1e-14)


def test_marina_p_default_p_composed_perm_k():
    # PermK∘C_nat keeps PermK's K = max(1, ⌊d/n⌋): p = K/d
    c = compressors.compose(compressors.natural(), compressors.perm_k())
    assert marina_p_default_p(_Stub(1000, 300), c) == pytest.approx(1 / 300, rel=1e-14)
    assert marina_p_default_p(_Stub(10, 300), c) == pytest.approx(1 / 10, rel=1e-14)
