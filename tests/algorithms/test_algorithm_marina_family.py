"""MARINA family (seeds 003, 004; spec ALGORITHMS.md §5.3): MARINA with IQ/CQ/DRIVE/PermK+CQ,
weighted MARINA + ISCC, MARINA-P theory for any P(θ), M3, EF21-P + DCGD, CORE-GD.

Defining properties: the MARINA bound ``(1/T)Σ_t E‖∇f(x^t)‖² ≤ 2(f(x⁰)−f*)/(γT)`` by Monte Carlo
(vmap over keys, standard-error tolerance), exact convergence at the rate of a PL theorem, M3's
update order against a NumPy reference with the same coins and compressor draws, E ĝ = ∇f for
CORE, theory values against hand computation, per-step bits against spec §3.
"""

import math
from functools import partial

import jax
import numpy as np
import pytest
from algorithm_helpers import (
    STEPS,
    assert_same_iterates,
    quadratic,
    random_spd,
    rel_dist,
    run_steps,
    small_problem,
    x0_for,
)
from mc import assert_mean_at_most, assert_mean_equals

from jcomp.algorithms import marina, marina_p_theory, marina_theory
from jcomp.algorithms._core_gd import core_gd, core_gd_theory
from jcomp.algorithms._ef21_p import ef21_p, ef21_p_dcgd, ef21_p_dcgd_theory
from jcomp.algorithms._m3 import m3, m3_theory
from jcomp.algorithms._marina import marina_p_star
from jcomp.algorithms._weighted_marina import (
    importance_weights,
    weighted_iscc,
    weighted_marina,
    weighted_marina_theory,
    weighted_smoothness,
)
from jcomp.compressors import (
    compose,
    core,
    cq,
    drive,
    identity,
    index_bits,
    iq,
    iscc,
    natural,
    perm_k,
    perm_k_cq,
    rand_k,
    top_k,
)
from jcomp.problems import Constants

TARGET = 1e-20  # ‖x − x*‖² / ‖x⁰ − x*‖²
MARGIN = 1e3  # Markov: P(V_T > 1e3·E V_T) ≤ 1e-3
N_KEYS = 128  # Monte Carlo runs for the MARINA bound


# ---------------------------------------------------------------------------------------------
# problems


def _problem():
    return small_problem()  # n = 4, d = 8, heterogeneous, all L_i = 10


def _weighted_problem():
    """n = 4, d = 8 with spread L_i = 10·(1/4, 1/2, 1, 2), so q_i = L_i/ΣL_j is not uniform."""
    rng = np.random.default_rng(7)
    scale = np.array([0.25, 0.5, 1.0, 2.0])
    A = np.stack([s * random_spd(rng, 8, 1.0, 10.0) for s in scale])
    return quadratic(0.5 * (A + np.swapaxes(A, 1, 2)), rng.standard_normal((4, 8)))


def _interpolating_problem():
    """Heterogeneous A_i with b_i = A_i x̄ for one x̄: ∇f_i(x*) = 0 for every i."""
    rng = np.random.default_rng(11)
    A = np.stack([random_spd(rng, 8, 1.0, 10.0) for _ in range(4)])
    A = 0.5 * (A + np.swapaxes(A, 1, 2))
    xbar = rng.standard_normal(8)
    return quadratic(A, A @ xbar)


def _hand_problem():
    """n = 2, d = 2 (as test_algorithm_theory): A_1 = diag(1, 2), A_2 = diag(3, 4); L = 3, μ = 2,
    L_i = (2, 4), L_+² = 10, L_±² = 1, L_A² = 2, L_B² = 18."""
    A = np.array([np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])
    return quadratic(A, np.array([[1.0, -2.0], [0.5, 3.0]]))


class _Stub:
    """Only sizes and constants matter for the theory rules."""

    def __init__(self, n, d, **c):
        self.n, self.d = n, d
        c.setdefault("L_i", None)
        c.setdefault("L_max", None)
        self.constants = Constants(**c)


def _gap(problem, x0):
    return float(problem.loss(x0) - problem.f_star)


def _pl_steps(gamma, problem):
    """Steps for ‖x − x*‖²/‖x⁰ − x*‖² ≤ TARGET from E[Φ_T] ≤ (1 − γμ)^T Φ_0 with
    Φ_0 = f(x⁰) − f* ≤ L‖x⁰ − x*‖²/2 and ‖x − x*‖² ≤ 2Φ/μ, Markov margin MARGIN."""
    L, mu = float(problem.constants.L), float(problem.constants.mu)
    return math.ceil(math.log(MARGIN * (L / mu) / TARGET) / -math.log(1 - gamma * mu))


# ---------------------------------------------------------------------------------------------
# drivers: one compile per algorithm/compressor


@partial(jax.jit, static_argnames="steps")
def _batch_run(alg, problem, x0, keys, steps):
    return jax.vmap(lambda k: run_steps.__wrapped__(alg, problem, x0, k, steps))(keys)


def _grad_norms(problem, x0, xs):
    """‖∇f(x^t)‖² for t = 0..T−1 from the states after steps 1..T (xs: (K, T, d))."""
    xs = np.asarray(xs)
    prev = np.concatenate([np.broadcast_to(np.asarray(x0), (xs.shape[0], 1, xs.shape[2])), xs], 1)
    prev = prev[:, :-1]
    G = prev @ np.asarray(problem.A_bar).T - np.asarray(problem.b_bar)
    return np.sum(G**2, axis=-1)  # (K, T)


def _assert_marina_bound(problem, x0, gamma, states):
    norms = _grad_norms(problem, x0, states.x).mean(axis=1)  # (K,) (1/T)Σ_t ‖∇f(x^t)‖²
    bound = 2 * _gap(problem, x0) / (gamma * STEPS)
    assert_mean_at_most(norms, bound)
    return norms.mean(), bound


def _assert_cost(cost, bits, bits_noidx, coords):
    for name, a, v in zip(
        ("bits", "bits_noidx", "coords"), cost, (bits, bits_noidx, coords), strict=True
    ):
        a = np.asarray(a)
        np.testing.assert_array_equal(a, np.broadcast_to(v, a.shape), err_msg=name)


# ---------------------------------------------------------------------------------------------
# MARINA with IQ / CQ / DRIVE / PermK+CQ

# The compressors run as the registry cases (paper constants for IQ/CQ/PermK+CQ); the step uses
# their exact (provable) AB constants (spec §4: MC tests never use the paper constants).
# DRIVE with the Haar rotation (unbiased, ω ≤ π/2 − 1).
MC_COMPRESSORS = {
    "cq": (cq(), cq(ab_mode="exact"), 8 + 32, 9),
    "iq": (iq(), iq(ab_mode="exact"), 8 + 32, 9),
    "drive-haar": (drive("haar"), drive("haar"), 8 + 32, 9),
    "perm_k_cq-b2": (perm_k_cq(b=2), perm_k_cq(b=2, ab_mode="exact"), 4 + 32, 5),
}


# each compressor is one compile (seconds): CQ runs by default, the others with -m slow
MC_PARAMS = [pytest.param(k, marks=pytest.mark.slow) if k != "cq" else k for k in MC_COMPRESSORS]


@pytest.mark.parametrize("name", MC_PARAMS)
def test_marina_bound_convergence_and_bits(name):
    """One Monte Carlo batch (N_KEYS chains) per compressor checks three things.

    * MARINA under PL (Gorbunov et al. 2021, AB form): with
      ``γ = min{1/(L + √(2(1−p)/p·((A−B)L_+² + BL_±²))), p/(2μ)}``,
      ``E[f(x^T) − f*] ≤ (1 − γμ)^T (f(x⁰) − f*)``; T from that rate with the Markov margin,
      applied to the mean over chains (same expectation): mean ‖x^T − x*‖²/‖x⁰ − x*‖² < 1e-20.
    * The non-convex bound ``(1/T)Σ_{t<T} E‖∇f(x^t)‖² ≤ 2(f(x⁰) − f*)/(γT)`` (AB-form MARINA
      theorem, g⁰ = ∇f(x⁰); it holds for every γ up to the AB-form step, so for this γ).
    * Uplink bits: 32d on full rounds, the compressor's fixed message otherwise (spec §4);
      downlink 32d; setup 32d uplink; full rounds at rate p.
    """
    problem = _problem()
    x0 = x0_for(problem)
    n, d = problem.n, problem.d
    comp, exact, bits, coords = MC_COMPRESSORS[name]
    A, B = exact.ab(d, n)
    c = problem.constants
    L, L_plus, L_pm, mu = (float(v) for v in (c.L, c.L_plus, c.L_pm, c.mu))
    p = 0.5
    S = (A - B) * L_plus**2 + B * L_pm**2
    gamma = min(1 / (L + math.sqrt(2 * (1 - p) / p * S)), p / (2 * mu))
    assert gamma <= marina_theory(problem, comp, p=p, ab=(A, B))["step_size"]
    steps = _pl_steps(gamma, problem)
    assert steps < 1000
    keys = jax.random.split(jax.random.key(100), N_KEYS)
    states, info = _batch_run(marina(comp, gamma, p), problem, x0, keys, steps=steps)
    # convergence to x*
    xs = np.asarray(states.x)
    x_star = np.asarray(problem.x_star)
    e0 = np.sum((np.asarray(x0) - x_star) ** 2)
    r = np.sum((xs[:, -1] - x_star) ** 2, axis=-1) / e0
    assert r.mean() < TARGET, (steps, r.mean())
    # the non-convex bound
    norms = _grad_norms(problem, x0, xs).mean(axis=1)  # (K,) (1/T)Σ_t ‖∇f(x^t)‖²
    assert_mean_at_most(norms, 2 * _gap(problem, x0) / (gamma * steps))
    # bits per step: the shared coin, read from the state (g_i reset to ∇f_i(x⁺) exactly; only
    # in the first STEPS steps, before the differences Δ_i vanish to rounding near x*)
    g, grads = np.asarray(states.g[:, :STEPS]), np.asarray(states.grads[:, :STEPS])
    full = np.all(g == grads, axis=(2, 3))[..., None]
    _assert_cost(
        [a[:, :STEPS] for a in info.up],
        np.where(full, 32 * d, bits),
        np.where(full, 32 * d, bits),
        np.where(full, d, coords),
    )
    _assert_cost(info.down, 32 * d, 32 * d, d)
    assert_mean_equals(full.reshape(-1).astype(float), p)
    setup = marina(comp, gamma, p).setup(problem)
    _assert_cost(setup.up, 32 * d, 32 * d, d)  # g_i⁰ = ∇f_i(x⁰)
    _assert_cost(setup.down, 0, 0, 0)
    assert setup.up.bits.shape == (n,)


def _marina_gamma(p, A, B, L=3.0, L_plus2=10.0, L_pm2=1.0):
    return 1 / (L + math.sqrt((1 - p) / p * ((A - B) * L_plus2 + B * L_pm2)))


@pytest.mark.parametrize(
    ("comp", "A", "B"),
    [
        (iq(), 2 / (4 * 2), 0.0),  # A_IQ = d/(4n)
        (cq(), 2 / (4 * 4), 0.0),  # A_CQ = d/(4n²), B = 0 even though L_± = 1
        (drive(), (math.pi / 2 - 1) / 2, 0.0),  # independent: ω/n
        (drive("haar"), (math.pi / 2 - 1) / 2, 0.0),
        (perm_k(), 1.0, 1.0),  # d ≥ n: A = B = 1
        (perm_k_cq(b=2), 2 * 2 / (4 * 4), 0.0),  # b·A_CQ
        (perm_k_cq(b=1), 2 / (4 * 4), 0.0),  # = CQ
        (iq(ab_mode="exact"), 1 / 2, 0.0),  # ω/n with ω = d − 1
    ],
    ids=["iq", "cq", "drive", "drive-haar", "perm_k", "perm_k_cq-b2", "perm_k_cq-b1", "iq-exact"],
)
def test_marina_theory_by_hand(comp, A, B):
    """Spec §5.3 on the hand problem (n = d = 2, L = 3, L_+² = 10, L_±² = 1), p = 1/5."""
    out = marina_theory(_hand_problem(), comp, p=0.2)
    assert out == pytest.approx({"step_size": _marina_gamma(0.2, A, B), "p": 0.2}, rel=1e-14)
    if comp.name == "perm_k":  # γ = 1/(L_− + √(B(1−p)/p)·L_±)
        assert out["step_size"] == pytest.approx(1 / (3 + math.sqrt(4.0)), rel=1e-14)


def test_marina_p_star_cq():
    """p* minimizes [p·32d + (1−p)ζ]/γ(p), ζ = d + 32 (1-bit CQ), A_CQ = d/(4n²), B = 0."""
    problem = _Stub(64, 1024, L=1.0, L_plus=1.0, L_pm=0.5)
    out = marina_theory(problem, cq())
    A = 1024 / (4 * 64**2)
    grid = np.linspace(1e-5, 1.0, 200001)
    cost = (grid * 32 * 1024 + (1 - grid) * (1024 + 32)) * (1 + np.sqrt((1 - grid) / grid * A))
    assert out["p"] == pytest.approx(grid[np.argmin(cost)], abs=1e-4)
    assert out["p"] == marina_p_star(problem, cq())
    assert out["step_size"] == pytest.approx(1 / (1 + math.sqrt((1 - out["p"]) / out["p"] * A)))


# ---------------------------------------------------------------------------------------------
# weighted MARINA + ISCC


def test_weighted_smoothness_by_hand():
    """q = L_i/ΣL_j = (1/3, 2/3): (1/n)ΣA_i²/(nq_i) = ½(1.5·diag(1, 4) + 0.75·diag(9, 16))
    = diag(4.125, 9), so L_{+,w}² = 9 and L_{±,w}² = λ_max(diag(0.125, 0)) = 0.125; uniform w
    gives L_+ and L_±."""
    problem = _hand_problem()
    q = importance_weights(problem)
    assert q == pytest.approx((1 / 3, 2 / 3), rel=1e-14)
    lp, lpm = weighted_smoothness(problem, q)
    assert (lp**2, lpm**2) == pytest.approx((9.0, 0.125), rel=1e-13)
    lp, lpm = weighted_smoothness(problem, (0.5, 0.5))
    assert (lp**2, lpm**2) == pytest.approx((10.0, 1.0), rel=1e-13)
    # generic fallback (no matrices): (1/n)ΣL_i²/(nq_i) = L_AM² = 9
    stub = _Stub(2, 2, L=3.0, L_i=np.array([2.0, 4.0]), L_max=4.0)
    assert weighted_smoothness(stub, q) == pytest.approx((3.0, 3.0), rel=1e-14)


def test_weighted_smoothness_structured_matches_dense():
    from jcomp.problems import structured_quadratic

    rng = np.random.default_rng(0)
    sq = structured_quadratic(rng.uniform(0.5, 2.0, 5), rng.standard_normal((5, 6)), tau=0.3)
    q = importance_weights(sq)
    dense = weighted_smoothness(sq.to_dense(), q)
    assert weighted_smoothness(sq, q) == pytest.approx(dense, rel=1e-12)


def test_weighted_marina_theory_by_hand():
    """ISCC(rand_1) with q = (1/3, 2/3), τ = 1: A = ω + 1 = 2, B = 1, so
    γ = 1/(L + √((1−p)/p·(L_{+,w}² + L_{±,w}²))) = 1/(3 + √(4·9.125)) at p = 1/5."""
    problem = _hand_problem()
    comp = weighted_iscc(problem, rand_k(1))
    assert comp.weights == pytest.approx((1 / 3, 2 / 3), rel=1e-14)
    out = weighted_marina_theory(problem, comp, p=0.2)
    assert out == pytest.approx({"step_size": 1 / (3 + math.sqrt(4 * 9.125)), "p": 0.2}, rel=1e-13)
    # a plain collection is weighted AB with uniform w: the MARINA step
    assert weighted_marina_theory(problem, rand_k(1), p=0.2) == pytest.approx(
        marina_theory(problem, rand_k(1), p=0.2), rel=1e-14
    )


def test_weighted_marina_iscc_bound_and_bits():
    """The MARINA bound with the weighted constants (spec §5.3, reconstructed step); only the
    drawn client sends in compressed rounds (τ = 1: one worker pays the base message)."""
    problem = _weighted_problem()
    x0 = x0_for(problem)
    n, d = problem.n, problem.d
    comp = weighted_iscc(problem, rand_k(2))
    assert len(set(comp.weights)) == n  # truly non-uniform
    p = 0.5
    gamma = weighted_marina_theory(problem, comp, p=p)["step_size"]
    alg = weighted_marina(comp, gamma, p)
    keys = jax.random.split(jax.random.key(200), N_KEYS)
    states, info = _batch_run(alg, problem, x0, keys, steps=STEPS)
    _assert_marina_bound(problem, x0, gamma, states)
    coords = np.asarray(info.up.coords)  # (K, T, n)
    full = np.all(coords == d, axis=-1)
    comp_rounds = coords[~full]
    np.testing.assert_array_equal((comp_rounds > 0).sum(axis=-1), 1)  # one drawn client
    np.testing.assert_array_equal(comp_rounds.sum(axis=-1), 2)  # K = 2 coordinates
    bits = np.asarray(info.up.bits)[~full]
    np.testing.assert_array_equal(bits.sum(axis=-1), 2 * (32 + index_bits(d)))
    np.testing.assert_array_equal(np.asarray(info.up.bits)[full], 32 * d)
    _assert_cost(info.down, 32 * d, 32 * d, d)
    assert_mean_equals(full.reshape(-1).astype(float), p)
    # clients are drawn with probabilities q
    drawn = (coords[~full] > 0).astype(float)
    assert_mean_equals(drawn, np.asarray(comp.weights))
    _assert_cost(alg.setup(problem).up, 32 * d, 32 * d, d)


# ---------------------------------------------------------------------------------------------
# MARINA-P for any P(θ) compressor


def test_marina_p_theory_perm_k_natural():
    """PermK∘C_nat at n = d = 2 with its own ω = 9n/8 − 1 = 5/4 and θ = 1/8 (spec §4); p = K/d =
    1/2; ωL_A² + θL_B² = 5/4·2 + 18/8 = 4.75."""
    problem = _hand_problem()
    comp = compose(natural(), perm_k())
    assert comp.omega(2, 2) == pytest.approx(1.25, rel=1e-14)
    assert comp.theta(2, 2) == pytest.approx(0.125, rel=1e-14)
    S = 4.75
    out = marina_p_theory(problem, comp)
    expected = {"step_size": 1 / (3 + math.sqrt(S / 0.5)), "p": 0.5}
    expected["step_size_d1"] = 1 / (3 + math.sqrt(S))
    assert out == pytest.approx(expected, rel=1e-14)
    assert marina_p_theory(problem, comp, rule="d1")["step_size"] == pytest.approx(
        expected["step_size_d1"], rel=1e-14
    )
    # PL (Thm D.10): min{(L + √(2S(1/p − 1)))⁻¹, p/(2μ)}, μ = 2
    for p in (0.5, 0.99, 0.999):
        out = marina_p_theory(problem, comp, p=p, rule="pl")
        want = min(1 / (3 + math.sqrt(2 * S * (1 / p - 1))), p / 4)
        assert out["step_size"] == pytest.approx(want, rel=1e-14)
    assert marina_p_theory(problem, comp, p=0.999, rule="pl", mu=0.01)["step_size"] == (
        pytest.approx(1 / (3 + math.sqrt(2 * S * (1 / 0.999 - 1))), rel=1e-14)
    )
    # overrides: θ = 0 gives the PermK-like rule (L + L_A√(ω/p))⁻¹
    out = marina_p_theory(problem, comp, theta=0.0)
    assert out["step_size"] == pytest.approx(1 / (3 + math.sqrt(2 * 1.25 / 0.5)), rel=1e-14)


# ---------------------------------------------------------------------------------------------
# M3


@partial(jax.jit, static_argnames=("server", "worker"))
def _m3_draws(key_steps, t, p_server, p_worker, DX, DG, server, worker):
    """Step t's coins and compressor outputs on given inputs, with M3's named subkeys."""
    k_cp, k_cd, k_srv, k_wrk, _ = jax.random.split(jax.random.fold_in(key_steps, t), 5)
    c_p = jax.random.bernoulli(k_cp, p_server)
    c_d = jax.random.bernoulli(k_cd, p_worker)
    return c_p, c_d, server(k_srv, DX).values, worker(k_wrk, DG).values


def _m3_reference(problem, x0, key, gamma, p_server, p_worker, beta, server, worker, steps):
    """Seed 004 Alg. 2 in NumPy, in the spec's order, with the same coins and compressor draws
    (the compressors are applied to the NumPy inputs with the step's named subkeys)."""
    A, b = np.asarray(problem.A), np.asarray(problem.b)
    n = problem.n
    grads_of = lambda Z: np.einsum("nij,nj->ni", A, Z) - b
    _, key_steps = jax.random.split(key)
    x = np.asarray(x0)
    w = np.tile(x, (n, 1))
    z = w.copy()
    g_i = grads_of(z)
    out = {"x": [], "w": [], "z": [], "g": [], "c_p": [], "c_d": []}
    for t in range(steps):
        x_new = x - gamma * g_i.mean(axis=0)  # 1.
        DX = np.tile(x_new - x, (n, 1))
        # 2. coins; the draws of C and Q (used below only in compressed rounds)
        c_p, c_d, CX, _ = _m3_draws(key_steps, t, p_server, p_worker, DX, DX, server, worker)
        c_p, c_d = bool(c_p), bool(c_d)
        w_new = np.tile(x_new, (n, 1)) if c_p else w + np.asarray(CX)  # 3.
        z_new = beta * w_new + (1 - beta) * z  # 4. the new w
        DG = grads_of(z_new) - grads_of(z)
        _, _, _, QG = _m3_draws(key_steps, t, p_server, p_worker, DX, DG, server, worker)
        g_new = grads_of(z_new) if c_d else g_i + np.asarray(QG)  # 5.
        x, w, z, g_i = x_new, w_new, z_new, g_new  # 6. g = mean(g_i)
        for k, v in zip(out, (x, w, z, g_i.mean(axis=0), c_p, c_d), strict=True):
            out[k].append(v)
    return {k: np.asarray(v) for k, v in out.items()}


def test_m3_update_order_convergence_and_bits():
    """One run of M3 with its theory parameters (Cor. E.2 p_P, p_D, β; Thm 5.1 γ; PermK server,
    default RandK workers, K = ⌊d/n⌋ = 2):

    * its first steps equal the NumPy reference of Alg. 2 (rtol 1e-12), both coins exercised;
    * it reaches x* in the number of steps of the PL rate form E[Ψ_T] ≤ (1 − γμ)^T Ψ_0 of seed
      004 Thm E.8 (Ψ_0 = f(x⁰) − f*: g⁰ exact, w⁰ = z⁰ = x⁰), Markov margin 1e3. Thm E.8's own
      γ bound (33) is garbled in the seed; Thm 5.1's γ is used, as the spec prescribes;
    * bits: s2w 32d if c_P else PermK's d/n floats; w2s 32d if c_D else RandK's K(32 + ⌈log₂d⌉)
      (indices charged); setup 32d uplink (g_i⁰).
    """
    problem = _problem()
    x0 = x0_for(problem)
    n, d = problem.n, problem.d
    server = perm_k()
    theory = m3_theory(problem, server)
    worker = theory["worker_compressor"]
    assert worker == rand_k(2)
    names = ("step_size", "p_server", "p_worker", "beta")
    params = {k: theory[k] for k in names}
    alg = m3(server, worker_compressor=worker, **params)
    steps = _pl_steps(params["step_size"], problem)
    assert steps < 60000
    key = jax.random.key(5)
    states, info = run_steps(alg, problem, x0, key, steps=steps)
    # convergence
    x_star = np.asarray(problem.x_star)
    e0 = np.sum((np.asarray(x0) - x_star) ** 2)
    assert np.sum((np.asarray(states.x[-1]) - x_star) ** 2) / e0 < TARGET
    # update order
    T = 24
    ref = _m3_reference(problem, x0, key, *params.values(), server, worker, T)
    assert 0 < ref["c_p"].sum() < T and 0 < ref["c_d"].sum() < T  # both branches, both sides
    assert_same_iterates(states.x[:T], ref["x"])
    assert_same_iterates(states.g[:T], ref["g"])
    assert_same_iterates(np.asarray(states.w[:T]).reshape(T, -1), ref["w"].reshape(T, -1))
    assert_same_iterates(np.asarray(states.z[:T]).reshape(T, -1), ref["z"].reshape(T, -1))
    # bits against the realized coins
    cp, cd = ref["c_p"][:, None], ref["c_d"][:, None]
    down = [a[:T] for a in info.down]
    up = [a[:T] for a in info.up]
    _assert_cost(down, np.where(cp, 32 * d, 32 * d // n), np.where(cp, 32 * d, 32 * d // n),
                 np.where(cp, d, d // n))  # fmt: skip
    _assert_cost(up, np.where(cd, 32 * d, 2 * (32 + index_bits(d))), np.where(cd, 32 * d, 64),
                 np.where(cd, d, 2))  # fmt: skip
    setup = alg.setup(problem)
    _assert_cost(setup.up, 32 * d, 32 * d, d)
    _assert_cost(setup.down, 0, 0, 0)


def test_m3_theory_by_hand():
    L, L_A, L_B, L_max = 2.0, 0.5, 3.0, 4.0
    stub = _Stub(100, 1000, L=L, L_A=L_A, L_B=L_B, L_max=L_max)
    out = m3_theory(stub, perm_k(), rand_k(10))
    # PermK ω_P = n − 1 = 99; RandK ω_D = d/K − 1 = 99
    gamma = 1 / (L + 34 * (100 * L_A + 100 ** (2 / 3) * (L_B + L_max)))
    assert out["step_size"] == pytest.approx(gamma, rel=1e-14)
    assert out["p_server"] == pytest.approx(1 / 100, rel=1e-14)
    assert out["p_worker"] == pytest.approx(1 / 100, rel=1e-14)
    assert out["beta"] == pytest.approx((100 / (99 * 99 * 100)) ** (1 / 3), rel=1e-14)
    assert out["theta"] == 0.0
    # default workers: RandK with K = ⌊d/n⌋ = 10, the same
    assert m3_theory(stub, perm_k())["worker_compressor"] == rand_k(10)
    # Thm 5.1 option: p = 1/n, β = n^{−2/3}
    out = m3_theory(stub, perm_k(), rand_k(10), rule="thm_5_1")
    assert (out["p_server"], out["p_worker"]) == pytest.approx((0.01, 0.01), rel=1e-14)
    assert out["beta"] == pytest.approx(100 ** (-2 / 3), rel=1e-14)
    assert out["step_size"] == pytest.approx(gamma, rel=1e-14)
    # β capped at 1; identity server (ω_P = 0) gives β = 1, p_server = 1
    small = m3_theory(_Stub(100, 1000, L=L, L_A=L_A, L_B=L_B, L_max=L_max), identity(), rand_k(500))
    assert small["beta"] == 1.0 and small["p_server"] == 1.0
    # PermK∘C_nat server: ω_P = 9n/8 − 1, θ = 1/8 logged (Cor. E.2 ignores it)
    out = m3_theory(stub, compose(natural(), perm_k()), compose(natural(), rand_k(10)))
    assert out["p_server"] == pytest.approx(1 / (9 * 100 / 8), rel=1e-14)
    assert out["p_worker"] == pytest.approx(1 / (9 / 8 * 100), rel=1e-14)
    assert out["theta"] == pytest.approx(1 / 8, rel=1e-14)


# ---------------------------------------------------------------------------------------------
# EF21-P + DCGD


def test_ef21_p_dcgd_identity_workers_is_ef21_p():
    problem = _problem()
    x0 = x0_for(problem)
    key = jax.random.key(3)
    a = run_steps(ef21_p_dcgd(top_k(2), 0.02, identity()), problem, x0, key, steps=STEPS)[0].x
    b = run_steps(ef21_p(top_k(2), 0.02), problem, x0, key, steps=STEPS)[0].x
    assert_same_iterates(a, b)


def test_ef21_p_dcgd_converges_and_bits():
    """Interpolation (∇f_i(x*) = 0 for all i), so DCGD's noise vanishes at x*. No seed states a
    rate for EF21-P + DCGD: the step count is the (1 − γμ) PL rate of the assumed theory step
    with the Markov margin (the same form as DCGD-STAR's test, spec §5.1), not tuned."""
    problem = _interpolating_problem()
    x0 = x0_for(problem)
    n, d = problem.n, problem.d
    server = top_k(2)
    params = ef21_p_dcgd_theory(problem, server)
    worker = params["worker_compressor"]
    assert worker == compose(natural(), rand_k(2))  # default RandK∘C_nat, K = ⌊d/n⌋
    alg = ef21_p_dcgd(server, **params)
    steps = _pl_steps(params["step_size"], problem)
    assert steps < 20000
    states, info = run_steps(alg, problem, x0, jax.random.key(4), steps=steps)
    x_star = np.asarray(problem.x_star)
    e0 = np.sum((np.asarray(x0) - x_star) ** 2)
    r = np.sum((np.asarray(states.x[-1]) - x_star) ** 2) / e0
    assert r < TARGET, (steps, r)
    # uplink RandK∘C_nat: K indices charged + 9 bits per C_nat value; downlink one TopK message
    _assert_cost(info.up, 2 * (9 + index_bits(d)), 2 * 9, 2)
    _assert_cost(info.down, 2 * (32 + index_bits(d)), 2 * 32, 2)
    assert info.up.bits.shape[-1] == n


def test_ef21_p_dcgd_theory_by_hand():
    problem = _hand_problem()
    r = math.sqrt(0.5)  # TopK(1) at d = 2: α = 1/2
    out = ef21_p_dcgd_theory(problem, top_k(1), rand_k(1))  # DCGD: 1/(L + 2L_maxω/n) = 1/7
    assert out["step_size"] == pytest.approx(min((1 - r) / 3, 1 / 7), rel=1e-13)
    out = ef21_p_dcgd_theory(problem, identity(), rand_k(1))
    assert out["step_size"] == pytest.approx(1 / 7, rel=1e-14)
    out = ef21_p_dcgd_theory(problem, top_k(1), identity())
    assert out["step_size"] == pytest.approx((1 - r) / 3, rel=1e-13)


# ---------------------------------------------------------------------------------------------
# CORE-GD


def test_core_gd_unbiased_and_bits():
    """E ĝ = ∇f(x) (Monte Carlo over step keys); 32m bits (m floats) each way per worker."""
    problem = _problem()
    x0 = x0_for(problem)
    m, gamma = 3, 0.05
    alg = core_gd(core(m), gamma)
    state = alg.init(jax.random.key(0), problem, x0)

    @jax.jit
    def one(keys):
        return jax.vmap(lambda k: alg.step(k, state, problem))(keys)

    new, info = one(jax.random.split(jax.random.key(1), 20000))
    g_hat = (np.asarray(x0)[None] - np.asarray(new.x)) / gamma
    assert_mean_equals(g_hat, np.asarray(problem.grad(x0)))
    _assert_cost(info.up, 32 * m, 32 * m, m)
    _assert_cost(info.down, 32 * m, 32 * m, m)


def test_core_gd_reaches_x_star_and_theory():
    """γ = 1/(L(1 + ω)), ω = (d+1)/m: the descent lemma with E‖ĝ‖² = (1 + ω)‖∇f‖² gives
    E f(x⁺) − f* ≤ (1 − γμ)(f(x) − f*) under μ-strong convexity."""
    problem = _problem()
    x0 = x0_for(problem)
    gamma = core_gd_theory(problem, core(4))["step_size"]
    L = float(problem.constants.L)
    assert gamma == pytest.approx(1 / (L * (1 + 9 / 4)), rel=1e-14)
    assert core_gd_theory(_hand_problem(), core(1)) == pytest.approx({"step_size": 1 / 12})
    steps = _pl_steps(gamma, problem)
    assert steps < 2000
    r = np.asarray(rel_dist(core_gd(core(4), gamma), problem, x0, jax.random.key(2), steps))
    assert r[-1] < TARGET, (steps, r[-1])


# ---------------------------------------------------------------------------------------------
# bad parameters


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: weighted_marina(rand_k(2), -1.0, 0.5), r"weighted_marina: step_size=-1.0"),
        (lambda: weighted_marina(rand_k(2), 0.1, 0.0), r"weighted_marina: p=0.0.*\(0, 1\]"),
        (lambda: weighted_marina(top_k(2), 0.1, 0.5), r"weighted_marina: compressor=.*unbiased"),
        (lambda: m3(perm_k(), 0.1, 0.5, 0.5, 0.0), r"m3: beta=0.0.*\(0, 1\]"),
        (lambda: m3(perm_k(), 0.1, 0.5, 0.5, 1.5), r"m3: beta=1.5.*\(0, 1\]"),
        (lambda: m3(perm_k(), 0.1, 1.2, 0.5, 0.5), r"m3: p_server=1.2.*\(0, 1\]"),
        (lambda: m3(perm_k(), 0.1, 0.5, -0.1, 0.5), r"m3: p_worker=-0.1.*\(0, 1\]"),
        (lambda: m3(top_k(2), 0.1, 0.5, 0.5, 0.5), r"m3: compressor=.*unbiased"),
        (lambda: m3(perm_k(), 0.1, 0.5, 0.5, 0.5, perm_k()), r"m3: worker_compressor=.*indep"),
        (lambda: m3(perm_k(), 0.1, 0.5, 0.5, 0.5, top_k(2)), r"m3: worker_compressor=.*unbiased"),
        (lambda: m3(perm_k(), math.nan, 0.5, 0.5, 0.5), r"m3: step_size=nan"),
        (lambda: ef21_p_dcgd(rand_k(2), 0.1), r"ef21_p_dcgd: compressor=.*contractive"),
        (lambda: ef21_p_dcgd(top_k(2), 0.1, top_k(2)), r"ef21_p_dcgd: worker_compressor=.*unb"),
        (lambda: ef21_p_dcgd(top_k(2), 0.0), r"ef21_p_dcgd: step_size=0.0"),
        (lambda: core_gd(rand_k(2), 0.1), r"core_gd: compressor=.*linear"),
        (lambda: core_gd(perm_k(), 0.1), r"core_gd: compressor=.*linear"),
        (lambda: core_gd(top_k(2), 0.1), r"core_gd: compressor=.*unbiased"),
        (lambda: core_gd(core(2), -0.5), r"core_gd: step_size=-0.5"),
        (lambda: marina(top_k(2), 0.1, 0.5), r"marina: compressor=.*unbiased"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_theory_options():
    problem = _hand_problem()
    with pytest.raises(ValueError, match="marina_p_theory: rule='x'"):
        marina_p_theory(problem, perm_k(), rule="x")
    with pytest.raises(ValueError, match="marina_p_theory: theta=-1.0"):
        marina_p_theory(problem, perm_k(), theta=-1.0)
    with pytest.raises(ValueError, match="marina_p_theory: mu=0.0"):
        marina_p_theory(problem, perm_k(), rule="pl", mu=0.0)
    with pytest.raises(ValueError, match="m3_theory: rule='cor'"):
        m3_theory(problem, perm_k(), rule="cor")
    with pytest.raises(ValueError, match=r"marina_theory: ab=\(1.0, 2.0\)"):
        marina_theory(problem, rand_k(1), p=0.5, ab=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"weighted_marina_theory: p=1.5"):
        weighted_marina_theory(problem, rand_k(1), p=1.5)
    with pytest.raises(ValueError, match="core_gd_theory: compressor=.*linear"):
        core_gd_theory(problem, rand_k(1))
    with pytest.raises(TypeError, match="m3: compressor=.*Compressor"):
        m3("perm_k", 0.1, 0.5, 0.5, 0.5)


def test_iscc_weights_validated_against_n():
    problem = _problem()  # n = 4
    comp = iscc(rand_k(2), weights=(0.5, 0.5))
    with pytest.raises(ValueError, match="iscc: weights has 2 entries"):
        weighted_marina_theory(problem, comp, p=0.5)
