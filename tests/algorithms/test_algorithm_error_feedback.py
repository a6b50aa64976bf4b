"""Error feedback (seed 001 Alg. 2, 4, 7; EF21) and synchronized linear compressors (Alg. 5–6).

Defining properties, float64:
* the EF virtual sequence ``x^t − x̃^t = (γ/n)Σ_i e_i^t`` (seed 001 eq. 13), exact and stochastic
  oracle with the steps' own oracle keys;
* synchronized compressors aggregate exactly: ``(1/n)Σ_i Q_t(g_i) = Q_t(ḡ)``;
* linear convergence to x* (‖x − x*‖²/‖x⁰ − x*‖² < 1e-20) with step counts from each theorem's
  rate and a Markov margin of 1e3 (not tuned to the runs);
* synchronized D-QSGD with σ > 0 plateaus inside the theorem's neighbourhood (Monte Carlo over
  independent runs, standard-error tolerance) and above a proven lower bound;
* per-step bits equal to spec §3; theory against hand computation; bad input rejected.
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
    hetero_quadratic,
    random_spd,
    rel_dist,
    scan_run,
    small_problem,
    x0_for,
)
from mc import assert_mean_at_most

from jcomp.algorithms._ef import (
    dissimilarity,
    ec_sgd_diana,
    ec_sgd_diana_theory,
    ef21,
    ef21_theory,
    ef_sgd,
    ef_sgd_bc,
    ef_sgd_bc_theory,
    ef_sgd_theory,
)
from jcomp.algorithms._synchronized import (
    ef_sgd_sync,
    ef_sgd_sync_theory,
    qsgd_sync,
    qsgd_sync_theory,
)
from jcomp.compressors import (
    core,
    identity,
    index_bits,
    perm_k,
    rand_k,
    same_rand_k,
    sketch,
    top_k,
)
from jcomp.problems import quadratic, structured_quadratic
from jcomp.problems._oracle import stochastic

TARGET = 1e-20  # ‖x − x*‖² / ‖x⁰ − x*‖²
MARGIN = 1e3  # Markov: P(V_N > 1e3·E V_N) ≤ 1e-3
MAX_STEPS = 30_000


def _np(a):
    return np.asarray(jax.device_get(a), np.float64)


def _e0(problem, x0):
    return float(np.sum((_np(x0) - _np(problem.x_star)) ** 2))


def _zeta_star2(problem):
    return dissimilarity(problem)["zeta_star2"]


def _steps(log_ratio, c):
    """Smallest N with (1 − c)^N ≤ exp(−log_ratio)."""
    n = math.ceil(log_ratio / -math.log1p(-c))
    assert n < MAX_STEPS, n
    return n


def _well_conditioned():
    """Heterogeneous (ζ_* > 0) quadratic with spectra in [1, 2]: small L/μ keeps step counts low."""
    return hetero_quadratic(seed=0, n=4, d=8, lo=1.0, hi=2.0)


def _common_minimizer():
    """ζ = 0: every ∇f_i vanishes at the same x (b_i = A_i x_c)."""
    rng = np.random.default_rng(7)
    A = np.stack([random_spd(rng, 8, 1.0, 2.0) for _ in range(4)])
    A = 0.5 * (A + np.swapaxes(A, 1, 2))
    xc = rng.standard_normal(8)
    return quadratic(A, np.einsum("nij,j->ni", A, xc))


# ---------------------------------------------------------------------------------------------
# Virtual sequence


@partial(jax.jit, static_argnames="parts")
def _identity_sides(alg, base, sigma, x0, key, parts):
    """One compiled program: run STEPS steps on ``stochastic(base, sigma)`` (σ = 0 is the exact
    oracle: the noise is 0·N(0, I)) with the keys of ``scan_run``; each step also evaluates the
    oracle with the step's oracle key (``split(k, parts)[0]``) to build x̃. Returns, for
    t = 1..STEPS, x^t, x̃^t + (γ/n)Σ_i e_i^t and (γ/n)Σ_i e_i^t."""
    problem = stochastic(base, sigma)
    key_init, key_steps = jax.random.split(key)
    gamma = _step_size_of(alg)

    def body(carry, t):
        state, x_tilde = carry
        k = jax.random.fold_in(key_steps, t)
        g = problem.worker_grads(problem.broadcast(state.x), jax.random.split(k, parts)[0])
        state, _ = alg.step(k, state, problem)
        x_tilde = x_tilde - gamma * jnp.mean(g, axis=0)  # x̃^{t+1} = x̃^t − (γ/n)Σ g_i^t
        err = gamma * jnp.mean(state.e, axis=0)  # (γ/n)Σ e_i^{t+1}
        return (state, x_tilde), (state.x, x_tilde + err, err)

    state = alg.init(key_init, problem, x0)
    return jax.lax.scan(body, (state, x0), jnp.arange(STEPS))[1]


IDENTITY_CASES = {
    "ef_sgd": (lambda p: ef_sgd(top_k(2), **_only(ef_sgd_theory(p, top_k(2)))), 2),
    "ef_sgd_bc": (
        lambda p: ef_sgd_bc(top_k(2), **_only(ef_sgd_bc_theory(p, top_k(2), rand_k(2)))),
        3,
    ),
    "ec_sgd_diana": (
        lambda p: ec_sgd_diana(top_k(2), **_only(ec_sgd_diana_theory(p, top_k(2), rand_k(2)))),
        3,
    ),
    "ef_sgd_sync": (
        lambda p: ef_sgd_sync(
            same_rand_k(2, scaled=False),
            **_only(ef_sgd_sync_theory(p, same_rand_k(2, scaled=False))),
        ),
        2,
    ),
}


def _only(params, keys=("step_size", "alpha", "quantizer", "allreduce")):
    return {k: v for k, v in params.items() if k in keys}


@pytest.mark.parametrize("name", list(IDENTITY_CASES))
def test_virtual_sequence_identity(name):
    """Exact (σ = 0) and stochastic (σ = 1) oracle, same keys, one compiled program (vmap)."""
    base = small_problem()
    make, parts = IDENTITY_CASES[name]
    alg = make(base)
    x0 = x0_for(base)
    sides = jax.vmap(_identity_sides, in_axes=(None, None, 0, None, None, None))
    xs, rhs, err = (
        _np(a) for a in sides(alg, base, jnp.array([0.0, 1.0]), x0, jax.random.key(3), parts)
    )
    for s in range(2):
        assert_same_iterates(xs[s], rhs[s])
        # the error term is far above rounding, so the identity is not vacuous
        ratio = np.linalg.norm(err[s], axis=1)[1:] / np.linalg.norm(xs[s], axis=1)[1:]
        assert ratio.min() > 1e-6, ratio.min()
    assert not np.allclose(xs[0], xs[1])  # the noise did enter


def _step_size_of(alg):
    """The bound step size of an Algorithm built by these factories (compressor(s) first)."""
    args = [a for a in alg.step.args if a is not None and not hasattr(a, "describe")]
    return args[0]


# ---------------------------------------------------------------------------------------------
# Synchronized compressors aggregate exactly

SYNC_COMPRESSORS = [
    same_rand_k(3),
    same_rand_k(3, scaled=False),
    sketch(3),
    sketch(3, kind="coordinates", unbiased=True),
    core(2),
    identity(),
]


@partial(jax.jit, static_argnames="comps")
def _aggregates(comps, G, key):
    """For each compressor: ((1/n)Σ_i C(key, g_i), C(key, ḡ)), one compiled program. One call
    per compressor on the n + 1 rows (g_1..g_n, ḡ): a shared compressor's map depends on the key
    only, not on the row count."""
    rows = jnp.concatenate([G, jnp.mean(G, axis=0)[None]])
    out = []
    for c in comps:
        v = c(key, rows).values
        out.append((jnp.mean(v[:-1], axis=0), v[-1]))
    return out


def test_synchronized_compressors_aggregate_exactly():
    G = jnp.asarray(np.random.default_rng(0).standard_normal((4, 8)))
    controls = (top_k(3), rand_k(3))  # not one shared linear map: they do not aggregate
    out = _aggregates((*SYNC_COMPRESSORS, *controls), G, jax.random.key(9))
    for mean_of, of_mean in out[: len(SYNC_COMPRESSORS)]:
        assert_same_iterates(_np(mean_of)[None], _np(of_mean)[None])
    for mean_of, of_mean in out[len(SYNC_COMPRESSORS) :]:
        assert not np.allclose(mean_of, of_mean, rtol=1e-3)


@partial(jax.jit, static_argnames="comp")
def _shared_map_sides(alg, comp, problem, x0, key):
    """x^{t+1} and x^t − γC_t(ē^t + ∇f(x^t)) (ē ≡ 0 for D-QSGD), C_t from the step's key_c."""
    states, _ = scan_run(alg, problem, x0, key, STEPS)
    _, key_steps = jax.random.split(key)
    keys_c = jax.vmap(lambda t: jax.random.split(jax.random.fold_in(key_steps, t))[1])(
        jnp.arange(STEPS)
    )
    xs_before = jnp.concatenate([x0[None], states.x[:-1]])
    v = jax.vmap(problem.grad)(xs_before)
    if hasattr(states, "e"):
        v = v + jnp.concatenate([jnp.zeros((1, x0.shape[0])), jnp.mean(states.e, axis=1)[:-1]])
    q = jax.vmap(lambda k, u: comp(k, u[None]).values[0])(keys_c, v)
    return states.x, xs_before - _step_size_of(alg) * q


def test_synchronized_step_is_one_shared_map():
    """Every D-EF-SGD (sync) step equals x⁺ = x − γC_t(ē + ḡ), C_t drawn once from the step's
    compressor key for all workers. (D-QSGD's step is the same call with ē ≡ 0; its behaviour
    is checked by convergence on heterogeneous data and by the plateau test.)"""
    problem = small_problem()
    comp = same_rand_k(3, scaled=False)
    alg = ef_sgd_sync(comp, **_only(ef_sgd_sync_theory(problem, comp)))
    xs, ref = _shared_map_sides(alg, comp, problem, x0_for(problem), jax.random.key(4))
    assert_same_iterates(xs, ref)


# ---------------------------------------------------------------------------------------------
# Convergence to x* (σ = 0), steps from the theorems' rates


def test_ef21_reaches_x_star():
    problem = _well_conditioned()
    x0 = x0_for(problem)
    comp = top_k(4)
    out = ef21_theory(problem, comp, rule="pl")
    gamma = out["step_size"]
    mu = float(problem.constants.mu)
    # EF21 Thm 2 (PL; external): Ψ_T ≤ (1 − γμ)^T Ψ_0, Ψ = f − f* + (γ/θ)(1/n)Σ‖g_i − ∇f_i‖²,
    # Ψ_0 = f(x⁰) − f* (g_i⁰ = ∇f_i(x⁰)); ‖x − x*‖² ≤ 2(f − f*)/μ ≤ 2Ψ/μ.
    psi0 = float(problem.loss(x0) - problem.f_star)
    e0 = _e0(problem, x0)
    steps = _steps(math.log(MARGIN * 2 * psi0 / (mu * TARGET * e0)), gamma * mu)
    r = _np(rel_dist(ef21(comp, gamma), problem, x0, jax.random.key(0), steps=steps))
    assert r[-1] < TARGET, (steps, r[-1])


@pytest.mark.parametrize("factory", [ef_sgd_bc, ec_sgd_diana], ids=["bc", "ec_diana"])
def test_bias_corrected_ef_reaches_x_star(factory):
    problem = _well_conditioned()
    x0 = x0_for(problem)
    C, Q = top_k(4), rand_k(4)
    out = ef_sgd_bc_theory(problem, C, Q)
    gamma, alpha, delta = out["step_size"], out["alpha"], out["delta"]
    assert out["beta"] == 1.0  # σ = 0: β = 1 (Remark 8)
    L, mu = float(problem.constants.L_max), float(problem.constants.mu)
    # seed 001 Lemma 12 (σ = 0): Ψ_{t+1} ≤ (1 − c)Ψ_t, c = min{γμ/2, α/2, δ/4},
    # Ψ = ‖x̃ − x*‖² + aE + bH, a = 12γ³L/δ, b = 8a(1−δ)/(αδ); Ψ_0 = ‖x⁰ − x*‖² + bζ_*².
    # ‖x − x*‖² ≤ 2‖x̃ − x*‖² + 2γ²E ≤ 2 max(1, γ²/a)Ψ  (x − x̃ = (γ/n)Σe_i).
    a = 12 * gamma**3 * L / delta
    b = 8 * a * (1 - delta) / (alpha * delta)
    c = min(gamma * mu / 2, alpha / 2, delta / 4)
    e0 = _e0(problem, x0)
    psi0 = e0 + b * _zeta_star2(problem)
    factor = 2 * max(1.0, gamma**2 / a)
    steps = _steps(math.log(MARGIN * factor * psi0 / (TARGET * e0)), c)
    alg = factory(C, gamma, alpha, quantizer=Q)
    r = _np(rel_dist(alg, problem, x0, jax.random.key(0), steps=steps))
    assert r[-1] < TARGET, (steps, r[-1])


def _ef_lemma20_steps(problem, x0, gamma, delta, L, mu):
    """Seed 001 Lemma 20 with ζ = σ = 0: Ψ_{t+1} ≤ (1 − min{γμ/2, δ/4})Ψ_t, Ψ = X + aE,
    a = 12γ³L/δ, Ψ_0 = ‖x⁰ − x*‖²; ‖x − x*‖² ≤ 2 max(1, γ²/a)Ψ."""
    a = 12 * gamma**3 * L / delta
    factor = 2 * max(1.0, gamma**2 / a)
    return _steps(math.log(MARGIN * factor / TARGET), min(gamma * mu / 2, delta / 4))


def test_ef_sgd_reaches_x_star_without_dissimilarity():
    """D-EF-SGD converges linearly when ζ = 0 (common minimizer): Thm 4's γ, Lemma 20's rate."""
    problem = _common_minimizer()
    assert _zeta_star2(problem) < 1e-24
    x0 = x0_for(problem)
    comp = top_k(4)
    gamma = ef_sgd_theory(problem, comp)["step_size"]
    c = problem.constants
    steps = _ef_lemma20_steps(problem, x0, gamma, 0.5, float(c.L), float(c.mu))
    r = _np(rel_dist(ef_sgd(comp, gamma), problem, x0, jax.random.key(0), steps=steps))
    assert r[-1] < TARGET, (steps, r[-1])


def test_synchronized_methods_reach_x_star_on_heterogeneous_data():
    """Seed 001 §6: with one shared linear compressor the ζ terms vanish, so both methods reach
    x* on heterogeneous data (σ = 0), where independent compressors would stall."""
    problem = _well_conditioned()
    assert _zeta_star2(problem) > 0.1
    x0 = x0_for(problem)
    c = problem.constants
    L, mu = float(c.L), float(c.mu)
    # D-QSGD, eq. 29 with the synchronized variance (σ = ζ = 0): X_{t+1} ≤ (1 − μγ)X_t
    comp = same_rand_k(2)
    gamma = qsgd_sync_theory(problem, comp)["step_size"]
    steps = _steps(math.log(MARGIN / TARGET), mu * gamma)
    r = _np(rel_dist(qsgd_sync(comp, gamma), problem, x0, jax.random.key(0), steps=steps))
    assert r[-1] < TARGET, ("qsgd", steps, r[-1])
    # D-EF-SGD, Lemma 20 with n = 1, Z = 1, ζ = 0 (the mean error follows single-worker EF)
    comp = same_rand_k(4, scaled=False)
    gamma = ef_sgd_sync_theory(problem, comp)["step_size"]
    steps = _ef_lemma20_steps(problem, x0, gamma, 0.5, L, mu)
    r = _np(rel_dist(ef_sgd_sync(comp, gamma), problem, x0, jax.random.key(0), steps=steps))
    assert r[-1] < TARGET, ("ef", steps, r[-1])


def test_synchronized_qsgd_plateaus_in_the_theorem_neighbourhood():
    """σ > 0: E‖x_T − x*‖² ≤ (1−μγ)^T‖x⁰ − x*‖² + γ(1+ω)σ²/(μn) (eq. 29 with the synchronized
    variance ω‖∇f‖² + (1+ω)σ²/n), and ≥ γ²(1+ω)(σ²/n)(1 − ρ^T)/(1 − ρ), ρ = (1 − γL)², since
    scaled SameRandK is U(ω) with equality and ‖(I − γĀ)e‖ ≥ (1 − γL)‖e‖. Monte Carlo over
    independent runs (standard-error tolerance)."""
    base = _well_conditioned()
    sigma, runs = 1.0, 128
    problem = stochastic(base, sigma)
    n, d = base.n, base.d
    comp = same_rand_k(2)
    omega = comp.omega(d, n)
    gamma = qsgd_sync_theory(base, comp)["step_size"]
    c = base.constants
    L, mu = float(c.L), float(c.mu)
    x0 = x0_for(base)
    e0 = _e0(base, x0)
    noise = gamma * (1 + omega) * sigma**2 / (mu * n)
    steps = _steps(math.log(e0 / (1e-3 * noise)), mu * gamma)  # transient ≤ 1e-3 of the floor
    rho = (1 - gamma * L) ** 2
    lower = gamma**2 * (1 + omega) * (sigma**2 / n) * (1 - rho**steps) / (1 - rho)
    upper = (1 - mu * gamma) ** steps * e0 + noise
    alg = qsgd_sync(comp, gamma)
    keys = jax.random.split(jax.random.key(1), runs)
    # lax.map over runs (not vmap): batched threefry inside the scan compiles twice as slowly
    r = jax.lax.map(lambda k: rel_dist(alg, problem, x0, k, steps=steps)[-1], keys)
    X = _np(r) * e0  # ‖x_T − x*‖² per run
    assert lower > 1e-6  # far above rounding: a real plateau, not convergence
    assert_mean_at_most(X, upper)
    assert_mean_at_most(-X, -lower)


# ---------------------------------------------------------------------------------------------
# Bits per step (spec §3)


def _assert_cost(cost, bits, bits_noidx, coords):
    for name, a, v in zip(("bits", "bits_noidx", "coords"), cost, (bits, bits_noidx, coords),
                          strict=True):  # fmt: skip
        a = _np(a)
        np.testing.assert_array_equal(a, np.broadcast_to(v, a.shape), err_msg=name)


@jax.jit
def _two_steps_each(algs, problem, x0, key):
    """The Info of steps 1 and 2 of every algorithm, one compiled program."""
    out = []
    for alg in algs:
        state = alg.init(key, problem, x0)
        state, info1 = alg.step(jax.random.fold_in(key, 0), state, problem)
        _, info2 = alg.step(jax.random.fold_in(key, 1), state, problem)
        out.append(jax.tree.map(lambda a, b: jnp.stack([a, b]), info1, info2))
    return out


def test_bits_per_step():
    """Fixed-size messages: every step costs the same (two steps checked per algorithm)."""
    problem = small_problem()
    n, d = problem.n, problem.d
    k, ib = 2, index_bits(d)
    topk = (k * (32 + ib), 32 * k, k)  # indices charged
    randk = (k * (32 + ib), 32 * k, k)
    shared = (32 * k, 32 * k, k)  # SameRandK: indices free
    dense = (32 * d, 32 * d, d)
    zero = (0, 0, 0)
    both = tuple(a + b for a, b in zip(topk, randk, strict=True))
    cases = [
        (ef_sgd(top_k(k), 0.01), topk, dense, zero),
        (ef_sgd_bc(top_k(k), 0.01, 0.25, quantizer=rand_k(k)), both, dense, zero),
        # EC-SGD-DIANA: x plus the mean Δ broadcast, 64d down
        (
            ec_sgd_diana(top_k(k), 0.01, 0.25, quantizer=rand_k(k)),
            both,
            tuple(2 * v for v in dense),
            zero,
        ),  # fmt: skip
        (ef21(top_k(k), 0.01), topk, dense, dense),  # setup: the initial ∇f_i(x⁰), 32d up
        (qsgd_sync(same_rand_k(k), 0.01), shared, dense, zero),
        (qsgd_sync(same_rand_k(k), 0.01, allreduce=True), shared, shared, zero),
        (ef_sgd_sync(same_rand_k(k, scaled=False), 0.01), shared, dense, zero),
        (ef_sgd_sync(sketch(3), 0.01, allreduce=True), (96, 96, 3), (96, 96, 3), zero),
    ]
    infos = _two_steps_each([c[0] for c in cases], problem, x0_for(problem), jax.random.key(0))
    for (alg, up, down, setup_up), info in zip(cases, infos, strict=True):
        _assert_cost(info.up, *up)
        _assert_cost(info.down, *down)
        setup = alg.setup(problem)
        _assert_cost(setup.up, *setup_up)
        _assert_cost(setup.down, 0, 0, 0)
        assert info.up.bits.shape == (2, n)


def test_default_quantizer_matches_the_compressor_budget():
    problem = small_problem()
    out = ef_sgd_bc_theory(problem, top_k(2))
    assert out["quantizer"] == rand_k(2)
    assert ef_sgd_bc_theory(problem, identity())["quantizer"] == identity()
    assert ef_sgd_bc_theory(problem, sketch(4))["quantizer"] == rand_k(4)


# ---------------------------------------------------------------------------------------------
# Theory on a problem with hand-computed constants

# n = 2, d = 2: A_1 = diag(1, 2), A_2 = diag(3, 4): Ā = diag(2, 3), L = 3, μ = 2, L_i = (2, 4),
# L_max = 4, L_QM² = (4 + 16)/2 = 10, (1/n)ΣA_i² = diag(5, 10),
# Z² = 2λ_max(Ā⁻¹ diag(5, 10) Ā⁻¹) = 2·max(5/4, 10/9) = 5/2.
# b_1 = (1, −2), b_2 = (0.5, 3): x* = Ā⁻¹b̄ = (3/8, 1/6), ∇f_1(x*) = (−5/8, 7/3) = −∇f_2(x*),
# ζ_*² = 25/64 + 49/9.


def _hand():
    A = np.array([np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])
    b = np.array([[1.0, -2.0], [0.5, 3.0]])
    return quadratic(A, b)


def test_dissimilarity_by_hand():
    out = dissimilarity(_hand())
    zs = 25 / 64 + 49 / 9
    assert out["zeta_star2"] == pytest.approx(zs, rel=1e-13)
    assert out["zeta2"] == pytest.approx(2 * zs, rel=1e-13)
    assert out["Z2"] == pytest.approx(2.5, rel=1e-13)
    # the stochastic wrapper forwards the data
    assert dissimilarity(stochastic(_hand(), 1.0))["Z2"] == pytest.approx(2.5, rel=1e-13)
    # structured (no dense A): the bound Z² = 2(L_+/μ)², A_i = c_iI with c = (1, 3):
    # L_+² = 5, μ = 2 → 5/2 (here equal to the dense form)
    s = structured_quadratic([1.0, 3.0], np.array([[1.0, -2.0], [0.5, 3.0]]), S="identity")
    assert dissimilarity(s)["Z2"] == pytest.approx(2.5, rel=1e-13)
    # the inequality (5) itself at random points
    p = _hand()
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = jnp.asarray(rng.standard_normal(2) * 10)
        lhs = float(jnp.mean(jnp.sum(p.worker_grads(p.broadcast(x)) ** 2, axis=1)))
        rhs = out["zeta2"] + out["Z2"] * float(jnp.sum(p.grad(x) ** 2))
        assert lhs <= rhs * (1 + 1e-12)


def test_theory_by_hand():
    p = _hand()
    # D-EF-SGD (Thm 4): δ(top_1, d = 2) = 1/2, γ = 1/(14L(1 + Z/δ))
    Z = math.sqrt(2.5)
    assert ef_sgd_theory(p, top_k(1))["step_size"] == pytest.approx(
        1 / (14 * 3 * (1 + Z / 0.5)), rel=1e-13
    )
    assert ef_sgd_theory(p, top_k(1), Z=1.0)["step_size"] == pytest.approx(1 / 126, rel=1e-13)
    # bias correction (Lemma 12): γ = δ/(34 L_max) = 1/272; ω(rand_1) = 1; σ = 0: β = 1, α = 1/2
    out = ef_sgd_bc_theory(p, top_k(1), rand_k(1))
    assert out["step_size"] == pytest.approx(1 / 272, rel=1e-14)
    assert out["alpha"] == pytest.approx(0.5, rel=1e-14)
    # σ > 0 (from the problem): β = δ = 1/2, α = 1/4
    out = ef_sgd_bc_theory(stochastic(p, 0.3), top_k(1), rand_k(1))
    assert out["alpha"] == pytest.approx(0.25, rel=1e-14) and out["beta"] == 0.5
    assert ec_sgd_diana_theory(p, top_k(1), rand_k(1)) == ef_sgd_bc_theory(p, top_k(1), rand_k(1))
    # EF21: α = 1/2, θ = 1 − √½, β = ½/θ; γ = 1/(L + L_QM√(β/θ)), PL: min{…√(2β/θ)…, θ/(2μ)}
    theta = 1 - math.sqrt(0.5)
    beta = 0.5 / theta
    assert ef21_theory(p, top_k(1))["step_size"] == pytest.approx(
        1 / (3 + math.sqrt(10) * math.sqrt(beta / theta)), rel=1e-13
    )
    assert ef21_theory(p, top_k(1), rule="pl")["step_size"] == pytest.approx(
        min(1 / (3 + math.sqrt(10) * math.sqrt(2 * beta / theta)), theta / 4), rel=1e-13
    )
    assert ef21_theory(p, identity())["step_size"] == pytest.approx(1 / 3, rel=1e-14)  # GD
    # synchronized: ω(same_rand_1) = 1 → γ = 1/(2L(1+ω)) = 1/12; δ = 1/2 → 1/(14L(1+2)) = 1/126
    assert qsgd_sync_theory(p, same_rand_k(1))["step_size"] == pytest.approx(1 / 12, rel=1e-14)
    out = ef_sgd_sync_theory(p, same_rand_k(1, scaled=False), allreduce=True)
    assert out["step_size"] == pytest.approx(1 / 126, rel=1e-14) and out["allreduce"] is True


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("alpha", [0.0, -0.5, 1.5, math.nan])
@pytest.mark.parametrize("factory", [ef_sgd_bc, ec_sgd_diana])
def test_bad_alpha(factory, alpha):
    with pytest.raises(ValueError, match=rf"{factory.__name__}: alpha=.*\(0, 1\]"):
        factory(top_k(2), 0.1, alpha)


@pytest.mark.parametrize("factory", [ef_sgd_bc, ec_sgd_diana])
def test_biased_quantizer_rejected(factory):
    with pytest.raises(ValueError, match=rf"{factory.__name__}: quantizer=.*top_k.*unbiased"):
        factory(top_k(2), 0.1, 0.5, quantizer=top_k(2))


@pytest.mark.parametrize("factory", [ef_sgd, ef21, ef_sgd_sync])
def test_unbiased_only_compressor_rejected_where_contractive_needed(factory):
    with pytest.raises(ValueError, match=rf"{factory.__name__}: compressor=.*contractive"):
        factory(same_rand_k(2), 0.1)  # scaled SameRandK is U(ω), not B(δ)


def test_bc_needs_a_contractive_compressor():
    with pytest.raises(ValueError, match=r"ef_sgd_bc: compressor=.*rand_k.*contractive"):
        ef_sgd_bc(rand_k(2), 0.1, 0.5)


@pytest.mark.parametrize("factory", [qsgd_sync, ef_sgd_sync])
def test_topk_rejected_in_synchronized_methods(factory):
    with pytest.raises(ValueError, match=rf"{factory.__name__}: compressor=.*TopK is not a synch"):
        factory(top_k(2), 0.1)
    with pytest.raises(ValueError, match=r"synchronized linear compressor"):
        factory(rand_k(2), 0.1)
    with pytest.raises(ValueError, match=r"synchronized linear compressor"):
        factory(perm_k(), 0.1)
    with pytest.raises(ValueError, match=rf"{factory.__name__}: allreduce='yes'"):
        factory(identity(), 0.1, allreduce="yes")


def test_qsgd_sync_needs_unbiased():
    with pytest.raises(ValueError, match=r"qsgd_sync: compressor=.*unbiased"):
        qsgd_sync(same_rand_k(2, scaled=False), 0.1)


@pytest.mark.parametrize(
    "make",
    [
        lambda g: ef_sgd(top_k(2), g),
        lambda g: ef_sgd_bc(top_k(2), g, 0.5),
        lambda g: ec_sgd_diana(top_k(2), g, 0.5),
        lambda g: ef21(top_k(2), g),
        lambda g: qsgd_sync(same_rand_k(2), g),
        lambda g: ef_sgd_sync(sketch(2), g),
    ],
)
@pytest.mark.parametrize("step_size", [-0.1, 0.0, math.inf])
def test_bad_step_size(make, step_size):
    with pytest.raises(ValueError, match=r"step_size=.*positive"):
        make(step_size)


def test_bad_theory_options():
    with pytest.raises(ValueError, match=r"ef21_theory: rule='convex'"):
        ef21_theory(_hand(), top_k(1), rule="convex")
    with pytest.raises(ValueError, match=r"ef_sgd_bc_theory: beta=2"):
        ef_sgd_bc_theory(_hand(), top_k(1), beta=2)
