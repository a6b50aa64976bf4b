"""Gradient-difference family (spec ALGORITHMS.md §5.1; seeds 001, 002): generalized DIANA,
Rand-DIANA, DCGD-SHIFT/FIXED, DCGD-STAR, GDCI, VR-GDCI and the DCGD/DIANA theory options.

Exact convergence (float64, ‖x − x*‖²/‖x⁰ − x*‖² < 1e-20) uses step counts derived from each
theorem's rate with a Markov margin of 1e3 (P(V_N > 1e3·E V_N) ≤ 1e-3); VR-GDCI, which has no
surviving theorem, uses the exact second moment of its iterates on the quadratic (a linear
recursion, itself checked against Monte Carlo). Plateaus are checked by Monte Carlo over
independent keys against the theorem's bound (above) and a derived noise floor (below), with
tolerances from the standard error (tests/mc.py). Per-step bits are checked on the same runs
(compilation dominates: each algorithm is compiled once or twice).
"""

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from algorithm_helpers import (
    STEPS,
    assert_same_iterates,
    run_steps,
    small_problem,
    x0_for,
)
from mc import assert_mean_at_most, assert_mean_equals

from jcomp.algorithms import dcgd_theory, diana, diana_theory
from jcomp.algorithms._gdci import gdci, gdci_theory, vr_gdci, vr_gdci_theory
from jcomp.algorithms._rand_diana import rand_diana, rand_diana_theory
from jcomp.algorithms._shifted import (
    dcgd_fixed,
    dcgd_shift,
    dcgd_shift_theory,
    dcgd_star,
    dcgd_star_theory,
)
from jcomp.compressors import identity, index_bits, induced, rand_k, top_k
from jcomp.problems import Constants, quadratic

TARGET = 1e-20  # ‖x − x*‖² / ‖x⁰ − x*‖²
MARGIN = 1e3
MC_KEYS = 256
K = 2  # RandK / TopK parameter on the shared problem (n = 4, d = 8): ω = d/K − 1 = 3
Q_BITS = (K * (32 + index_bits(8)), 32 * K, K)  # RandK(2) or TopK(2) message at d = 8


# ------------------------------------------------------------------------------ helpers


def _setup():
    problem = small_problem()
    return problem, x0_for(problem)


def _np64(a):
    return np.asarray(a, dtype=np.float64)


def _e0(problem, x0):
    return float(np.sum((_np64(x0) - _np64(problem.x_star)) ** 2))


def _rel(problem, x0, xs):
    """‖x^t − x*‖²/‖x⁰ − x*‖² of stacked iterates."""
    return np.sum((_np64(xs) - _np64(problem.x_star)) ** 2, axis=-1) / _e0(problem, x0)


def _grads_star(problem):
    return _np64(problem.worker_grads(problem.broadcast(problem.x_star)))


def _steps_for(rate, v0_over_e0):
    """Smallest N with MARGIN·rate^N·V0 ≤ TARGET·e0."""
    return math.ceil(math.log(MARGIN * v0_over_e0 / TARGET) / -math.log(rate))


def _sq_dists(alg, problem, x0, key, steps):
    """‖x^t − x*‖², t = 1..steps (scan_run's keys, without stacking the states)."""
    key_init, key_steps = jax.random.split(key)
    state = alg.init(key_init, problem, x0)

    def body(state, t):
        state, _ = alg.step(jax.random.fold_in(key_steps, t), state, problem)
        return state, jnp.sum((state.x - problem.x_star) ** 2)

    return jax.lax.scan(body, state, jnp.arange(steps))[1]


@partial(jax.jit, static_argnames="steps")
def mc_sq_dists(alg, problem, x0, keys, steps):
    """(keys, steps): independent runs, one compiled program (``lax.map`` over the keys: a vmap
    of the RandK draws compiles about twice as slowly)."""
    return jax.lax.map(lambda k: _sq_dists(alg, problem, x0, k, steps), keys)


def _mc_keys(seed):
    return jax.random.split(jax.random.key(seed), MC_KEYS)


def _assert_mean_at_least(samples, bound):
    assert_mean_at_most(-np.asarray(samples), -bound)


def _assert_cost(cost, bits, bits_noidx, coords):
    expected = (bits, bits_noidx, coords)
    for name, a, v in zip(("bits", "bits_noidx", "coords"), cost, expected, strict=True):
        a = np.asarray(a)
        np.testing.assert_array_equal(a, np.broadcast_to(v, a.shape), err_msg=name)


def _assert_costs(alg, problem, info, up):
    """Uplink ``up`` = (bits, bits_noidx, coords) per worker per step, downlink one 32d
    broadcast, no setup traffic."""
    d = problem.d
    _assert_cost(info.up, *up)
    _assert_cost(info.down, 32 * d, 32 * d, d)
    assert np.asarray(info.up.bits).shape[-1] == problem.n
    setup = alg.setup(problem)
    _assert_cost(setup.up, 0, 0, 0)
    _assert_cost(setup.down, 0, 0, 0)


def _noise_floor(problem, scale, omega, transition, residual_A, residual_b, steps):
    """Lower bound on E‖e_k‖² for ``e⁺ = T e + scale·ξ̄``, ``T`` symmetric, ξ̄ the mean of n
    independent RandK errors of v_i = residual_A[i] x − residual_b[i] (U(ω) with equality):
    ``E‖ξ̄‖² = (ω/n)(1/n)Σ‖v_i‖² ≥ (ω/n)v_min``, v_min = min_x (1/n)Σ‖v_i‖² (least squares), and
    ``‖Te‖ ≥ σ‖e‖``, σ = min |eig T|, so E‖e_k‖² ≥ scale²(ω/n)v_min(1 − σ^{2k})/(1 − σ²)."""
    n, d = problem.n, problem.d
    A = residual_A.reshape(n * d, d)
    b = residual_b.reshape(n * d)
    sol = np.linalg.lstsq(A, b, rcond=None)[0]
    v_min = float(np.sum((A @ sol - b) ** 2)) / n
    s2 = float(np.min(np.abs(np.linalg.eigvalsh(transition)))) ** 2
    return scale**2 * (omega / n) * v_min * (1 - s2**steps) / (1 - s2)


def _randk_cov_coeffs(d, k):
    """Cov(RandK(v)) = c1·vvᵀ + c2·Diag(v²) (uniform k-subset without replacement, scaled d/k)."""
    c1 = -(d - k) / (k * (d - 1))
    c2 = (d - k) / k * d / (d - 1)
    return c1, c2


# -------------------------------------------------------------- generalized DIANA (eq. 10)


def test_diana_with_contractive_reaches_x_star():
    """C = TopK, Q = RandK: Thm 3 (reconstructed, spec §5.1) with δ = K/d. The same run checks
    the uplink (C's message + Q's message per step) and that it equals DIANA with the induced
    compressor ``induced(C, Q)`` (same keys, same iterates and costs)."""
    problem, x0 = _setup()
    n, d = problem.n, problem.d
    Q, C = rand_k(K), top_k(K)
    params = diana_theory(problem, Q, C)
    gamma, alpha = params["step_size"], params["alpha"]
    omega, delta = Q.omega(d, n), C.delta(d)
    assert alpha == pytest.approx(1 / (1 + omega * (1 - delta)), rel=1e-14)
    mu = float(problem.constants.mu)
    M = 4 * omega / (n * alpha)
    rate = max(1 - gamma * mu, 1 - alpha + 2 * omega / (n * M))
    # V = ‖x − x*‖² + Mγ²(1/n)Σ max(1, ω)‖h_i − ∇f_i(x*)‖² ≥ ‖x − x*‖² (the seed weights the
    # shift term by ω_i, the spec does not; the larger weight bounds both), h_i⁰ = 0
    e0 = _e0(problem, x0)
    zeta2 = float(np.mean(np.sum(_grads_star(problem) ** 2, axis=1)))
    v0 = e0 + M * gamma**2 * max(1.0, omega) * zeta2
    steps = _steps_for(rate, v0 / e0)
    assert steps < 2000
    alg = diana(Q, gamma, alpha, contractive=C)
    key = jax.random.key(0)
    states, info = run_steps(alg, problem, x0, key, steps=steps)
    r = _rel(problem, x0, states.x)
    assert r[-1] < TARGET, (steps, r[-1])
    _assert_costs(alg, problem, info, tuple(2 * v for v in Q_BITS))
    states2, info2 = run_steps(diana(induced(C, Q), gamma, alpha), problem, x0, key, steps=steps)
    for a, b in zip(
        jax.tree.leaves((states, info)), jax.tree.leaves((states2, info2)), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------------------ Rand-DIANA


def test_rand_diana_reaches_x_star():
    """Thm 4 with per-worker p_i: V = ‖x − x*‖² + Mγ²(1/n)Σ‖h_i − ∇f_i(x*)‖² contracts by
    max{1 − γμ, 1 − p_min + 2ω/(nM)}; h_i⁰ = ∇f_i(x⁰). The same run checks the per-worker coins
    (rates p_i by Monte Carlo, and the state refreshes they cause) and the uplink: Q's message
    plus 32d per refresh; setup uplink 32d (h_i⁰)."""
    problem, x0 = _setup()
    n, d = problem.n, problem.d
    Q = rand_k(K)
    omega = Q.omega(d, n)
    assert rand_diana_theory(problem, Q)["p"] == pytest.approx(1 / (omega + 1))
    p = np.array([0.2, 0.25, 0.3, 0.4])
    params = rand_diana_theory(problem, Q, p)
    gamma, M = params["step_size"], params["M"]
    L_i = _np64(problem.constants.L_i)
    L_max = float(problem.constants.L_max)
    assert pytest.approx(4 * omega / (n * p.min())) == M
    assert gamma == pytest.approx(1 / ((1 + 2 * omega / n) * L_max + M * np.max(p * L_i)))
    mu = float(problem.constants.mu)
    rate = max(1 - gamma * mu, 1 - p.min() + 2 * omega / (n * M))
    e0 = _e0(problem, x0)
    G0 = _np64(problem.worker_grads(problem.broadcast(x0)))
    v0 = e0 + M * gamma**2 * float(np.mean(np.sum((G0 - _grads_star(problem)) ** 2, axis=1)))
    steps = _steps_for(rate, v0 / e0)
    assert steps < 2000
    alg = rand_diana(Q, gamma, p)
    states, info = run_steps(alg, problem, x0, jax.random.key(1), steps=steps)
    r = _rel(problem, x0, states.x)
    assert r[-1] < TARGET, (steps, r[-1])

    setup = alg.setup(problem)
    _assert_cost(setup.up, 32 * d, 32 * d, d)
    _assert_cost(setup.down, 0, 0, 0)
    coins = (np.asarray(info.up.coords) - K) / d  # (steps, n) realized refreshes
    assert set(np.unique(coins)) <= {0.0, 1.0}
    coins = coins.astype(bool)
    q_bits, q_noidx, _ = Q_BITS
    _assert_cost(info.up, q_bits + 32 * d * coins, q_noidx + 32 * d * coins, K + d * coins)
    _assert_cost(info.down, 32 * d, 32 * d, d)
    assert_mean_equals(coins.astype(float), p)
    # the coins are the state's refreshes: w_i ← x (where g was taken), h_i = ∇f_i(x)
    xs_prev = np.concatenate([_np64(x0)[None], _np64(states.x)[:-1]])  # (steps, d)
    G_prev = np.einsum("nij,tj->tni", _np64(problem.A), xs_prev) - _np64(problem.b)[None]
    w, h = _np64(states.w), _np64(states.h)
    w_prev = np.concatenate([np.broadcast_to(_np64(x0), w[0].shape)[None], w[:-1]])
    h_prev = np.concatenate([G0[None], h[:-1]])
    np.testing.assert_array_equal(w[coins], np.broadcast_to(xs_prev[:, None], w.shape)[coins])
    np.testing.assert_allclose(h[coins], G_prev[coins], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(w[~coins], w_prev[~coins])
    np.testing.assert_allclose(h[~coins], h_prev[~coins], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------- DCGD-STAR / SHIFT


def test_dcgd_star_reaches_x_star():
    """Thm 2: E‖x^k − x*‖² ≤ (1 − γμ)^k‖x⁰ − x*‖², no neighbourhood (C = TopK; uplink C's and
    Q's messages)."""
    problem, x0 = _setup()
    Q, C = rand_k(K), top_k(K)
    gamma = dcgd_star_theory(problem, Q, C)["step_size"]
    steps = _steps_for(1 - gamma * float(problem.constants.mu), 1.0)
    assert steps < 2000
    alg = dcgd_star(Q, gamma, contractive=C)
    states, info = run_steps(alg, problem, x0, jax.random.key(2), steps=steps)
    r = _rel(problem, x0, states.x)
    assert r[-1] < TARGET, (steps, r[-1])
    _assert_costs(alg, problem, info, tuple(2 * v for v in Q_BITS))


def test_dcgd_shift_with_optimal_shifts_is_dcgd_star():
    """Thm 1 with h_i = ∇f_i(x*): no neighbourhood, so the (1 − γμ)^k rate reaches x*; and
    this is DCGD-STAR with C ≡ 0 (seed 002 Table 2), iterate for iterate (same keys)."""
    problem, x0 = _setup()
    Q = rand_k(K)
    h_star = _grads_star(problem)
    params = dcgd_shift_theory(problem, Q, h_star)
    gamma = params["step_size"]
    assert params["neighbourhood"] == 0.0
    assert gamma == dcgd_theory(problem, Q)["step_size"]
    steps = _steps_for(1 - gamma * float(problem.constants.mu), 1.0)
    assert steps < 2000
    key = jax.random.key(7)
    alg = dcgd_fixed(Q, gamma, h_star)
    states, info = run_steps(alg, problem, x0, key, steps=steps)
    r = _rel(problem, x0, states.x)
    assert r[-1] < TARGET, (steps, r[-1])
    _assert_costs(alg, problem, info, Q_BITS)
    star = run_steps(dcgd_star(Q, gamma), problem, x0, key, steps=steps)[0].x
    assert_same_iterates(star[:STEPS], states.x[:STEPS])


def test_dcgd_star_lagged_form():
    """star="lagged" (literal Alg. 1): m_i = Q_i(∇f_i(x^k) − h_i^k) with
    h_i^{k+1} = h_i* + C(∇f_i(x^k) − h_i*), h_i⁰ = h_i*; uplink C's and Q's messages."""
    problem, x0 = _setup()
    Q, C = rand_k(K), top_k(K)
    alg = dcgd_star(Q, 0.05, C, "lagged")
    states, info = run_steps(alg, problem, x0, jax.random.key(5), steps=STEPS)
    h_star = _grads_star(problem)
    xs_prev = np.concatenate([_np64(x0)[None], _np64(states.x)[:-1]])
    G_prev = np.einsum("nij,tj->tni", _np64(problem.A), xs_prev) - _np64(problem.b)[None]
    R = G_prev - h_star[None]  # TopK is deterministic: recompute C(∇f_i(x^k) − h_i*)
    idx = np.argsort(-np.abs(R), axis=-1, kind="stable")[..., :K]
    kept = np.zeros_like(R)
    np.put_along_axis(kept, idx, np.take_along_axis(R, idx, -1), -1)
    np.testing.assert_allclose(_np64(states.h), h_star[None] + kept, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        _np64(states.h_bar), np.mean(_np64(states.h), axis=1), rtol=1e-12, atol=1e-12
    )
    assert np.all(np.isfinite(_np64(states.x)))
    _assert_costs(alg, problem, info, tuple(2 * v for v in Q_BITS))


PLATEAU_STEPS = 128


def test_dcgd_fixed_plateau():
    """Thm 1: E‖x^k − x*‖² ≤ (1 − γμ)^k‖x⁰ − x*‖² + (2γ/μ)(1/n)Σ(ω/n)‖∇f_i(x*) − h_i‖², and above
    the derived noise floor (`_noise_floor`) of e⁺ = (I − γĀ)e − γξ̄, v_i = A_i x − b_i − h_i."""
    problem, x0 = _setup()
    n, d = problem.n, problem.d
    Q = rand_k(K)
    shifts = 0.5 * _grads_star(problem) + 0.1  # neither 0 nor optimal
    params = dcgd_shift_theory(problem, Q, shifts)
    gamma, nbhd = params["step_size"], params["neighbourhood"]
    mu, omega = float(problem.constants.mu), Q.omega(d, n)
    expected_nbhd = (
        (2 * gamma / mu)
        * (omega / n)
        * np.mean(np.sum((_grads_star(problem) - shifts) ** 2, axis=1))
    )
    assert nbhd == pytest.approx(expected_nbhd, rel=1e-12)
    alg = dcgd_shift(Q, gamma, shifts)
    samples = np.asarray(mc_sq_dists(alg, problem, x0, _mc_keys(8), steps=PLATEAU_STEPS))[:, -1]
    upper = (1 - gamma * mu) ** PLATEAU_STEPS * _e0(problem, x0) + nbhd
    T = np.eye(d) - gamma * _np64(problem.A_bar)
    A, b = _np64(problem.A), _np64(problem.b)
    lower = _noise_floor(problem, gamma, omega, T, A, b + shifts, PLATEAU_STEPS)
    assert 1e-6 < lower < upper  # a real plateau, far above rounding
    assert_mean_at_most(samples, upper)
    _assert_mean_at_least(samples, lower)


# ------------------------------------------------------------------------------ GDCI


def test_gdci_is_dcgd_with_shifted_compressor():
    """Same keys: x⁺ = x − ηγ(1/n)ΣQ̃_i(∇f_i(x)), Q̃(z) = (1/γ)[x − Q(x − γz)] (seed 002 §3.3),
    at every step of a run; uplink Q's message."""
    problem, x0 = _setup()
    Q = rand_k(K)
    gamma, eta = 0.3, 0.2
    key = jax.random.key(9)
    alg = gdci(Q, gamma, eta)
    states, info = run_steps(alg, problem, x0, key, steps=STEPS)
    _assert_costs(alg, problem, info, Q_BITS)
    xs = states.x
    xs_prev = jnp.concatenate([x0[None], xs[:-1]])
    _, key_steps = jax.random.split(key)  # scan_run's keys: step t uses fold_in(key_steps, t)

    @jax.jit
    def reference(x, t):
        _, key_comp = jax.random.split(jax.random.fold_in(key_steps, t))  # (key_oracle, key_comp)
        X = problem.broadcast(x)
        Z = problem.worker_grads(X)
        Q_tilde = (X - Q(key_comp, X - gamma * Z).values) / gamma
        return x - eta * gamma * jnp.mean(Q_tilde, axis=0)

    ref = jax.vmap(reference)(xs_prev, jnp.arange(STEPS))
    assert_same_iterates(xs, ref)


def test_gdci_plateau():
    """Thm 5 (eq. 14): E‖x^k − x*‖² ≤ (1 − η)^k‖x⁰ − x*‖² + η(2ω/n)(1/n)Σ‖x* − γ∇f_i(x*)‖², and
    above the noise floor of e⁺ = (I − ηγĀ)e + ηξ̄, v_i = (I − γA_i)x + γb_i."""
    problem, x0 = _setup()
    n, d = problem.n, problem.d
    Q = rand_k(K)
    params = gdci_theory(problem, Q)
    gamma, eta, nbhd = params["step_size"], params["eta"], params["neighbourhood"]
    omega = Q.omega(d, n)
    alg = gdci(Q, gamma, eta)
    samples = np.asarray(mc_sq_dists(alg, problem, x0, _mc_keys(10), steps=PLATEAU_STEPS))[:, -1]
    upper = (1 - eta) ** PLATEAU_STEPS * _e0(problem, x0) + nbhd
    T = np.eye(d) - eta * gamma * _np64(problem.A_bar)
    A, b = _np64(problem.A), _np64(problem.b)
    lower = _noise_floor(problem, eta, omega, T, np.eye(d)[None] - gamma * A, -gamma * b, 400)
    assert 1e-6 < lower < upper
    assert_mean_at_most(samples, upper)
    _assert_mean_at_least(samples, lower)


# --------------------------------------------------------------------------- VR-GDCI


def _vr_gdci_second_moment(problem, x0, gamma, eta, alpha, k, steps):
    """Exact E‖x^t − x*‖², t = 0..steps, of VR-GDCI with independent RandK(k) on a quadratic.

    With e = x − x*, D_i = s_i − s_i*, s_i* = x* − γ∇f_i(x*) (so (1/n)Σs_i* = x*) and
    v_i = y_i − s_i = (I − γA_i)e − D_i, m_i = v_i + ξ_i:
    e⁺ = (I − ηγĀ)e + (η/n)Σξ_i, D_i⁺ = (1 − α)D_i + α(I − γA_i)e + αξ_i, with
    Cov(ξ_i | z) = c1 v_iv_iᵀ + c2 Diag(v_i²) independent over i. P = E zzᵀ, z = (e, D_1..D_n),
    then evolves linearly: P⁺ = MPMᵀ + Σ_i B_i Cov_i(P) B_iᵀ."""
    n, d = problem.n, problem.d
    A, A_bar = _np64(problem.A), _np64(problem.A_bar)
    x_star = _np64(problem.x_star)
    N = (n + 1) * d
    I = np.eye(d)
    M = np.zeros((N, N))
    M[:d, :d] = I - eta * gamma * A_bar
    G, B = [], []
    for i in range(n):
        rows = slice((i + 1) * d, (i + 2) * d)
        M[rows, :d] = alpha * (I - gamma * A[i])
        M[rows, rows] = (1 - alpha) * I
        Gi = np.zeros((d, N))
        Gi[:, :d] = I - gamma * A[i]
        Gi[:, rows] = -I
        Bi = np.zeros((N, d))
        Bi[:d] = (eta / n) * I
        Bi[rows] = alpha * I
        G.append(Gi)
        B.append(Bi)
    c1, c2 = _randk_cov_coeffs(d, k)
    e0 = _np64(x0) - x_star
    s_star = x_star[None] - gamma * _grads_star(problem)
    z0 = np.concatenate([e0, (_np64(x0)[None] - s_star).reshape(-1)])
    P = np.outer(z0, z0)
    out = [float(np.trace(P[:d, :d]))]
    for _ in range(steps):
        Pn = M @ P @ M.T
        for Gi, Bi in zip(G, B, strict=True):
            V = Gi @ P @ Gi.T
            Pn += Bi @ (c1 * V + c2 * np.diag(np.diag(V))) @ Bi.T
        P = Pn
        out.append(float(np.trace(P[:d, :d])))
    return np.array(out)


MC_SHORT = 8


def test_vr_gdci_second_moment_matches_monte_carlo():
    """The exact recursion used to derive VR-GDCI's step count agrees with simulation, over the
    first MC_SHORT steps (later, ‖x − x*‖² is heavy-tailed: a product of random matrices, whose
    mean is carried by rare runs, so the sample mean and its standard error are not reliable)."""
    problem, x0 = _setup()
    Q = rand_k(K)
    p = vr_gdci_theory(problem, Q)
    alg = vr_gdci(Q, p["step_size"], p["eta"], p["alpha"])
    exact = _vr_gdci_second_moment(problem, x0, p["step_size"], p["eta"], p["alpha"], K, MC_SHORT)
    samples = np.asarray(mc_sq_dists(alg, problem, x0, _mc_keys(11), steps=MC_SHORT))
    assert_mean_equals(samples, exact[1:])


def test_vr_gdci_reaches_x_star():
    """No theorem survives (seed 002 supplement absent): the step count is the first N with
    MARGIN·E‖x^N − x*‖² ≤ TARGET·‖x⁰ − x*‖², E computed exactly (see above). Uplink Q's
    message; the shifts s_i⁰ = x⁰ cost nothing."""
    problem, x0 = _setup()
    Q = rand_k(K)
    p = vr_gdci_theory(problem, Q)
    assert p["alpha"] == pytest.approx(1 / (1 + Q.omega(problem.d, problem.n)))
    exact = _vr_gdci_second_moment(problem, x0, p["step_size"], p["eta"], p["alpha"], K, 2000)
    hit = np.nonzero(MARGIN * exact <= TARGET * exact[0])[0]
    assert hit.size, "VR-GDCI at the theory parameters does not reach the target in 2000 steps"
    steps = int(hit[0])
    alg = vr_gdci(Q, p["step_size"], p["eta"], p["alpha"])
    states, info = run_steps(alg, problem, x0, jax.random.key(12), steps=steps)
    r = _rel(problem, x0, states.x)
    assert r[-1] < TARGET, (steps, r[-1])
    _assert_costs(alg, problem, info, Q_BITS)
    # the shifts learn the local iterates s_i* = x* − γ∇f_i(x*)
    s_star = _np64(problem.x_star)[None] - p["step_size"] * _grads_star(problem)
    np.testing.assert_allclose(_np64(states.s[-1]), s_star, rtol=1e-8, atol=1e-8)


# ---------------------------------------------------------------- theory, by hand

# n = 2, d = 2: A_1 = diag(1, 2), A_2 = diag(3, 4): Ā = diag(2, 3), L = 3, μ = 2, L_i = (2, 4),
# L_max = 4; b_1 = (1, −2), b_2 = (0.5, 3): b̄ = (0.75, 0.5), x* = (0.375, 1/6),
# ∇f_1(x*) = (−0.625, 7/3) = −∇f_2(x*). RandK(1) at d = 2: ω = 1; TopK(1): δ = 1/2.


def _hand():
    A = np.array([np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])
    b = np.array([[1.0, -2.0], [0.5, 3.0]])
    return quadratic(A, b)


def test_hand_problem():
    p = _hand()
    np.testing.assert_allclose(_np64(p.x_star), [0.375, 1 / 6], rtol=1e-14)
    np.testing.assert_allclose(_grads_star(p), [[-0.625, 7 / 3], [0.625, -7 / 3]], rtol=1e-14)


def test_dcgd_theory_rules():
    p, q = _hand(), rand_k(1)
    assert dcgd_theory(p, q)["step_size"] == pytest.approx(1 / 7, rel=1e-14)
    # Stich Thm 1: γ = 1/(2L(1 + Z²ω/n)); derived Z² = 2λ_max(Ā⁻¹((1/n)ΣA_i²)Ā⁻¹)
    # = 2·max(5/4, 10/9) = 5/2, so γ = 1/(6·(1 + 5/4)) = 1/13.5
    assert dcgd_theory(p, q, rule="stich")["step_size"] == pytest.approx(1 / 13.5, rel=1e-14)
    assert dcgd_theory(p, q, rule="stich", Z2=4.0)["step_size"] == pytest.approx(1 / 18)


def test_dcgd_theory_stich_z2_is_valid():
    """Z² = 2λ_max(...) satisfies (1/n)Σ‖∇f_i(x)‖² ≤ 2ζ_*² + Z²‖∇f(x)‖² (seed 001 eq. 5)."""
    from jcomp.algorithms._dcgd import quadratic_dissimilarity_Z2

    problem, _ = _setup()
    Z2 = quadratic_dissimilarity_Z2(problem)
    zeta2 = 2 * float(np.mean(np.sum(_grads_star(problem) ** 2, axis=1)))
    X = np.random.default_rng(0).standard_normal((200, problem.d)) * 3
    A, b = _np64(problem.A), _np64(problem.b)
    lhs = np.mean(np.sum((np.einsum("nij,tj->tni", A, X) - b) ** 2, axis=2), axis=1)
    rhs = zeta2 + Z2 * np.sum((X @ _np64(problem.A_bar) - _np64(problem.b_bar)) ** 2, axis=1)
    assert np.all(lhs <= rhs * (1 + 1e-12)) and Z2 >= 1


def test_diana_theory_rules():
    p, q, c = _hand(), rand_k(1), top_k(1)
    # Thm 3 with C: α = 1/(1 + ω(1 − δ)) = 2/3, M = 4ω/(nα) = 3,
    # γ = 1/((2/n)ωL_max + (1 + αM)L_max) = 1/(4 + 3·4) = 1/16
    out = diana_theory(p, q, c)
    assert out.pop("contractive") is c
    assert out == pytest.approx({"step_size": 1 / 16, "alpha": 2 / 3}, rel=1e-14)
    # C ≡ 0 with M = 3 (> 2ω/(nα) = 2): α = 1/2, γ = 1/(4 + 2.5·4) = 1/14
    assert diana_theory(p, q, M=3.0)["step_size"] == pytest.approx(1 / 14, rel=1e-14)
    # Stich Thm 5 (L read as L_max = 4): γ = 1/(2·4·(1 + 2ω/n)) = 1/16, α = 1/2
    out = diana_theory(p, q, rule="stich")
    assert (out["step_size"], out["alpha"]) == pytest.approx((1 / 16, 0.5), rel=1e-14)
    # seed-000 code baseline: γ = 1/(L_max(1 + 2ω/n)) = 1/8, α = 1/2
    out = diana_theory(p, q, rule="seed000")
    assert (out["step_size"], out["alpha"]) == pytest.approx((1 / 8, 0.5), rel=1e-14)


def test_dcgd_star_and_shift_theory():
    p, q, c = _hand(), rand_k(1), top_k(1)
    # Thm 2: γ = 1/(L + L_max ω(1 − δ)/n) = 1/(3 + 4·1·(1/2)/2) = 1/4; C ≡ 0: 1/(3 + 2) = 1/5
    out = dcgd_star_theory(p, q, c)
    assert out == {
        "step_size": pytest.approx(0.25, rel=1e-14),
        "contractive": c,
        "star": "contemporaneous",
    }
    assert dcgd_star_theory(p, q)["step_size"] == pytest.approx(0.2, rel=1e-14)
    # Thm 1: γ = 1/7; neighbourhood (2γ/μ)(ω/n)(1/n)Σ‖∇f_i(x*) − h_i‖²:
    # h = 0: (1/7)(1/2)(0.390625 + 49/9); h_i = (∓0.625, 0): (1/7)(1/2)(49/9) = 7/18
    out = dcgd_shift_theory(p, q)
    assert out["step_size"] == pytest.approx(1 / 7, rel=1e-14)
    assert out["neighbourhood"] == pytest.approx((0.390625 + 49 / 9) / 14, rel=1e-13)
    h = np.array([[-0.625, 0.0], [0.625, 0.0]])
    assert dcgd_shift_theory(p, q, h)["neighbourhood"] == pytest.approx(7 / 18, rel=1e-13)


def test_rand_diana_theory():
    p, q = _hand(), rand_k(1)
    # p = 1/(ω+1) = 1/2, M = 2·2ω/(n p) = 4, γ = 1/((1 + 2ω/n)L_max + M·max p_iL_i) = 1/(8 + 8)
    out = rand_diana_theory(p, q)
    assert out == pytest.approx({"step_size": 1 / 16, "p": 0.5, "M": 4.0}, rel=1e-14)
    # per-worker p = (1/4, 1/2): M = 4/(2·1/4) = 8, max p_iL_i = max(1/2, 2) = 2: γ = 1/(8 + 16)
    out = rand_diana_theory(p, q, p=np.array([0.25, 0.5]))
    assert out["step_size"] == pytest.approx(1 / 24, rel=1e-14) and out["M"] == 8.0
    # b = 3: M = 6, γ = 1/(8 + 6·2)
    assert rand_diana_theory(p, q, b=3)["step_size"] == pytest.approx(1 / 20, rel=1e-14)


def test_gdci_theory():
    p, q = _hand(), rand_k(1)
    # η = 1/(L/μ + (2ω/n)(L_max/μ − 1)) = 1/(1.5 + 1) = 0.4,
    # γ = (1 + 2ηω/n)/(η(L + 2L_maxω/n)) = 1.4/(0.4·7) = 0.5,
    # neighbourhood η(2ω/n)(1/n)Σ‖x* − γ∇f_i(x*)‖² = 0.4·½(0.6875² + 1 + 0.0625² + (4/3)²)
    out = gdci_theory(p, q)
    nbhd = 0.4 * 0.5 * (0.6875**2 + 1 + 0.0625**2 + 16 / 9)
    assert out == pytest.approx({"step_size": 0.5, "eta": 0.4, "neighbourhood": nbhd}, rel=1e-13)
    out = vr_gdci_theory(p, q)
    assert out == pytest.approx({"step_size": 0.5, "eta": 0.4, "alpha": 0.5}, rel=1e-13)
    # identity (ω = 0): η = μ/L, ηγ = 1/L: GD's step
    out = gdci_theory(p, identity())
    assert out["eta"] * out["step_size"] == pytest.approx(1 / 3, rel=1e-14)


# ------------------------------------------------------------------------ validation


def test_bad_hyperparameters():
    Q = rand_k(2)
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="dcgd_shift: step_size=.*positive"):
            dcgd_shift(Q, bad, np.zeros((4, 8)))
        with pytest.raises(ValueError, match="dcgd_star: step_size=.*positive"):
            dcgd_star(Q, bad)
        with pytest.raises(ValueError, match="rand_diana: step_size=.*positive"):
            rand_diana(Q, bad, 0.5)
        with pytest.raises(ValueError, match="gdci: step_size=.*positive"):
            gdci(Q, bad, 0.5)
    for bad in (0.0, 1.5, -0.1, math.nan):
        with pytest.raises(ValueError, match=r"rand_diana: p=.*\(0, 1\]"):
            rand_diana(Q, 0.1, bad)
        with pytest.raises(ValueError, match=r"gdci: eta=.*\(0, 1\]"):
            gdci(Q, 0.1, bad)
        with pytest.raises(ValueError, match=r"vr_gdci: eta=.*\(0, 1\]"):
            vr_gdci(Q, 0.1, bad, 0.5)
        with pytest.raises(ValueError, match=r"vr_gdci: alpha=.*\(0, 1\]"):
            vr_gdci(Q, 0.1, 0.5, bad)
    with pytest.raises(ValueError, match=r"rand_diana: p=.*\(0, 1\]"):
        rand_diana(Q, 0.1, np.array([0.5, 0.0]))
    with pytest.raises(ValueError, match="rand_diana: p has shape"):
        rand_diana(Q, 0.1, np.full((2, 2), 0.5))


def test_bad_compressors():
    Q = rand_k(2)
    for make in (
        lambda c: dcgd_shift(c, 0.1, np.zeros((4, 8))),
        lambda c: dcgd_star(c, 0.1),
        lambda c: rand_diana(c, 0.1, 0.5),
        lambda c: gdci(c, 0.1, 0.5),
        lambda c: vr_gdci(c, 0.1, 0.5, 0.5),
    ):
        with pytest.raises(ValueError, match="compressor=.*top_k.*unbiased"):
            make(top_k(2))
        with pytest.raises(TypeError, match="compressor=.*Compressor"):
            make("rand_k")
    # C must be contractive (B(δ)): RandK is not
    with pytest.raises(ValueError, match="diana: contractive=.*rand_k.*contractive"):
        diana(Q, 0.1, 0.5, contractive=rand_k(2))
    with pytest.raises(ValueError, match="dcgd_star: contractive=.*rand_k.*contractive"):
        dcgd_star(Q, 0.1, contractive=rand_k(2))
    with pytest.raises(TypeError, match="diana: contractive=.*Compressor"):
        diana(Q, 0.1, 0.5, contractive="top_k")
    with pytest.raises(ValueError, match="dcgd_star: star='future'.*contemporaneous"):
        dcgd_star(Q, 0.1, star="future")


def test_bad_shifts():
    Q = rand_k(2)
    with pytest.raises(ValueError, match=r"dcgd_shift: shifts has shape \(8,\)"):
        dcgd_shift(Q, 0.1, np.zeros(8))
    with pytest.raises(ValueError, match="dcgd_shift: shifts must be finite"):
        dcgd_shift(Q, 0.1, np.full((4, 8), np.inf))
    with pytest.raises(TypeError, match="dcgd_shift: shifts='zero'"):
        dcgd_shift(Q, 0.1, "zero")
    problem, x0 = _setup()
    alg = dcgd_shift(Q, 0.1, np.zeros((3, 8)))
    with pytest.raises(
        ValueError, match=r"shifts has shape \(3, 8\): expected \(n, d\) = \(4, 8\)"
    ):
        alg.init(jax.random.key(0), problem, x0)


class _Stub:
    """Only sizes and constants matter for the theory rules."""

    def __init__(self, n, d, **constants):
        self.n, self.d = n, d
        self.name = "stub"
        self.x_star = None
        self.constants = Constants(L_i=np.ones(n), L_max=1.0, **constants)


def test_bad_theory_options():
    p, Q = _hand(), rand_k(1)
    with pytest.raises(ValueError, match="dcgd_theory: rule='khirirat'"):
        dcgd_theory(p, Q, rule="khirirat")
    with pytest.raises(ValueError, match="dcgd_theory: rule='stich' needs Z2.*'stub'"):
        dcgd_theory(_Stub(2, 2, L=1.0), Q, rule="stich")
    # γ = 1/(2L(1 + Z²ω/n)) = 1/(2(1 + 1/2))
    assert dcgd_theory(_Stub(2, 2, L=1.0), Q, rule="stich", Z2=1.0)["step_size"] == 1 / 3
    with pytest.raises(ValueError, match="dcgd_theory: Z2=0.5 .*≥ 1"):
        dcgd_theory(p, Q, rule="stich", Z2=0.5)
    with pytest.raises(ValueError, match="diana_theory: rule='x'"):
        diana_theory(p, Q, rule="x")
    with pytest.raises(ValueError, match="diana_theory: contractive=.*rule='stich'"):
        diana_theory(p, Q, top_k(1), rule="stich")
    with pytest.raises(ValueError, match=r"diana_theory: M=2.0 .*M > 2ω/\(nα\) = 2.0"):
        diana_theory(p, Q, M=2.0)
    with pytest.raises(ValueError, match="diana_theory: contractive=.*contractive"):
        diana_theory(p, Q, rand_k(1))
    with pytest.raises(ValueError, match="rand_diana_theory: b=1.0"):
        rand_diana_theory(p, Q, b=1.0)
    with pytest.raises(ValueError, match="dcgd_star_theory: star='x'"):
        dcgd_star_theory(p, Q, star="x")
    with pytest.raises(ValueError, match="gdci_theory: .*mu=0.0.*strongly convex"):
        gdci_theory(_Stub(2, 2, L=1.0, mu=0.0), Q)
    for theory in (dcgd_shift_theory, dcgd_star_theory, rand_diana_theory, gdci_theory):
        with pytest.raises(ValueError, match="compressor=.*unbiased"):
            theory(p, top_k(1))


def test_dcgd_star_needs_x_star():
    singular = quadratic(np.zeros((2, 3, 3)), np.ones((2, 3)))
    assert singular.x_star is None
    alg = dcgd_star(rand_k(1), 0.1)
    with pytest.raises(ValueError, match="dcgd_star: problem 'quadratic' has no known x_star"):
        alg.init(jax.random.key(0), singular, jnp.zeros(3))
