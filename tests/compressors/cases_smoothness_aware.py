"""Property-harness cases for seed 000's smoothness-aware compressors (to be merged into
test_compressor_properties.CASES): tuples ``(id, compressor, d, n, exact)`` with ``exact`` ⊆
{"omega", "delta", "theta", "ab"}.

``varying_step`` and ``block_quant`` have data-dependent bits (``expected_cost`` raises
NotImplementedError, so the harness's ``test_expected_cost`` skips them; their realized bits are
checked against the encoders in test_smoothness_aware.py). rand-τ+ with uniform probabilities
p_j = τ/d is RandK-like with an independent coin per coordinate: ``E‖C(x) − x‖² = (1/p − 1)‖x‖²``
exactly, so ω, θ = ω/n and (A, B) = (ω/n, 0) hold with equality; with nonuniform p only the
bounds hold. The unscaled (authors') variant is B(min p_j), tight only for uniform p.

Per-worker parameters (one row per worker): rand-τ+ with each worker's DCGD+ probabilities for
its own diagonal (n = 3 rows, each summing to τ = 4, so every worker's expected cost equals
``expected_cost``); ω = max_i ω_i, θ = (1/n²)Σ_i ω_i and (A, B) = (max_i ω_i/n, 0) are bounds.
"""

from jcomp.compressors._smoothness_aware import (
    block_quant,
    rand_tau,
    rand_tau_probabilities,
    varying_step,
)

_D = 12
_DIAG = tuple(float(v) for v in (0.5, 1, 2, 4, 8, 0.25, 3, 1.5, 6, 0.1, 2.5, 10))
_DIAGS = (_DIAG, _DIAG[::-1], tuple(1.0 + 0.5 * j for j in range(_D)))
_H = (0.3, 1.7, 0.25, 0.6, 2.5, 0.05, 0.9, 0.4, 1.1, 0.2, 0.7, 0.15)  # some h_j > 1

CASES_SMOOTHNESS = [
    ("varying_step-qsgd", varying_step(_H), _D, 3, frozenset()),
    ("varying_step-e1", varying_step((0.35,) * _D, "e1"), _D, 3, frozenset()),
    ("block_quant-B3", block_quant((0.35, 1.4, 0.6), 3), _D, 3, frozenset()),
    ("block_quant-B5-remainder", block_quant((0.5, 0.3, 0.8, 0.2, 1.2), 5), _D, 3, frozenset()),
    (
        "rand_tau-uniform",
        rand_tau((0.25,) * _D),
        _D,
        3,
        frozenset({"omega", "theta", "ab"}),
    ),
    ("rand_tau-dcgd+", rand_tau(rand_tau_probabilities(_DIAG, 4)), _D, 3, frozenset()),
    ("rand_tau-unscaled", rand_tau((0.25,) * _D, scaled=False), _D, 3, frozenset({"delta"})),
    (
        "rand_tau-unscaled-dcgd+",
        rand_tau(rand_tau_probabilities(_DIAG, 4), scaled=False),
        _D,
        3,
        frozenset(),
    ),
    (
        "rand_tau-per-worker-dcgd+",
        rand_tau([rand_tau_probabilities(dg, 4) for dg in _DIAGS]),
        _D,
        3,
        frozenset(),
    ),
]
