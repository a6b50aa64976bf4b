"""Smoothness-aware methods DCGD+ and DIANA+ (Wang, Safaryan, Richtárik 2021, seed 000, Alg. 1
and 2), their theory parameters (Thm 1, 2) and the step rules of seed 000 §4–5 for the
quantizers and sparsifiers of ``jcomp.compressors._smoothness_aware`` (spec ALGORITHMS.md §5.2).

Matrix smoothness: ``f_i(x) ≤ f_i(y) + ⟨∇f_i(y), x − y⟩ + ½‖x − y‖²_{L_i}`` with ``L_i ⪰ 0``
(:func:`smoothness_matrices`). Worker i compresses ``L_i^{†1/2}∇f_i`` and the server decodes with
``L_i^{1/2}``; both roots are computed once, in float64 on the host (``eigh``), by ``init`` and
carried in the state. The methods assume ``∇f_i(x) ∈ range(L_i)`` for every x (seed 000 Lemma E.3
of Hanzely & Richtárik: true for convex lower-bounded f_i; for a quadratic with a singular A_i it
needs ``b_i ∈ range(A_i)``); the theory functions check it at ``x = 0`` and at x*.

Per-worker compressors. The paper's C_i differ by worker (steps h_i from L_i). The compressors
``varying_step``, ``block_quant`` and ``rand_tau`` take either one shared parameter row or n rows
(worker i uses row i), and :func:`quant_plus`, :func:`block_quant_plus` and
:func:`rand_tau_plus` return them with the n per-worker rows of the step rules. The algorithms
only call ``compressor(key, X)`` on the ``(n, d)`` rows, so any per-worker-parameterized
compressor works unchanged. The theory (:func:`worker_constants`) evaluates seed 000's "paper" or
"tight" forms row by row for ``varying_step`` and ``block_quant`` (shared or per-worker rows);
for any other compressor it reads the per-worker constants through two optional methods (the
protocol a per-worker compressor implements; ``rand_tau`` does, with its exact constants):

* ``worker_omega(d, n) -> sequence of n floats``: ω_i of each worker's compressor;
* ``worker_matrix_smoothness_bound(Ls) -> sequence of n floats``: an upper bound on
  ``𝓛(C_i, L_i)`` for ``Ls`` of shape (n, d, d).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from ..compressors._smoothness_aware import (
    block_quant,
    block_sizes,
    rand_tau,
    rand_tau_probabilities,
    varying_step,
)
from ._base import (
    Algorithm,
    Cost,
    Info,
    broadcast_cost,
    check_step_size,
    message_cost,
    zero_cost,
)
from ._checks import check_compressor, check_unit_interval, compressor_name, require
from ._entry import AlgorithmEntry

__all__ = [
    "CONSTANTS",
    "DCGDPlusState",
    "DIANAPlusState",
    "ENTRIES",
    "METHODS",
    "block_quant_common_step",
    "block_quant_plus",
    "block_quant_plus_steps",
    "dcgd_plus",
    "dcgd_plus_theory",
    "diana_plus",
    "diana_plus_theory",
    "fixed_level_steps",
    "matrix_roots",
    "quant_baseline_levels",
    "quant_plus",
    "quant_plus_steps",
    "rand_tau_plus",
    "rand_tau_plus_probabilities",
    "smoothness_matrices",
    "worker_constants",
]

#: Step rules exist for each method: ``"dcgd+"`` (minimize 𝓛_i) and ``"diana+"``
#: (minimize ω_i + 𝓛_i/(nμ)).
METHODS = ("dcgd+", "diana+")
#: Compressor constants in the theory: ``"paper"`` (seed 000's bounds, spec §5.2 default) or
#: ``"tight"`` (the min-forms of spec §4).
CONSTANTS = ("paper", "tight")


# ------------------------------------------------------------------------ smoothness matrices


def _unwrap(problem):
    """The innermost problem of wrappers holding an ``inner`` problem (stochastic oracle)."""
    seen = 0
    while seen < 8:
        try:
            inner = problem.inner
        except AttributeError:
            return problem
        if inner is None:
            return problem
        problem, seen = inner, seen + 1
    return problem


def _structured_matrices(p):
    """``L_i = c_i S + τI`` of a StructuredQuadratic as a dense (n, d, d) array (traceable)."""
    d = p.d
    eye = jnp.eye(d, dtype=p.b.dtype)
    if p.kind == "identity":
        S = eye
    elif p.kind == "tridiag":
        S = 2 * eye - jnp.eye(d, k=1, dtype=p.b.dtype) - jnp.eye(d, k=-1, dtype=p.b.dtype)
    else:
        S = p.S
    return p.c[:, None, None] * S[None] + p.tau * eye[None]


#: Largest n·d² the smoothness-aware methods build (their n dense (d, d) matrices, roots and
#: pseudo-inverse roots): beyond it they refuse with a clear error instead of exhausting memory.
MAX_MATRIX_ELEMENTS = 2**31


def smoothness_matrices(problem) -> jax.Array:
    """The smoothness matrices ``L_i`` (n, d, d) of seed 000's matrix smoothness.

    ``problem.smoothness_matrices()`` when the problem defines it (the intended home of this
    rule: L2-logistic regression gives ``(1/(4m))A_iᵀA_i + λI``); otherwise, for quadratics
    ``f_i = ½xᵀA_ix − b_iᵀx``, ``L_i = A_i`` (dense :class:`~jcomp.problems.Quadratic`, or
    ``c_iS + τI`` of a :class:`~jcomp.problems.StructuredQuadratic`), looking through wrappers
    with an ``inner`` problem (the stochastic oracle). Traceable (pure jnp on the problem's
    leaves). ``A_i`` must be PSD for ``L_i = A_i`` to be valid (checked by the theory functions).
    """
    n, d = getattr(problem, "n", 0), getattr(problem, "d", 0)
    if n * d * d > MAX_MATRIX_ELEMENTS:
        raise ValueError(
            f"smoothness_matrices: n·d² = {n}·{d}² = {n * d * d:.3g} elements (n = {n}, d = {d}) "
            f"exceeds MAX_MATRIX_ELEMENTS = {MAX_MATRIX_ELEMENTS:.3g} (8 GiB in float32): the "
            "smoothness-aware methods (dcgd+, diana+) store n dense (d, d) matrices and their "
            "roots; use a smaller n or d, or raise jcomp.algorithms._smoothness_aware."
            "MAX_MATRIX_ELEMENTS deliberately"
        )
    fn = getattr(problem, "smoothness_matrices", None)
    if callable(fn):
        return jnp.asarray(fn())
    from ..problems import Quadratic, StructuredQuadratic

    base = _unwrap(problem)
    fn = getattr(base, "smoothness_matrices", None)
    if callable(fn):
        return jnp.asarray(fn())
    if isinstance(base, Quadratic):
        return base.A
    if isinstance(base, StructuredQuadratic):
        return _structured_matrices(base)
    raise TypeError(
        f"smoothness_matrices: problem {type(problem).__name__} does not define "
        "smoothness_matrices() and is not a quadratic: smoothness-aware methods need the "
        "matrices L_i (n, d, d)"
    )


def _roots_np(Ls) -> tuple[np.ndarray, np.ndarray]:
    """Host float64 ``(L_i^{1/2}, L_i^{†1/2})`` of symmetric PSD ``Ls`` (n, d, d) by ``eigh``.

    Eigenvalues at most ``d·eps·max_j|λ_j|`` (numpy's rank tolerance) count as 0 in both roots,
    so ``L^{1/2}L^{†1/2}`` is the orthogonal projection onto the kept eigenvectors; negative
    eigenvalues beyond the tolerance (a non-PSD input) are also dropped.
    """
    L = np.asarray(Ls, np.float64)
    L = 0.5 * (L + np.swapaxes(L, -1, -2))
    lam, Q = np.linalg.eigh(L)
    d = L.shape[-1]
    tol = d * np.finfo(np.float64).eps * np.max(np.abs(lam), axis=-1, keepdims=True)
    keep = lam > tol
    safe = np.where(keep, lam, 1.0)
    r = np.where(keep, np.sqrt(safe), 0.0)
    rinv = np.where(keep, 1.0 / np.sqrt(safe), 0.0)
    sqrt = np.einsum("...ik,...k,...jk->...ij", Q, r, Q)
    pinv_sqrt = np.einsum("...ik,...k,...jk->...ij", Q, rinv, Q)
    return sqrt, pinv_sqrt


def matrix_roots(Ls) -> tuple[jax.Array, jax.Array]:
    """``(L_i^{1/2}, L_i^{†1/2})`` (each (n, d, d), the dtype of ``Ls``), computed on the host in
    float64 (:func:`jax.pure_callback` around numpy ``eigh``), also inside jit and in float32
    runs. Pseudo-inverse rank tolerance: ``d·eps₆₄·λ_max``."""
    Ls = jnp.asarray(Ls)
    dtype = Ls.dtype

    def host(L):
        s, p = _roots_np(L)
        return s.astype(dtype), p.astype(dtype)

    shape = jax.ShapeDtypeStruct(Ls.shape, dtype)
    return jax.pure_callback(host, (shape, shape), Ls, vmap_method="sequential")


# --------------------------------------------------------------------------------- helpers


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class _StaticProx:
    """A plain Python ``prox(v, step)`` callable held as static configuration."""

    fn: Callable

    def __call__(self, v, step):
        return self.fn(v, step)


def _check_prox(prox, where: str):
    if prox is None or isinstance(prox, Partial | _StaticProx):
        return prox
    if not callable(prox):
        raise TypeError(
            f"{where}prox={prox!r} is not allowed: expected None (R ≡ 0) or a callable "
            "prox(v, step) returning prox_{step·R}(v)"
        )
    return _StaticProx(prox)


def _check_extra_setup(value, where: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(
            f"{where}extra_setup_floats={value!r} is not allowed: expected None (by compressor) "
            "or an integer ≥ 0"
        )
    return int(value)


def _apply_prox(prox, v, step_size):
    return v if prox is None else prox(v, step_size)


def _default_extra_setup(compressor, d: int) -> int:
    """Floats per worker beyond L_i^{1/2} that the server needs to decode (spec §5.2):
    quant+ (varying-step Q_h) its d steps; block quant+ its B steps; anything else 0."""
    name = getattr(compressor, "name", None)
    if name == "varying_step":
        return d
    if name == "block_quant":
        return int(compressor.blocks)
    return 0


def _setup(compressor, extra_setup_floats, problem):
    n, d = problem.n, problem.d
    dtype = problem.x_star.dtype if problem.x_star is not None else jnp.result_type(float)
    extra = (
        _default_extra_setup(compressor, d) if extra_setup_floats is None else extra_setup_floats
    )
    floats = d * d + extra
    fb = compressor.float_bits
    up = Cost(
        jnp.full((n,), fb * floats, dtype),
        jnp.full((n,), fb * floats, dtype),
        jnp.full((n,), floats, dtype),
    )
    return Info(up=up, down=zero_cost(n, dtype))


def _matvec(M, X):
    """Row i: ``M[i] @ X[i]`` for M (n, d, d), X (n, d)."""
    return jnp.einsum("nij,nj->ni", M, X)


def _check_factory(compressor, step_size, prox, extra_setup_floats, allow_biased, where):
    if not isinstance(allow_biased, bool):
        raise ValueError(
            f"{where}allow_biased={allow_biased!r} is not allowed: expected True or False"
        )
    check_compressor(compressor, where, unbiased=not allow_biased)
    check_step_size(step_size, where=where)
    return _check_prox(prox, where), _check_extra_setup(extra_setup_floats, where)


# ------------------------------------------------------------------------------------ DCGD+


class DCGDPlusState(NamedTuple):
    x: jax.Array  # (d,) server model
    L_sqrt: jax.Array  # (n, d, d) L_i^{1/2}, held by the server
    L_pinv_sqrt: jax.Array  # (n, d, d) L_i^{†1/2}, held by worker i


def _dcgd_plus_init(key, problem, x0):
    del key
    L_sqrt, L_pinv_sqrt = matrix_roots(smoothness_matrices(problem).astype(x0.dtype))
    return DCGDPlusState(x=x0, L_sqrt=L_sqrt, L_pinv_sqrt=L_pinv_sqrt)


def _dcgd_plus_step(compressor, prox, step_size, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, _matvec(state.L_pinv_sqrt, grads))  # C_i(L_i^{†1/2}∇f_i(x))
    g = jnp.mean(_matvec(state.L_sqrt, msg.values), axis=0)  # (d,) (1/n)Σ L_i^{1/2}C_i(·)
    x_new = _apply_prox(prox, x - step_size * g, step_size)
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return state._replace(x=x_new), info


def dcgd_plus(
    compressor, step_size, prox=None, extra_setup_floats=None, allow_biased=False
) -> Algorithm:
    """DCGD+ (seed 000 Alg. 1; spec ALGORITHMS.md §5.2)::

        g = (1/n)Σ_i L_i^{1/2} C_i(L_i^{†1/2}∇f_i(x)),   x ← prox_{γR}(x − γg).

    ``L_i`` from :func:`smoothness_matrices`; ``init`` computes ``L_i^{1/2}`` (server) and
    ``L_i^{†1/2}`` (worker i) once, in float64 (:func:`matrix_roots`), and carries them in the
    state. ``prox(v, step)`` returns ``prox_{step·R}(v)`` (None: R ≡ 0, the identity); a
    :class:`jax.tree_util.Partial` prox may carry traced parameters, any other callable is static.

    Bits per worker: setup uplink ``32(d² + e)`` (L_i^{1/2}, plus ``e`` decoding parameters:
    ``extra_setup_floats``, by default d for quant+ (its steps h_i), B for block quant+, else 0,
    so 32d² for rand-τ+; pass 0 for a fixed-level quantizer the server already knows); per step
    uplink = the compressor's message, downlink one 32d broadcast of x. ``compressor`` must be
    unbiased (``allow_biased=True`` admits e.g. the authors' unscaled rand-τ; no theory then).
    Converges linearly to a neighbourhood ``2γσ_+*/(μn)``, ``σ_+* = (1/n)Σ𝓛_i‖∇f_i(x*)‖²_{L_i^†}``
    (Thm 1), to x* when every ∇f_i(x*) = 0. Theory step: :func:`dcgd_plus_theory`.
    """
    where = "dcgd_plus: "
    prox, extra = _check_factory(
        compressor, step_size, prox, extra_setup_floats, allow_biased, where
    )
    return Algorithm(
        init=Partial(_dcgd_plus_init),
        step=Partial(_dcgd_plus_step, compressor, prox, step_size),
        setup=Partial(_setup, compressor, extra),
    )


# ----------------------------------------------------------------------------------- DIANA+


class DIANAPlusState(NamedTuple):
    x: jax.Array  # (d,) server model
    u: jax.Array  # (n, d) worker shifts u_i ∈ range(L_i)
    u_bar: jax.Array  # (d,) the server's copy of u = (1/n)Σu_i
    L_sqrt: jax.Array  # (n, d, d) L_i^{1/2}, held by the server (and worker i)
    L_pinv_sqrt: jax.Array  # (n, d, d) L_i^{†1/2}, held by worker i


def _diana_plus_init(key, problem, x0):
    del key
    L_sqrt, L_pinv_sqrt = matrix_roots(smoothness_matrices(problem).astype(x0.dtype))
    return DIANAPlusState(
        x=x0,
        u=jnp.zeros((problem.n, problem.d), x0.dtype),
        u_bar=jnp.zeros_like(x0),
        L_sqrt=L_sqrt,
        L_pinv_sqrt=L_pinv_sqrt,
    )


def _diana_plus_step(compressor, prox, step_size, alpha, key, state, problem):
    key_oracle, key_comp = jax.random.split(key)
    x = state.x
    grads = problem.worker_grads(problem.broadcast(x), key_oracle)  # (n, d) ∇f_i(x)
    msg = compressor(key_comp, _matvec(state.L_pinv_sqrt, grads - state.u))  # Δ_i
    delta = _matvec(state.L_sqrt, msg.values)  # (n, d) Δ̄_i = L_i^{1/2}Δ_i
    delta_bar = jnp.mean(delta, axis=0)  # (d,)
    g = state.u_bar + delta_bar
    new = state._replace(
        x=_apply_prox(prox, x - step_size * g, step_size),
        u=state.u + alpha * delta,
        u_bar=state.u_bar + alpha * delta_bar,
    )
    info = Info(up=message_cost(msg), down=broadcast_cost(problem.n, problem.d, x.dtype))
    return new, info


def diana_plus(
    compressor, step_size, alpha, prox=None, extra_setup_floats=None, allow_biased=False
) -> Algorithm:
    """DIANA+ (seed 000 Alg. 2; spec ALGORITHMS.md §5.2), shifts ``u_i⁰ = 0``, ``u⁰ = 0``::

        Δ_i = C_i(L_i^{†1/2}(∇f_i(x) − u_i)),   Δ̄_i = L_i^{1/2}Δ_i,   g = u + (1/n)Σ Δ̄_i,
        x ← prox_{γR}(x − γg),   u_i ← u_i + αΔ̄_i,   u ← u + α(1/n)ΣΔ̄_i.

    Roots, ``prox``, setup traffic and per-step bits as :func:`dcgd_plus` (uplink Δ_i's message,
    downlink one 32d broadcast of x). ``alpha`` ∈ (0, 1]. With γ, α of
    :func:`diana_plus_theory`, x → x* and u_i → ∇f_i(x*) linearly (Thm 2).
    """
    where = "diana_plus: "
    prox, extra = _check_factory(
        compressor, step_size, prox, extra_setup_floats, allow_biased, where
    )
    check_unit_interval(alpha, "alpha", where=where)
    return Algorithm(
        init=Partial(_diana_plus_init),
        step=Partial(_diana_plus_step, compressor, prox, step_size, alpha),
        setup=Partial(_setup, compressor, extra),
    )


# ------------------------------------------------------------------------------------ theory


def _diag(Ls: np.ndarray) -> np.ndarray:
    return np.einsum("...jj->...j", Ls)


def _block_diag_norms(diag: np.ndarray, blocks: int) -> np.ndarray:
    """``‖Diag(L^{ll})‖`` (..., B) of contiguous blocks (:func:`block_sizes`)."""
    d = diag.shape[-1]
    starts = np.cumsum((0,) + block_sizes(d, blocks)[:-1])
    return np.sqrt(np.add.reduceat(diag * diag, starts, axis=-1))


def _host_matrices(problem, where: str) -> np.ndarray:
    """L_i (n, d, d) as float64 numpy, checked symmetric PSD."""
    Ls = np.asarray(jax.device_get(smoothness_matrices(problem)), np.float64)
    n, d = problem.n, problem.d
    if Ls.shape != (n, d, d):
        raise ValueError(f"{where}smoothness matrices have shape {Ls.shape}; expected {(n, d, d)}")
    scale = np.abs(Ls).max(initial=0.0)
    if np.abs(Ls - np.swapaxes(Ls, 1, 2)).max(initial=0.0) > 1e-10 * scale:
        raise ValueError(f"{where}the smoothness matrices L_i must be symmetric")
    lam = np.linalg.eigvalsh(0.5 * (Ls + np.swapaxes(Ls, 1, 2)))
    bad = lam.min(axis=1) < -1e-10 * np.maximum(np.abs(lam).max(axis=1), 1e-300)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{where}the smoothness matrix of worker {i} is not positive semidefinite "
            f"(λ_min = {lam[i].min():.3g}): matrix smoothness needs L_i ⪰ 0"
        )
    return Ls


def _check_range(problem, Ls, where: str) -> None:
    """∇f_i(x) ∈ range(L_i) at x = 0 and x = x* (seed 000's standing inclusion)."""
    sqrt, pinv_sqrt = _roots_np(Ls)
    proj = np.einsum("nij,njk->nik", sqrt, pinv_sqrt)
    eps = np.finfo(np.dtype(problem.x_star.dtype if problem.x_star is not None else float)).eps
    points = [np.zeros(problem.d)]
    if problem.x_star is not None:
        points.append(np.asarray(problem.x_star, np.float64))
    for x in points:
        X = jnp.asarray(np.broadcast_to(x, (problem.n, problem.d)), jnp.result_type(float))
        G = np.asarray(problem.worker_grads(X), np.float64)
        res = np.linalg.norm(G - np.einsum("nij,nj->ni", proj, G), axis=1)
        scale = np.linalg.norm(G, axis=1)
        if np.any(res > math.sqrt(eps) * np.maximum(scale, 1e-300)):
            i = int(np.argmax(res / np.maximum(scale, 1e-300)))
            raise ValueError(
                f"{where}∇f_{i}(x) is not in range(L_{i}) (relative residual "
                f"{res[i] / max(scale[i], 1e-300):.3g}): DCGD+/DIANA+ need ∇f_i(x) ∈ range(L_i) "
                "(for a quadratic with a singular A_i: b_i ∈ range(A_i))"
            )


def _check_constants(constants, where):
    if constants not in CONSTANTS:
        raise ValueError(
            f"{where}constants={constants!r} is not allowed: expected one of {CONSTANTS}"
        )


def worker_constants(problem, compressor, constants="paper") -> tuple[np.ndarray, np.ndarray]:
    """``(ω_i, 𝓛_i)`` (each (n,), float64) of worker i's compressor with ``L_i`` (spec §5.2).

    Worker i's compressor with ``L_i``; ``constants="paper"`` (default) uses seed 000's bounds,
    ``"tight"`` the min-forms. Quantizers with a shared or per-worker parameter row (h = h_i,
    the worker's row):

    * varying-step Q_h (quant+): ω = min(‖h‖², ‖h‖); 𝓛 = ‖Diag(L)h‖ (paper, eq. 15) /
      min(Σ_j L_jj h_j², ‖Diag(L)h‖) (tight);
    * block quant: ω = max_l h_l√d_l, 𝓛 = max_l h_l‖Diag(L^{ll})‖ (paper, eq. 10) /
      ω = max_l min(d_lh_l², √d_lh_l), 𝓛 = max_l min(h_l²‖Diag(L^{ll})‖₁, h_l‖Diag(L^{ll})‖);

    then a compressor with the per-worker protocol (module docstring) answers through
    ``worker_omega`` and ``worker_matrix_smoothness_bound``, e.g.

    * rand-τ+ (scaled): ω = max_j(1/p_j − 1), 𝓛 = max_j(1/p_j − 1)L_jj (exact, both);

    and otherwise the shared compressor's constants:

    * ℓ2 dithering with s levels (quant; = Q_h with h_j = 1/s): ω = min(d/s², √d/s);
      𝓛 = ‖Diag(L)‖/s (paper) / min(Σ_j L_jj/s², ‖Diag(L)‖/s) (tight);
    * any other unbiased compressor: its ``matrix_smoothness_bound(L)`` if defined, else the
      generic ``𝓛 ≤ ω·λ_max(L)`` (spec §1); identity: 0.
    """
    where = "worker_constants: "
    _check_constants(constants, where)
    check_compressor(compressor, where, unbiased=True)
    Ls = _host_matrices(problem, where)
    return _worker_constants(compressor, Ls, problem.n, constants, where)


def _param_rows(compressor, field, n, where) -> np.ndarray:
    """A compressor parameter as (n, k) float64: its shared row repeated, or its n worker rows."""
    a = np.asarray(getattr(compressor, field), np.float64)
    if a.ndim == 2 and a.shape[0] != n:
        raise ValueError(
            f"{where}compressor={compressor_name(compressor)}: {field} has {a.shape[0]} rows "
            f"(per-worker parameters) but the problem has n={n} workers"
        )
    return np.broadcast_to(a, (n, a.shape[-1]))


def _worker_constants(compressor, Ls, n, constants, where):
    d = Ls.shape[-1]
    diag = _diag(Ls)  # (n, d)
    name = getattr(compressor, "name", None)
    paper = constants == "paper"
    if name == "varying_step":
        h = _param_rows(compressor, "h", n, where)  # (n, d)
        sq = np.sum(h * h, axis=1)
        dh = np.linalg.norm(diag * h, axis=1)
        cl = dh if paper else np.minimum(np.sum(diag * h * h, axis=1), dh)
        return np.minimum(sq, np.sqrt(sq)), cl
    if name == "block_quant":
        B = int(compressor.blocks)
        hb = _param_rows(compressor, "h_blocks", n, where)  # (n, B)
        sizes = np.asarray(block_sizes(d, B), np.float64)
        norms = _block_diag_norms(diag, B)  # (n, B)
        if paper:
            return np.max(hb * np.sqrt(sizes), axis=1), np.max(hb * norms, axis=1)
        starts = np.cumsum((0,) + block_sizes(d, B)[:-1])
        l1 = np.add.reduceat(diag, starts, axis=1)
        omega = np.max(np.minimum(sizes * hb * hb, np.sqrt(sizes) * hb), axis=1)
        return omega, np.max(np.minimum(hb * hb * l1, hb * norms), axis=1)
    if hasattr(compressor, "worker_omega") and hasattr(
        compressor, "worker_matrix_smoothness_bound"
    ):
        om = np.asarray(compressor.worker_omega(d, n), np.float64)
        cl = np.asarray(compressor.worker_matrix_smoothness_bound(Ls), np.float64)
        if om.shape != (n,) or cl.shape != (n,):
            raise ValueError(
                f"{where}compressor={compressor_name(compressor)}: worker_omega and "
                f"worker_matrix_smoothness_bound must give {n} values; got shapes {om.shape}, "
                f"{cl.shape}"
            )
        return om, cl
    omega = require(compressor.omega(d, n), "omega(d, n)", compressor, where)
    if name == "dithering" and getattr(compressor, "norm", None) == "l2":
        s = float(compressor.s)
        dn = np.linalg.norm(diag, axis=1) / s
        cl = dn if paper else np.minimum(np.sum(diag, axis=1) / s**2, dn)
        return np.full(n, omega), cl
    bound = getattr(compressor, "matrix_smoothness_bound", None)
    if callable(bound):
        cl = np.array([float(bound(L)) for L in Ls])
    else:
        cl = omega * np.linalg.eigvalsh(Ls).max(axis=1).clip(min=0.0)
    return np.full(n, omega), cl


def _theory_constants(problem, compressor, constants, where):
    _check_constants(constants, where)
    check_compressor(compressor, where, unbiased=True)
    Ls = _host_matrices(problem, where)
    _check_range(problem, Ls, where)
    omega, cl = _worker_constants(compressor, Ls, problem.n, constants, where)
    return float(problem.constants.L), float(np.max(omega)), float(np.max(cl))


def dcgd_plus_theory(problem, compressor, constants="paper") -> dict:
    """Seed 000 Thm 1 (spec §5.2): ``γ = 1/(L + (2/n)𝓛_max)``, ``𝓛_max = max_i 𝓛(C_i, L_i)``.

    L: the problem's smoothness constant of f (``constants.L``; ``λ_max((1/n)ΣL_i)`` for
    logistic regression, ``‖Ā‖`` for quadratics). 𝓛_i from :func:`worker_constants` with
    ``constants`` ("paper" default, or "tight"). Returns ``step_size``.
    """
    L, _, cl_max = _theory_constants(problem, compressor, constants, "dcgd_plus_theory: ")
    return {"step_size": 1.0 / (L + 2.0 * cl_max / problem.n)}


def diana_plus_theory(problem, compressor, constants="paper") -> dict:
    """Seed 000 Thm 2 (spec §5.2): ``γ = 1/(L + (6/n)𝓛_max)``, ``α = 1/(1 + ω_max)``.

    ω_i, 𝓛_i from :func:`worker_constants` (``constants`` "paper" default, or "tight").
    This is the generic DIANA theorem (Gorbunov et al. 2020) with M = 4𝓛_max/(nα): the
    Lyapunov function ``‖x − x*‖² + Mγ²(1/n)Σ‖u_i − ∇f_i(x*)‖²_{L_i^†}`` contracts by
    ``max(1 − γμ, 1 − α/2)`` per step. Returns ``step_size`` and ``alpha``.
    """
    L, om_max, cl_max = _theory_constants(problem, compressor, constants, "diana_plus_theory: ")
    return {"step_size": 1.0 / (L + 6.0 * cl_max / problem.n), "alpha": 1.0 / (1.0 + om_max)}


# -------------------------------------------------------------------------------- step rules


def _check_method(method, where):
    if method not in METHODS:
        raise ValueError(f"{where}method={method!r} is not allowed: expected one of {METHODS}")


def _as_matrices(L, where) -> tuple[np.ndarray, object]:
    """(Ls (n, d, d) float64, the problem or None) from a problem or an array."""
    if hasattr(L, "worker_grads"):
        return np.asarray(jax.device_get(smoothness_matrices(L)), np.float64), L
    try:
        Ls = np.asarray(L, np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}L={L!r} is not allowed: expected a problem or an array of smoothness "
            "matrices (n, d, d)"
        ) from None
    if Ls.ndim != 3 or Ls.shape[1] != Ls.shape[2] or 0 in Ls.shape:
        raise ValueError(f"{where}L must have shape (n, d, d) with n, d ≥ 1; got {Ls.shape}")
    if not np.all(np.isfinite(Ls)):
        raise ValueError(f"{where}L must be finite")
    return Ls, None


def _positive(name, value, where, strict_above=0.0):
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.integer | np.floating)
        or not math.isfinite(float(value))
        or not float(value) > strict_above
    ):
        raise ValueError(
            f"{where}{name}={value!r} is not allowed: expected a finite number > {strict_above:g}"
        )
    return float(value)


def _mu(mu, problem, where):
    if mu is None and problem is not None and problem.constants.mu is not None:
        mu = float(problem.constants.mu)
    if mu is None:
        raise ValueError(f"{where}mu=None is not allowed for method='diana+': pass μ > 0")
    return _positive("mu", mu, where)


def quant_plus_steps(L, beta=None, method="dcgd+", *, mu=None) -> np.ndarray:
    """Per-worker steps h_i of quant+ (varying-step Q_h), (n, d) float64 (spec §5.2).

    ``L``: a problem (its :func:`smoothness_matrices`; μ defaults to ``constants.mu``) or the
    matrices (n, d, d); n is their leading axis. ``beta`` (default d/n) is the bit budget
    ``‖h_i^{-1}‖ = β``, met exactly by both rules:

    * ``"dcgd+"``, seed 000 eq. (17): ``h_ij = (1/β)√(Σ_t L_i;tt / L_i;jj)`` (every L_i;jj > 0),
      the minimizer of ``‖Diag(L_i)h‖``: ``L_i;jj h_ij²`` is constant over j;
    * ``"diana+"``, eq. (19): ``h_ij = (1/β)√(Σ_t√(1+a_it²) / √(1+a_ij²))``,
      ``a_ij = L_i;jj/(nμ)``, the minimizer of ``Σ_j(1 + a_ij²)h_j²``:
      ``(1 + a_ij²)h_ij⁴`` is constant over j.
    """
    where = "quant_plus_steps: "
    _check_method(method, where)
    Ls, problem = _as_matrices(L, where)
    n, d = Ls.shape[:2]
    beta = d / n if beta is None else _positive("beta", beta, where)
    diag = _diag(Ls)
    if method == "dcgd+":
        if not np.all(diag > 0):
            raise ValueError(
                f"{where}every diagonal entry L_i;jj must be > 0 for method='dcgd+' (eq. 17 "
                f"divides by it); got min {diag.min()!r}"
            )
        return np.sqrt(diag.sum(axis=1, keepdims=True) / diag) / beta
    a = diag / (n * _mu(mu, problem, where))
    w = np.sqrt(1.0 + a * a)
    return np.sqrt(w.sum(axis=1, keepdims=True) / w) / beta


def block_quant_plus_steps(
    L, beta=None, blocks=None, method="dcgd+", *, mu=None, code_faithful=False
) -> np.ndarray:
    """Per-worker block steps h_i of block quant+, (n, B) float64 (spec §5.2).

    Contiguous blocks (:func:`~jcomp.compressors._smoothness_aware.block_sizes`), default
    ``B = n``, ``β = d/n + n``; ``β > B`` required. With ``D_il = ‖Diag(L_i^{ll})‖``:

    * ``"dcgd+"``, eq. (12): ``A_il = D_il`` (every D_il > 0);
    * ``"diana+"``, eq. (14) **(derived: exact root)**: ``A_il = √d_l + D_il/(nμ)``;

    and ``h_il = δ_i/A_il`` with δ_i the positive root of
    ``(β − B)δ² − (Σ_l√d_l A_il)δ − Σ_l A_il² = 0``, so the budget (11)
    ``Σ_l(1/h_il² + √d_l/h_il) + B = β`` holds exactly and ``h_il·A_il`` is constant over l
    (for dcgd+, ``Σ_l A_il² = ‖Diag(L_i)‖²`` as in the paper).
    ``code_faithful=True``: dcgd+ uses the paper's upper bound
    ``δ = (d/(β−B))T_B + √(d/(β−B))·T_1`` (the authors' code), diana+ the paper's closed form
    (P:L704) ``δ̃ = dT̃_B/(2(β−B)) + √(d²T̃_B²/(4(β−B)²) + dT̃_1²/(β−B))`` with
    ``T̃_B = (1/d)Σ_l√d_l A_il``, ``T̃_1 = (√d + ‖Diag(L_i)‖/(nμ))/√d``; neither meets (11).
    """
    where = "block_quant_plus_steps: "
    _check_method(method, where)
    if not isinstance(code_faithful, bool):
        raise ValueError(f"{where}code_faithful={code_faithful!r} is not allowed: expected a bool")
    Ls, problem = _as_matrices(L, where)
    n, d = Ls.shape[:2]
    B = n if blocks is None else blocks
    if isinstance(B, bool) or not isinstance(B, int | np.integer) or not 1 <= B <= d:
        raise ValueError(
            f"{where}blocks={blocks!r} is not allowed: expected an integer in [1, {d}]"
        )
    B = int(B)
    beta = d / n + n if beta is None else beta
    beta = _positive("beta", beta, where, strict_above=B)
    c = beta - B
    sizes = np.asarray(block_sizes(d, B), np.float64)
    diag = _diag(Ls)
    D = _block_diag_norms(diag, B)  # (n, B)
    if method == "dcgd+":
        if not np.all(D > 0):
            raise ValueError(
                f"{where}every block must have a nonzero diagonal ‖Diag(L_i^ll)‖ > 0 for "
                "method='dcgd+' (eq. 12 divides by it)"
            )
        A = D
    else:
        A = np.sqrt(sizes) + D / (n * _mu(mu, problem, where))
    S1 = np.sum(np.sqrt(sizes) * A, axis=1)  # Σ_l √d_l A_il = d·T_B
    if not code_faithful:
        S2 = np.sum(A * A, axis=1)
        delta = (S1 + np.sqrt(S1 * S1 + 4.0 * c * S2)) / (2.0 * c)
    elif method == "dcgd+":
        delta = S1 / c + np.linalg.norm(diag, axis=1) / math.sqrt(c)
    else:
        t1 = math.sqrt(d) + np.linalg.norm(diag, axis=1) / (n * _mu(mu, problem, where))
        delta = S1 / (2.0 * c) + np.sqrt(S1 * S1 / (4.0 * c * c) + t1 * t1 / c)
    return delta[:, None] / A


def rand_tau_plus_probabilities(L, tau=None, method="dcgd+", *, mu=None) -> np.ndarray:
    """Per-worker keep probabilities of rand-τ+, (n, d) float64 (spec §5.2, **derived**).

    ``"dcgd+"``: ``p_ij = L_i;jj/(L_i;jj + c_i)``; ``"diana+"``: ``p_ij = a_ij/(a_ij + c_i)``,
    ``a_ij = 1 + L_i;jj/(nμ)``; c_i > 0 such that ``Σ_j p_ij = τ`` (default ``⌊d/n⌋``), by
    :func:`~jcomp.compressors.rand_tau_probabilities`. Then ``(1/p_ij − 1)a_ij = c_i`` for
    every j (a = L_i;jj for dcgd+).
    """
    where = "rand_tau_plus_probabilities: "
    _check_method(method, where)
    Ls, problem = _as_matrices(L, where)
    n, d = Ls.shape[:2]
    if tau is None:
        tau = d // n
        if tau < 1:
            raise ValueError(f"{where}the default tau = ⌊d/n⌋ = 0 (d={d}, n={n}): pass tau")
    tau = _positive("tau", tau, where)
    if not tau < d:
        raise ValueError(f"{where}tau={tau!r} is out of range: expected a number in (0, d={d})")
    diag = _diag(Ls)
    a = diag if method == "dcgd+" else 1.0 + diag / (n * _mu(mu, problem, where))
    return np.array([rand_tau_probabilities(a_i, tau) for a_i in a])


def quant_baseline_levels(d: int, n: int) -> int:
    """Baseline quant levels ``s = max(1, ⌊√d/n⌋)`` (spec §5.2; seed 000 §3.3), computed with
    integers (``⌊√d/n⌋ = ⌊⌊√d⌋/n⌋``). Also the per-block s of the block quant baseline."""
    for name, v in (("d", d), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(
                f"quant_baseline_levels: {name}={v!r} is not allowed: expected an integer ≥ 1"
            )
    return max(1, math.isqrt(int(d)) // int(n))


def fixed_level_steps(d: int, n: int) -> np.ndarray:
    """DIANA+ (quant) fixed-level baseline steps ``h_j = n/√d`` (d,) (spec §5.2; seed 000
    Fig. 7). The server knows them: run with ``extra_setup_floats=0`` (setup 32d²)."""
    quant_baseline_levels(d, n)  # validates d, n
    return np.full(int(d), n / math.sqrt(d))


def block_quant_common_step(d: int, blocks: int, beta: float) -> float:
    """One common block step h meeting the budget (11) exactly:
    ``B(1/h²) + (Σ_l√d_l)/h + B = β``, i.e. ``h = (S + √(S² + 4B(β − B)))/(2(β − B))``,
    ``S = Σ_l√d_l``. For equal blocks d_b this is the spec's
    ``h = (√d_b + √(d_b + 4c))/(2c)``, ``c = β/B − 1`` (seed 000 Fig. 5's DIANA+ (block quant))."""
    where = "block_quant_common_step: "
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
        raise ValueError(f"{where}d={d!r} is not allowed: expected an integer ≥ 1")
    if isinstance(blocks, bool) or not isinstance(blocks, int | np.integer) or not 1 <= blocks <= d:
        raise ValueError(
            f"{where}blocks={blocks!r} is not allowed: expected an integer in [1, {d}]"
        )
    beta = _positive("beta", beta, where, strict_above=blocks)
    S = math.fsum(math.sqrt(s) for s in block_sizes(int(d), int(blocks)))
    c = beta - blocks
    return (S + math.sqrt(S * S + 4.0 * blocks * c)) / (2.0 * c)


# ------------------------------------------------------------------ per-worker builders


def _rows(a: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in r) for r in a)


def quant_plus(problem, method="dcgd+", beta=None, *, mu=None, encoder="qsgd"):
    """quant+: a per-worker :func:`~jcomp.compressors.varying_step` whose worker i uses the
    steps h_i of :func:`quant_plus_steps` (n rows, also when they agree). ``problem``: a problem
    or the matrices (n, d, d); the compressor serves exactly those n workers."""
    h = quant_plus_steps(problem, beta, method, mu=mu)
    return varying_step(_rows(h), encoder)


def block_quant_plus(
    problem, method="dcgd+", beta=None, blocks=None, *, mu=None, code_faithful=False
):
    """block quant+: a per-worker :func:`~jcomp.compressors.block_quant` whose worker i uses the
    block steps h_i of :func:`block_quant_plus_steps` (n rows of B)."""
    h = block_quant_plus_steps(problem, beta, blocks, method, mu=mu, code_faithful=code_faithful)
    return block_quant(_rows(h), h.shape[1])


def rand_tau_plus(problem, method="dcgd+", tau=None, *, mu=None, scaled=True):
    """rand-τ+: a per-worker :func:`~jcomp.compressors.rand_tau` whose worker i keeps coordinate
    j with the probability p_ij of :func:`rand_tau_plus_probabilities` (n rows, each summing to
    τ, so every worker's expected cost is the same)."""
    p = rand_tau_plus_probabilities(problem, tau, method, mu=mu)
    return rand_tau(_rows(p), scaled)


ENTRIES = (
    AlgorithmEntry(
        "dcgd+",
        dcgd_plus,
        dcgd_plus_theory,
        "Wang, Safaryan, Richtárik 2021 (seed 000) Alg. 1, Thm 1",
        "unbiased",
        "γ = 1/(L + (2/n)𝓛_max), 𝓛_i = 𝓛(C_i, L_i) (seed 000 Thm 1; paper bounds)",
    ),
    AlgorithmEntry(
        "diana+",
        diana_plus,
        diana_plus_theory,
        "Wang, Safaryan, Richtárik 2021 (seed 000) Alg. 2, Thm 2",
        "unbiased",
        "γ = 1/(L + (6/n)𝓛_max), α = 1/(1 + ω_max) (seed 000 Thm 2; paper bounds)",
    ),
)
