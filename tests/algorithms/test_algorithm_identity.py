"""With identity compressors every registered algorithm is GD, iterate by iterate.

For each name in ``jcomp.algorithms.names()`` the method is built through the registry
(``get(name).make(identity(), step_size=γ, ...)``, with ``identity()`` for every compressor it
takes: server and worker compressors, contractive part and quantizer) and run for ``STEPS``
steps on one small heterogeneous quadratic; its iterates must equal those of plain GD
(``gd(γ_eff)``) to float64 rounding (relative 1e-12 per iterate, never looser). ``γ_eff`` is the
effective step of each reduction (γ for all but the compressed-iterate methods GDCI / VR-GDCI,
which take ηγ). The parameters that the reduction needs (e.g. M3's β = 1) are fixed per case,
with the update rule in a comment; where any value works, a non-trivial one (p < 1, α < 1) is
tested next to the boundary value.

``test_registry_fully_covered`` fails when an algorithm is registered without a case here or an
explicit entry in ``EXCLUDED`` (name → reason), so every new method must state how it reduces
to GD. ``test_check_is_sharp`` shows that the comparison detects a step off by 1e-8, a wrong
effective step and M3's momentum (β < 1).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
import pytest
from algorithm_helpers import STEPS, assert_same_iterates, run_steps, small_problem, x0_for

from jcomp.algorithms import gd, get, names
from jcomp.compressors import identity

#: small_problem()'s sizes (the dcgd-shift shifts below are (N, D) arrays).
N, D = 4, 8


class Case(NamedTuple):
    name: str  # registry name
    params: dict  # factory keywords besides compressor and step_size
    scale: float = 1.0  # γ_eff = scale · γ


ID = identity()  # for the second compressor (contractive part, quantizer, worker side)
_SHIFTS = np.random.default_rng(11).standard_normal((N, D))

CASES: dict[str, Case] = {
    # x ← x − γ(1/n)Σ g_i: the reference itself, built through the registry.
    "gd": Case("gd", {}),
    # x ← x − γ(1/n)Σ Q_i(∇f_i(x)).
    "dcgd": Case("dcgd", {}),
    # g = h + (1/n)ΣΔ_i with Δ_i = ∇f_i(x) − h_i: g = ∇f(x) for any α (and with C = identity,
    # c_i = r_i and m_i = Q(0) = 0, so again Δ_i = r_i).
    "diana alpha=1": Case("diana", {"alpha": 1.0}),
    "diana alpha=0.3": Case("diana", {"alpha": 0.3}),
    "diana alpha=0.3 C=identity": Case("diana", {"alpha": 0.3, "contractive": ID}),
    # g_i⁺ = ∇f_i(x⁺) on full rounds, else g_i + (∇f_i(x⁺) − ∇f_i(x)) = ∇f_i(x⁺): any p.
    "marina p=1": Case("marina", {"p": 1.0}),
    "marina p=0.3": Case("marina", {"p": 0.3}),
    # w_i⁺ = x⁺ either way, so x⁺ = x − γ∇f(w) = x − γ∇f(x): any p.
    "marina-p p=1": Case("marina-p", {"p": 1.0}),
    "marina-p p=0.3": Case("marina-p", {"p": 0.3}),
    # w⁺ = w + C(x⁺ − w) = x⁺.
    "ef21-p": Case("ef21-p", {}),
    # g = h + (1/n)Σ Q_i(∇f_i(x) − h_i) = ∇f(x) for any shifts.
    "dcgd-shift shifts=0": Case("dcgd-shift", {"shifts": np.zeros((N, D))}),
    "dcgd-shift shifts=random": Case("dcgd-shift", {"shifts": _SHIFTS}),
    # contemporaneous: g = (1/n)Σ(h_i* + c_i + m_i) = ∇f(x) (c_i = r_i, m_i = Q(0) with C = id);
    # lagged: g = (1/n)Σ(h_i^k + Q(∇f_i(x) − h_i^k)) = ∇f(x) whatever h_i^k is.
    "dcgd-star contemporaneous": Case("dcgd-star", {}),
    "dcgd-star contemporaneous C=identity": Case("dcgd-star", {"contractive": ID}),
    "dcgd-star lagged": Case("dcgd-star", {"star": "lagged"}),
    "dcgd-star lagged C=identity": Case("dcgd-star", {"star": "lagged", "contractive": ID}),
    # g = (1/n)Σ[h_i + (∇f_i(x) − h_i)] = ∇f(x): any p (scalar or per worker).
    "rand-diana p=1": Case("rand-diana", {"p": 1.0}),
    "rand-diana p=0.3": Case("rand-diana", {"p": 0.3}),
    "rand-diana p=per-worker": Case("rand-diana", {"p": np.array([0.2, 0.5, 0.8, 1.0])}),
    # x⁺ = (1 − η)x + η(1/n)Σ(x − γ∇f_i(x)) = x − ηγ∇f(x): GD with step ηγ.
    "gdci eta=1": Case("gdci", {"eta": 1.0}, 1.0),
    "gdci eta=0.5": Case("gdci", {"eta": 0.5}, 0.5),
    # x⁺ = (1 − η)x + η(s + (1/n)Σ(x − γ∇f_i(x) − s_i)) = x − ηγ∇f(x) (s = (1/n)Σs_i): any α.
    "vr-gdci eta=1 alpha=1": Case("vr-gdci", {"eta": 1.0, "alpha": 1.0}, 1.0),
    "vr-gdci eta=0.5 alpha=0.3": Case("vr-gdci", {"eta": 0.5, "alpha": 0.3}, 0.5),
    # Δ̂_i = C(e_i + g_i) = e_i + g_i, e_i ← 0: the errors stay 0.
    "d-ef-sgd": Case("d-ef-sgd", {}),
    # e_i stays 0 and x ← x − γ(h + (1/n)Σ(g_i − h_i)) = x − γ∇f(x): any α.
    "d-ef-sgd-bc alpha=1": Case("d-ef-sgd-bc", {"alpha": 1.0, "quantizer": ID}),
    "d-ef-sgd-bc alpha=0.3": Case("d-ef-sgd-bc", {"alpha": 0.3, "quantizer": ID}),
    # default quantizer for δ = 1 is the identity too (default_quantizer: K = d)
    "d-ef-sgd-bc alpha=0.3 Q=default": Case("d-ef-sgd-bc", {"alpha": 0.3}),
    # e_i stays 0 and x ← x − γ(1/n)Σ(g_i − h_i + h) = x − γ∇f(x): any α.
    "ec-sgd-diana alpha=1": Case("ec-sgd-diana", {"alpha": 1.0, "quantizer": ID}),
    "ec-sgd-diana alpha=0.3": Case("ec-sgd-diana", {"alpha": 0.3, "quantizer": ID}),
    # g_i ← g_i + (∇f_i(x⁺) − g_i) = ∇f_i(x⁺), and x⁺ = x − γg.
    "ef21": Case("ef21", {}),
    # x ← x − γQ_t(ḡ) with Q_t = identity, in both traffic modes.
    "d-qsgd-sync": Case("d-qsgd-sync", {}),
    "d-qsgd-sync allreduce": Case("d-qsgd-sync", {"allreduce": True}),
    "d-ef-sgd-sync": Case("d-ef-sgd-sync", {}),
    "d-ef-sgd-sync allreduce": Case("d-ef-sgd-sync", {"allreduce": True}),
    # As MARINA with S = identity, the server's g⁺ = g + (1/n)Σ(∇f_i(x⁺) − ∇f_i(x)) = ∇f(x⁺):
    # any p. (Its intended ISCC compressor samples clients at random, so it is never the
    # identity for n > 1; weighted_marina admits any unbiased collection, the identity included.)
    "weighted-marina p=1": Case("weighted-marina", {"p": 1.0}),
    "weighted-marina p=0.3": Case("weighted-marina", {"p": 0.3}),
    # x⁺ = x − γg, w_i⁺ = x⁺ (either coin), z_i⁺ = βw_i⁺ + (1 − β)z_i, g⁺ = (1/n)Σ∇f_i(z_i⁺)
    # (either coin). GD needs β = 1 (z_i⁺ = x⁺); β < 1 is a momentum method. Any p_server,
    # p_worker.
    "m3 beta=1 p=1": Case(
        "m3", {"p_server": 1.0, "p_worker": 1.0, "beta": 1.0, "worker_compressor": ID}
    ),
    "m3 beta=1 p=0.3,0.6": Case(
        "m3", {"p_server": 0.3, "p_worker": 0.6, "beta": 1.0, "worker_compressor": ID}
    ),
    # x⁺ = x − γ(1/n)ΣQ_i(∇f_i(w)), w⁺ = w + C(x⁺ − w) = x⁺: EF21-P = GD.
    "ef21-p-dcgd": Case("ef21-p-dcgd", {"worker_compressor": ID}),
    # ĝ = decode of the averaged projections = ∇f(x) for the identity.
    "core-gd": Case("core-gd", {}),
    # L_i^{1/2}L_i^{†1/2}∇f_i = ∇f_i (∇f_i ∈ range(L_i)): DCGD+ = DCGD and DIANA+ = DIANA
    # (any α); also tests/algorithms/test_algorithm_smoothness_aware.py::test_identity_gives_gd.
    "dcgd+": Case("dcgd+", {}),
    "diana+ alpha=1": Case("diana+", {"alpha": 1.0}),
    "diana+ alpha=0.3": Case("diana+", {"alpha": 0.3}),
}

#: Registered algorithms that do not reduce to GD with identity compressors, name → reason (and
#: the test covering what identity reduction they have). Currently none: every registered
#: method takes the identity for each of its compressors and reduces exactly to GD.
EXCLUDED: dict[str, str] = {}


@pytest.fixture(scope="module")
def setup():
    problem = small_problem()
    assert (problem.n, problem.d) == (N, D)
    # A small step: with γ = 1/L GD reaches x* to rounding within ~30 steps on this problem
    # (κ = L/μ ≈ 2.2), and a check relative to ‖x_t‖ ≈ ‖x*‖ no longer sees the update after that;
    # with γ = 0.1/L, ‖x_t − x*‖ ≥ 0.05‖x⁰ − x*‖ for all STEPS iterates, so every one is checked.
    gamma = 0.1 / float(problem.constants.L)
    return problem, x0_for(problem), jax.random.key(7), gamma


def _make(case: Case, gamma):
    entry = get(case.name)
    compressor = None if entry.compressor is None else identity()
    return entry.make(compressor, step_size=gamma, **case.params)


def _iterates(alg, setup):
    problem, x0, key, _ = setup
    return run_steps(alg, problem, x0, key, steps=STEPS)[0].x


@pytest.mark.parametrize("case", list(CASES))
def test_identity_gives_gd(case, setup):
    c = CASES[case]
    gamma = setup[3]
    ref = _iterates(gd(c.scale * gamma), setup)
    assert_same_iterates(_iterates(_make(c, gamma), setup), ref)


def test_registry_fully_covered():
    covered = {c.name for c in CASES.values()}
    assert not covered & set(EXCLUDED), "a name is both covered and excluded"
    missing = set(names()) - covered - set(EXCLUDED)
    assert not missing, f"registered algorithms without an identity → GD case: {sorted(missing)}"
    unknown = (covered | set(EXCLUDED)) - set(names())
    assert not unknown, f"cases for unregistered names: {sorted(unknown)}"


@pytest.mark.parametrize(
    "case, gamma_eff_scale",
    [
        (Case("gd", {}), 1.0 + 1e-8),  # resolves a relative step error of 1e-8
        (Case("gdci", {"eta": 0.5}), 1.0),  # GDCI's step is ηγ, not γ
        (Case("m3", {"p_server": 1.0, "p_worker": 1.0, "beta": 0.5, "worker_compressor": ID}), 1.0),
    ],
    ids=["gd step 1e-8 off", "gdci step gamma", "m3 beta=0.5"],
)
def test_check_is_sharp(case, gamma_eff_scale, setup):
    """The comparison is not vacuous: a step off by 1e-8 (relative), a wrong effective step, or
    M3 with momentum are detected."""
    gamma = setup[3]
    ref = _iterates(gd(gamma_eff_scale * gamma), setup)
    with pytest.raises(AssertionError, match="max relative deviation"):
        assert_same_iterates(_iterates(_make(case, gamma), setup), ref)
