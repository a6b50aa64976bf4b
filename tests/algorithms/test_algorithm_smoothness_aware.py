"""DCGD+ and DIANA+ (seed 000 Alg. 1, 2; spec ALGORITHMS.md §5.2): identities with GD and DCGD,
convergence at the rate of Thm 1 / Thm 2, the step rules (17), (19), (12), (14) and rand-τ+,
theory against hand computation, setup bits, bad inputs.

The per-worker compressors of seed 000 (each worker its own steps h_i, block steps, or
probabilities p_i from its L_i) are the builders :func:`quant_plus`, :func:`block_quant_plus`,
:func:`rand_tau_plus` (jcomp's quantizers with n parameter rows)."""

import math
import types
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
    run_steps,
    small_problem,
    x0_for,
)

from jcomp.algorithms import Algorithm, gd, gd_theory
from jcomp.algorithms._smoothness_aware import (
    DCGDPlusState,
    block_quant_common_step,
    block_quant_plus,
    block_quant_plus_steps,
    dcgd_plus,
    dcgd_plus_theory,
    diana_plus,
    diana_plus_theory,
    fixed_level_steps,
    matrix_roots,
    quant_baseline_levels,
    quant_plus,
    quant_plus_steps,
    rand_tau_plus,
    rand_tau_plus_probabilities,
    smoothness_matrices,
    worker_constants,
)
from jcomp.compressors import (
    block_quant,
    dithering,
    identity,
    rand_k,
    rand_tau,
    top_k,
    varying_step,
)
from jcomp.compressors._smoothness_aware import block_sizes
from jcomp.problems import quadratic, structured_quadratic

TARGET = 1e-20  # ‖x − x*‖² / ‖x⁰ − x*‖²
MARGIN = 1e3  # Markov: P(V_K > 1e3·E V_K) ≤ 1e-3
RTOL = 1e-12


def _L_dagger_norm2(problem, G):
    """(1/n)Σ‖G_i‖²_{L_i^†} for G (n, d)."""
    Ls = np.asarray(smoothness_matrices(problem))
    return float(np.mean([g @ np.linalg.pinv(L) @ g for L, g in zip(Ls, G, strict=True)]))


def _grads_at_x_star(problem):
    return np.asarray(problem.worker_grads(problem.broadcast(problem.x_star)))


# ---------------------------------------------------------------------------- identities


def test_identity_gives_gd():
    """Identity C_i: L_i^{1/2}L_i^{†1/2}∇f_i = ∇f_i, so DCGD+ = DIANA+ (any α) = GD, and the
    theory step is 1/L (𝓛 = 0, α = 1)."""
    problem = small_problem()
    x0, key = x0_for(problem), jax.random.key(7)
    gamma = gd_theory(problem)["step_size"]
    assert dcgd_plus_theory(problem, identity()) == pytest.approx({"step_size": gamma}, rel=1e-14)
    assert diana_plus_theory(problem, identity()) == pytest.approx(
        {"step_size": gamma, "alpha": 1.0}, rel=1e-14
    )
    ref = run_steps(gd(gamma), problem, x0, key, steps=STEPS)[0].x
    for alg in (
        dcgd_plus(identity(), gamma),
        diana_plus(identity(), gamma, 1.0),
        diana_plus(identity(), gamma, 0.3),
    ):
        assert_same_iterates(run_steps(alg, problem, x0, key, steps=STEPS)[0].x, ref)


@partial(jax.jit, static_argnames=("compressor",))
def _reference_run(compressor, step_size, alpha, problem, x0, key):
    """DIANA with the plain gradients (DCGD for alpha = 0: the shifts stay 0), STEPS steps,
    drawing the compressor key exactly as DCGD+/DIANA+ do (``key_oracle, key_comp =
    split(key)``, step keys ``fold_in(key_steps, t)``). Returns the iterates and uplink bits."""
    _, key_steps = jax.random.split(key)

    def body(carry, t):
        x, h = carry
        _, key_comp = jax.random.split(jax.random.fold_in(key_steps, t))
        msg = compressor(key_comp, problem.worker_grads(problem.broadcast(x)) - h)
        x = x - step_size * (jnp.mean(h, axis=0) + jnp.mean(msg.values, axis=0))
        return (x, h + alpha * msg.values), (x, msg.bits)

    h0 = jnp.zeros((problem.n, problem.d), x0.dtype)
    return jax.lax.scan(body, (x0, h0), jnp.arange(STEPS))[1]


def test_scalar_smoothness_equals_dcgd_and_diana_with_same_keys():
    """L_i = c_iI: Q_h is positively homogeneous (Q_h(tx) = tQ_h(x), same key), so
    √c_i·Q_h(g/√c_i) = Q_h(g) and DCGD+ / DIANA+ with Q_h are DCGD / DIANA with Q_h draw by draw
    (hence also in distribution); the messages (bits) are the same."""
    rng = np.random.default_rng(3)
    n, d = 4, 8
    c = np.array([0.5, 1.0, 2.0, 7.0])
    problem = quadratic(c[:, None, None] * np.eye(d), rng.standard_normal((n, d)))
    # scalar L_i: every worker gets h_j = √d/β = n/√d (E.1 bits: compiles faster than QSGD/Elias)
    comp = quant_plus(problem, "dcgd+", encoder="e1")
    np.testing.assert_allclose(np.asarray(comp.h), np.full((n, d), n / math.sqrt(d)), rtol=RTOL)
    x0, key = x0_for(problem), jax.random.key(5)
    gamma = 0.05
    for alg, alpha in ((dcgd_plus(comp, gamma), 0.0), (diana_plus(comp, gamma, 0.4), 0.4)):
        states, infos = run_steps(alg, problem, x0, key, steps=STEPS)
        xs_ref, bits_ref = _reference_run(comp, gamma, alpha, problem, x0, key)
        assert_same_iterates(states.x, xs_ref)
        np.testing.assert_array_equal(np.asarray(infos.up.bits), np.asarray(bits_ref))
        np.testing.assert_array_equal(np.asarray(infos.up.coords), d + 1)
        np.testing.assert_array_equal(np.asarray(infos.down.bits), 32 * d)  # x broadcast
        np.testing.assert_array_equal(np.asarray(infos.down.coords), d)


# ---------------------------------------------------------------------------- convergence


def test_diana_plus_reaches_x_star_and_learns_gradients():
    """Per-worker quant+ (worker i its own steps h_i of (19) from its L_i; E.1 bits), theory γ,
    α (Thm 2). Gorbunov et al.'s generic theorem with
    M = 4𝓛_max/(nα): V = ‖x − x*‖² + Mγ²σ, σ = (1/n)Σ‖u_i − ∇f_i(x*)‖²_{L_i^†}, contracts as
    E V_K ≤ max(1 − γμ, 1 − α/2)^K V_0 (u⁰ = 0). K: both ‖x−x*‖²/‖x⁰−x*‖² and σ_K/σ_0 below
    1e-20 with Markov margin 1e3."""
    problem = small_problem()
    n = problem.n
    x0 = x0_for(problem)
    comp = quant_plus(problem, "diana+", encoder="e1")
    h = np.asarray(comp.h)
    assert comp.per_worker and h.shape == (n, problem.d)
    assert np.ptp(h, axis=0).max() > 0.02 * h.max()  # L_i differ: so do the workers' steps
    params = diana_plus_theory(problem, comp)
    gamma, alpha = params["step_size"], params["alpha"]
    omega, cl = worker_constants(problem, comp)
    assert alpha == pytest.approx(1 / (1 + omega.max()), rel=1e-14)
    mu = float(problem.constants.mu)
    M = 4 * cl.max() / (n * alpha)
    rate = max(1 - gamma * mu, 1 - alpha / 2)
    e0 = float(np.sum((np.asarray(x0) - np.asarray(problem.x_star)) ** 2))
    G_star = _grads_at_x_star(problem)
    sigma0 = _L_dagger_norm2(problem, G_star)
    assert sigma0 > 0.1  # heterogeneous: the shifts have something to learn
    v0 = e0 + M * gamma**2 * sigma0
    floor = min(e0, M * gamma**2 * sigma0)
    steps = math.ceil(math.log(MARGIN * v0 / (TARGET * floor)) / -math.log(rate))
    assert steps < 1500
    states, _ = run_steps(
        diana_plus(comp, gamma, alpha), problem, x0, jax.random.key(0), steps=steps
    )
    x, u = np.asarray(states.x[-1]), np.asarray(states.u[-1])
    assert np.sum((x - np.asarray(problem.x_star)) ** 2) / e0 < TARGET
    assert _L_dagger_norm2(problem, u - G_star) / sigma0 < TARGET
    np.testing.assert_allclose(np.asarray(states.u_bar[-1]), u.mean(axis=0), atol=1e-14)


def test_dcgd_plus_converges_exactly_when_overparameterized():
    """∇f_i(x*) = 0 for every i (b_i = A_i x*): σ_+* = 0 and Thm 1 gives
    E‖x^K − x*‖² ≤ (1 − γμ)^K‖x⁰ − x*‖² with per-worker quant+ (steps (17)) and theory γ."""
    base = hetero_quadratic(seed=5, n=4, d=8)
    A = np.asarray(base.A)
    x_star = np.random.default_rng(2).standard_normal(8)
    problem = quadratic(A, np.einsum("nij,j->ni", A, x_star))
    assert np.abs(_grads_at_x_star(problem)).max() < 1e-12
    comp = quant_plus(problem, "dcgd+", encoder="e1")
    assert comp.per_worker and len(set(comp.h)) == problem.n  # every worker its own steps
    gamma = dcgd_plus_theory(problem, comp)["step_size"]
    rate = 1 - gamma * float(problem.constants.mu)
    steps = math.ceil(math.log(MARGIN / TARGET) / -math.log(rate))
    assert steps < 1500
    r = np.asarray(
        rel_dist(dcgd_plus(comp, gamma), problem, x0_for(problem), jax.random.key(1), steps)
    )
    assert r[-1] < TARGET, (steps, r[-1])


# ------------------------------------------------------------------------------ step rules


def _hetero_L(seed=0, n=3, d=7):
    rng = np.random.default_rng(seed)
    return np.stack([random_spd(rng, d, 0.1 * (i + 1), 5.0 * (i + 2)) for i in range(n)])


def test_quant_plus_steps_budget_and_optimality():
    Ls = _hetero_L()
    n, d = Ls.shape[:2]
    diag = np.einsum("njj->nj", Ls)
    mu = 0.3
    for method, weight in (("dcgd+", diag), ("diana+", np.sqrt(1 + (diag / (n * mu)) ** 2))):
        beta = 2.5
        h = quant_plus_steps(Ls, beta, method, mu=mu)
        assert h.shape == (n, d)
        # the budget ‖h_i⁻¹‖ = β exactly ...
        np.testing.assert_allclose(np.linalg.norm(1 / h, axis=1), beta, rtol=RTOL)
        # ... and the KKT point: weight_j·h_j² constant over j (dcgd+: L_jj h_j²; diana+:
        # √(1 + a_j²)h_j², i.e. (1 + a_j²)h_j⁴ constant)
        kkt = weight * h * h
        np.testing.assert_allclose(kkt, kkt[:, :1] * np.ones(d), rtol=RTOL)
    # default β = d/n; hand computation: L = diag(1, 4), n = 1: h = (1/2)√(5/L_jj)
    h = quant_plus_steps(np.diag([1.0, 4.0])[None])
    np.testing.assert_allclose(h, [[math.sqrt(5) / 2, math.sqrt(5 / 4) / 2]], rtol=RTOL)


@pytest.mark.parametrize(("d", "blocks"), [(7, 3), (12, 4), (5, 1)])
@pytest.mark.parametrize("method", ["dcgd+", "diana+"])
def test_block_quant_plus_steps_budget_exact(d, blocks, method):
    Ls = _hetero_L(seed=d, n=3, d=d)
    n, mu, beta = Ls.shape[0], 0.2, blocks + 3.7
    h = block_quant_plus_steps(Ls, beta, blocks, method, mu=mu)
    sizes = np.asarray(block_sizes(d, blocks), float)
    budget = np.sum(1 / h**2 + np.sqrt(sizes) / h, axis=1) + blocks
    np.testing.assert_allclose(budget, beta, rtol=RTOL)  # (11) met exactly
    starts = np.cumsum([0, *block_sizes(d, blocks)[:-1]])
    D = np.sqrt(np.add.reduceat(np.einsum("njj->nj", Ls) ** 2, starts, axis=1))
    A = D if method == "dcgd+" else np.sqrt(sizes) + D / (n * mu)
    np.testing.assert_allclose(h * A, (h * A)[:, :1] * np.ones(blocks), rtol=RTOL)
    # code-faithful: dcgd+ takes the paper's upper bound on δ (smaller h: more bits, (11) not
    # met), diana+ the paper's closed form, which is the exact root for B = 1
    hc = block_quant_plus_steps(Ls, beta, blocks, method, mu=mu, code_faithful=True)
    if method == "dcgd+":
        assert np.all(hc >= h * (1 - RTOL))
    elif blocks == 1:
        np.testing.assert_allclose(hc, h, rtol=RTOL)


def test_block_quant_plus_defaults_and_hand_root():
    # n = 2 workers, d = 4: defaults B = n = 2 blocks of 2, β = d/n + n = 4.
    Ls = np.stack([np.diag([3.0, 4.0, 0.0, 1.0]), np.diag([1.0, 1.0, 1.0, 1.0])])
    h = block_quant_plus_steps(Ls)
    # worker 0: D = (5, 1), (β − B)δ² − (√2·5 + √2·1)δ − 26 = 0 → δ = (6√2 + √(72 + 208))/4
    delta = (6 * math.sqrt(2) + math.sqrt(72 + 8 * 26)) / 4
    np.testing.assert_allclose(h[0], [delta / 5, delta / 1], rtol=RTOL)
    assert h.shape == (2, 2)


@pytest.mark.parametrize("method", ["dcgd+", "diana+"])
def test_rand_tau_plus_probabilities(method):
    Ls = _hetero_L(seed=4, n=3, d=9)
    n, mu = 3, 0.5
    p = rand_tau_plus_probabilities(Ls, 2.5, method, mu=mu)
    np.testing.assert_allclose(p.sum(axis=1), 2.5, rtol=RTOL)
    diag = np.einsum("njj->nj", Ls)
    a = diag if method == "dcgd+" else 1 + diag / (n * mu)
    c = (1 / p - 1) * a
    np.testing.assert_allclose(c, c[:, :1] * np.ones(9), rtol=1e-10)  # root-finder tolerance
    assert np.all((p > 0) & (p < 1))
    # default τ = ⌊d/n⌋ = 3
    np.testing.assert_allclose(rand_tau_plus_probabilities(Ls, method=method, mu=mu).sum(1), 3)


def test_baselines():
    assert quant_baseline_levels(123, 8) == 1  # ⌊11.09/8⌋ = 1
    assert quant_baseline_levels(300, 2) == 8  # ⌊17.32/2⌋
    assert quant_baseline_levels(10_000, 4) == 25  # √d exact: 100/4
    np.testing.assert_allclose(fixed_level_steps(16, 2), np.full(16, 0.5), rtol=RTOL)
    # equal blocks: the spec's h = (√d_b + √(d_b + 4c))/(2c), c = β/B − 1; budget (11) exact
    d, B, beta = 12, 3, 9.0
    h = block_quant_common_step(d, B, beta)
    c = beta / B - 1
    assert h == pytest.approx((2 + math.sqrt(4 + 4 * c)) / (2 * c), rel=RTOL)
    for d, B in ((12, 3), (7, 3)):
        h = block_quant_common_step(d, B, beta)
        sizes = np.asarray(block_sizes(d, B), float)
        assert np.sum(1 / h**2 + np.sqrt(sizes) / h) + B == pytest.approx(beta, rel=RTOL)


def test_per_worker_builders():
    """The builders give worker i the step rule's row i (n rows, static and hashable)."""
    problem = small_problem()
    n, d = problem.n, problem.d
    comp = quant_plus(problem, "diana+")
    np.testing.assert_array_equal(np.asarray(comp.h), quant_plus_steps(problem, method="diana+"))
    assert comp.encoder == "qsgd" and hash(comp) == hash(quant_plus(problem, "diana+"))
    bq = block_quant_plus(problem, "dcgd+")
    assert bq.blocks == n and bq.per_worker
    np.testing.assert_array_equal(np.asarray(bq.h_blocks), block_quant_plus_steps(problem))
    rt = rand_tau_plus(problem, "dcgd+", tau=2)
    np.testing.assert_array_equal(np.asarray(rt.probs), rand_tau_plus_probabilities(problem, 2))
    np.testing.assert_allclose(rt.worker_tau(n), 2, rtol=RTOL)  # every row sums to τ
    assert rt.tau == pytest.approx(2, rel=RTOL)
    for c, rows in ((comp, comp.h), (bq, bq.h_blocks), (rt, rt.probs)):
        assert c.per_worker and len(set(rows)) == n  # heterogeneous L_i: n distinct rows
        with pytest.raises(ValueError, match=f"{c.name}: .* has {n} rows .* n=3 workers"):
            c(jax.random.key(0), jnp.ones((3, d)))
    # identical L_i: the rows agree (still one per worker)
    rng = np.random.default_rng(0)
    L = random_spd(rng, 6, 1.0, 4.0)
    same = quadratic(np.stack([L] * 3), rng.standard_normal((3, 6)))
    h = np.asarray(quant_plus(same, "diana+").h)
    assert h.shape == (3, 6)
    np.testing.assert_array_equal(h, np.broadcast_to(h[0], h.shape))


# --------------------------------------------------------------------------------- theory


def _hand_problem():
    # n = 2, d = 2: A_1 = diag(1, 2), A_2 = diag(3, 4): L = ‖Ā‖ = 3
    A = np.array([np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])
    return quadratic(A, np.array([[1.0, -2.0], [0.5, 3.0]]))


# (compressor, paper (ω, 𝓛_max), tight (ω, 𝓛_max)); worker 2 (diag (3, 4)) has the max 𝓛
_HAND = [
    # Q_h, h = (1/2, 1/4): ω = min(‖h‖², ‖h‖) = 5/16; 𝓛 = ‖(3/2, 1)‖ = √(13/4) or
    # min(3/4 + 4/16, √(13/4)) = 1
    (varying_step((0.5, 0.25)), (5 / 16, math.sqrt(13 / 4)), (5 / 16, 1.0)),
    # block quant, blocks {1}, {2}: ω = max_l h_l√d_l = 1/2 or max min(h², h) = 1/4;
    # 𝓛 = max_l h_l L_ll = max(3/2, 1) or max_l min(h_l²L_ll, h_lL_ll) = max(3/4, 1/4)
    (block_quant((0.5, 0.25)), (0.5, 1.5), (0.25, 0.75)),
    # rand-τ, p = (1/2, 1/4): ω = 3, 𝓛 = max((1/p_j − 1)L_jj) = max(3, 12)
    (rand_tau((0.5, 0.25)), (3.0, 12.0), (3.0, 12.0)),
    # ℓ2 dithering s = 2: ω = min(2/4, √2/2) = 1/2; 𝓛 = ‖(3, 4)‖/2 or min(7/4, 5/2)
    (dithering(2), (0.5, 2.5), (0.5, 1.75)),
    # generic U(ω): rand_1 (ω = 1), 𝓛 ≤ ω·λ_max(L_2) = 4
    (rand_k(1), (1.0, 4.0), (1.0, 4.0)),
    (identity(), (0.0, 0.0), (0.0, 0.0)),
]


@pytest.mark.parametrize(("comp", "paper", "tight"), _HAND, ids=[c.name for c, *_ in _HAND])
def test_theory_by_hand(comp, paper, tight):
    problem = _hand_problem()
    for constants, (omega, cl) in (("paper", paper), ("tight", tight)):
        assert dcgd_plus_theory(problem, comp, constants) == pytest.approx(
            {"step_size": 1 / (3 + 2 * cl / 2)}, rel=1e-14
        )
        assert diana_plus_theory(problem, comp, constants) == pytest.approx(
            {"step_size": 1 / (3 + 6 * cl / 2), "alpha": 1 / (1 + omega)}, rel=1e-14
        )


def test_theory_reads_per_worker_constants():
    """Per-worker rows: ω_i, 𝓛_i of worker i's row with L_i = diag(1, 2), diag(3, 4), by hand;
    γ, α from the maxima (Thm 1, 2)."""
    problem = _hand_problem()
    # quant+: h_1 = (1/2, 1/4), h_2 = (2, 1): ω_i = min(‖h_i‖², ‖h_i‖) = (5/16, √5);
    # 𝓛_i = ‖Diag(L_i)h_i‖ = (√(1/2), √52) (paper) or min(Σ L_jj h_j², ·) = (√(1/2), √52)
    # (Σ: 1/4 + 1/8 = 3/8 < √(1/2); 12 + 4 = 16 > √52)
    comp = varying_step([[0.5, 0.25], [2.0, 1.0]])
    omega, cl = worker_constants(problem, comp)
    np.testing.assert_allclose(omega, [5 / 16, math.sqrt(5)], rtol=1e-14)
    np.testing.assert_allclose(cl, [math.sqrt(1 / 2), math.sqrt(52)], rtol=1e-14)
    _, cl_t = worker_constants(problem, comp, "tight")
    np.testing.assert_allclose(cl_t, [3 / 8, math.sqrt(52)], rtol=1e-14)
    assert diana_plus_theory(problem, comp) == pytest.approx(
        {"step_size": 1 / (3 + 3 * math.sqrt(52)), "alpha": 1 / (1 + math.sqrt(5))}, rel=1e-14
    )
    # block quant, blocks {1}, {2}, h_1 = (1/2, 1/4), h_2 = (1, 2): paper ω_i = max_l h_il =
    # (1/2, 2), 𝓛_i = max_l h_il L_i;ll = (1/2, 8); tight ω_i = max_l min(h², h) = (1/4, 2),
    # 𝓛_i = max_l min(h²L_ll, hL_ll) = (1/4, 8)
    comp = block_quant([[0.5, 0.25], [1.0, 2.0]])
    for constants, (om_w, cl_w) in (
        ("paper", ([0.5, 2], [0.5, 8])),
        ("tight", ([0.25, 2], [0.25, 8])),
    ):
        omega, cl = worker_constants(problem, comp, constants)
        np.testing.assert_allclose(omega, om_w, rtol=1e-14)
        np.testing.assert_allclose(cl, cl_w, rtol=1e-14)
    assert dcgd_plus_theory(problem, comp) == pytest.approx({"step_size": 1 / (3 + 8)}, rel=1e-14)
    # rand-τ+ (the protocol path): p_1 = (1/2, 1/4), p_2 = (1, 1/2): ω_i = (3, 1),
    # 𝓛_i = max_j(1/p_j − 1)L_jj = (6, 4)
    comp = rand_tau([[0.5, 0.25], [1.0, 0.5]])
    omega, cl = worker_constants(problem, comp)
    np.testing.assert_allclose(omega, [3, 1], rtol=1e-14)
    np.testing.assert_allclose(cl, [6, 4], rtol=1e-14)
    assert diana_plus_theory(problem, comp) == pytest.approx(
        {"step_size": 1 / (3 + 18), "alpha": 1 / 4}, rel=1e-14
    )
    # rows for another number of workers
    with pytest.raises(ValueError, match="worker_constants: .*h has 3 rows .* n=2 workers"):
        worker_constants(problem, varying_step(np.ones((3, 2))))
    with pytest.raises(ValueError, match="rand_tau: probs has 3 rows .* n=2 workers"):
        diana_plus_theory(problem, rand_tau(np.full((3, 2), 0.5)))


# ------------------------------------------------------------------------------- plumbing


def test_setup_bits():
    problem = small_problem()
    n, d = problem.n, problem.d
    h = tuple(quant_plus_steps(problem, method="diana+")[0])
    cases = [
        (dcgd_plus(varying_step(h), 0.1), d * d + d),  # quant+: L_i^{1/2} and h_i
        (diana_plus(quant_plus(problem, "diana+"), 0.1, 0.5), d * d + d),  # per-worker h_i
        (dcgd_plus(block_quant_plus(problem), 0.1), d * d + n),  # per-worker block steps, B = n
        (dcgd_plus(rand_tau_plus(problem), 0.1), d * d),
        (diana_plus(block_quant((1.0, 2.0, 0.5)), 0.1, 0.5), d * d + 3),  # block quant+
        (dcgd_plus(rand_tau((0.25,) * d), 0.1), d * d),  # rand-τ+
        (diana_plus(varying_step(fixed_level_steps(d, n)), 0.1, 0.5, extra_setup_floats=0), d * d),
        (dcgd_plus(identity(), 0.1), d * d),
    ]
    for alg, floats in cases:
        info = alg.setup(problem)
        np.testing.assert_array_equal(np.asarray(info.up.bits), np.full(n, 32 * floats))
        np.testing.assert_array_equal(np.asarray(info.up.bits_noidx), np.full(n, 32 * floats))
        np.testing.assert_array_equal(np.asarray(info.up.coords), np.full(n, floats))
        np.testing.assert_array_equal(np.asarray(info.down.bits), np.zeros(n))


def test_smoothness_matrices_and_roots():
    rng = np.random.default_rng(1)
    n, d = 3, 5
    c, b = np.array([0.5, 1.0, 3.0]), rng.standard_normal((n, d))
    S = random_spd(rng, d, 0.0, 2.0)  # singular: rank d − 1
    for kind in ("identity", "tridiag", S):
        sq = structured_quadratic(c, b, S=kind, tau=0.25)
        np.testing.assert_allclose(
            np.asarray(smoothness_matrices(sq)), np.asarray(sq.to_dense().A), rtol=1e-14, atol=1e-15
        )
    dense = quadratic(c[:, None, None] * S, c[:, None] * (S @ b.T).T)  # b_i ∈ range(A_i)
    np.testing.assert_array_equal(np.asarray(smoothness_matrices(dense)), np.asarray(dense.A))
    # wrappers holding an inner problem, and problems that define their own matrices
    np.testing.assert_array_equal(
        np.asarray(smoothness_matrices(types.SimpleNamespace(inner=dense))), np.asarray(dense.A)
    )
    own = types.SimpleNamespace(smoothness_matrices=lambda: jnp.ones((1, 2, 2)))
    np.testing.assert_array_equal(np.asarray(smoothness_matrices(own)), np.ones((1, 2, 2)))
    with pytest.raises(TypeError, match="smoothness_matrices: problem SimpleNamespace"):
        smoothness_matrices(types.SimpleNamespace())
    # roots in float64 on the host, also under jit: R² = L, R·R† = projection onto range(L)
    Ls = np.asarray(dense.A)
    R, Rp = jax.jit(matrix_roots)(jnp.asarray(Ls))
    R, Rp = np.asarray(R), np.asarray(Rp)
    np.testing.assert_allclose(R @ R, Ls, atol=1e-14)
    P = R @ Rp
    for i in range(n):
        np.testing.assert_allclose(P[i], np.linalg.pinv(Ls[i]) @ Ls[i], atol=1e-13)
        np.testing.assert_allclose(Rp[i] @ Rp[i], np.linalg.pinv(Ls[i]), atol=1e-12)
    assert np.linalg.matrix_rank(P[0]) == d - 1
    R32, _ = matrix_roots(jnp.asarray(Ls, jnp.float32))
    assert R32.dtype == jnp.float32
    # the theory accepts the singular L_i because every ∇f_i(x) = c_iS(x − b_i) ∈ range(S)
    assert dcgd_plus_theory(dense, rand_k(2))["step_size"] > 0


def test_prox_step():
    """prox_{γR} for R = (λ/2)‖x‖²: x ← (x − γg)/(1 + γλ); as a plain callable (static) and as a
    Partial with a traced λ."""
    problem = small_problem()
    x0, gamma, lam = x0_for(problem), 0.05, 0.7
    key = jax.random.key(0)

    def prox(v, step):
        return v / (1 + step * lam)

    def prox_lam(lam, v, step):
        return v / (1 + step * lam)

    for p in (prox, jax.tree_util.Partial(prox_lam, lam)):
        alg = dcgd_plus(identity(), gamma, prox=p)
        state = alg.init(key, problem, x0)
        assert isinstance(state, DCGDPlusState) and state._fields[0] == "x"
        state, _ = jax.jit(alg.step)(key, state, problem)
        expected = (x0 - gamma * problem.grad(x0)) / (1 + gamma * lam)
        assert_same_iterates(state.x[None], expected[None])


# -------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("factory", ["dcgd_plus", "diana_plus"])
def test_bad_factory_arguments(factory):
    make = {
        "dcgd_plus": lambda c, **kw: dcgd_plus(c, **{"step_size": 0.1, **kw}),
        "diana_plus": lambda c, **kw: diana_plus(c, **{"step_size": 0.1, "alpha": 0.5, **kw}),
    }[factory]
    comp = varying_step((0.5,) * 8)
    with pytest.raises(ValueError, match=rf"{factory}: step_size=-1.*positive"):
        make(comp, step_size=-1.0)
    with pytest.raises(TypeError, match=rf"{factory}: compressor='x'"):
        make("x")
    with pytest.raises(ValueError, match=rf"{factory}: compressor=.*unbiased"):
        make(top_k(2))
    assert isinstance(make(rand_tau((0.5,) * 8, scaled=False), allow_biased=True), Algorithm)
    with pytest.raises(TypeError, match=rf"{factory}: prox=3 is not allowed"):
        make(comp, prox=3)
    with pytest.raises(ValueError, match=rf"{factory}: extra_setup_floats=-1"):
        make(comp, extra_setup_floats=-1)
    if factory == "diana_plus":
        with pytest.raises(ValueError, match="diana_plus: alpha=1.5 is out of range"):
            make(comp, alpha=1.5)


def test_bad_theory_inputs():
    problem = _hand_problem()
    with pytest.raises(ValueError, match="dcgd_plus_theory: constants='exact'"):
        dcgd_plus_theory(problem, identity(), constants="exact")
    with pytest.raises(ValueError, match="diana_plus_theory: compressor=.*unbiased"):
        diana_plus_theory(problem, rand_tau((0.5, 0.5), scaled=False))
    indefinite = quadratic(np.array([np.diag([1.0, -1.0]), np.diag([2.0, 3.0])]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="worker 0 is not positive semidefinite"):
        dcgd_plus_theory(indefinite, identity())
    # singular A_1 with b_1 ∉ range(A_1): f_1 is unbounded below and ∇f_1 ∉ range(L_1)
    outside = quadratic(np.array([np.diag([1.0, 0.0]), np.diag([2.0, 3.0])]), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"∇f_0\(x\) is not in range\(L_0\)"):
        diana_plus_theory(outside, identity())


def test_bad_step_rule_inputs():
    Ls = _hetero_L(n=2, d=6)
    with pytest.raises(ValueError, match="quant_plus_steps: method='dcgd'"):
        quant_plus_steps(Ls, method="dcgd")
    with pytest.raises(ValueError, match="quant_plus_steps: beta=0.0 is not allowed"):
        quant_plus_steps(Ls, 0.0)
    with pytest.raises(ValueError, match="quant_plus_steps: mu=None .*diana\\+"):
        quant_plus_steps(Ls, method="diana+")
    with pytest.raises(ValueError, match="quant_plus_steps: every diagonal entry"):
        quant_plus_steps(np.diag([1.0, 0.0])[None])
    with pytest.raises(ValueError, match="quant_plus_steps: L must have shape"):
        quant_plus_steps(np.eye(3))
    with pytest.raises(ValueError, match="block_quant_plus_steps: beta=3 is not allowed.*> 3"):
        block_quant_plus_steps(Ls, beta=3, blocks=3)  # β ≤ B
    with pytest.raises(ValueError, match="block_quant_plus_steps: blocks=7 is not allowed"):
        block_quant_plus_steps(Ls, beta=9, blocks=7)
    with pytest.raises(ValueError, match="rand_tau_plus_probabilities: tau=6.0 is out of range"):
        rand_tau_plus_probabilities(Ls, 6)
    with pytest.raises(ValueError, match="block_quant_common_step: beta=2 is not allowed"):
        block_quant_common_step(6, 2, 2)
    with pytest.raises(ValueError, match="quant_baseline_levels: n=0"):
        quant_baseline_levels(6, 0)
