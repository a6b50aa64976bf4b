"""Registry cases for DCGD+ and DIANA+ (merged into test_algorithm_registry.CASES):
``(registry name, compressor)``. The compressors are seed 000's per-worker quant+ / block quant+ /
rand-τ+ built from the shared small problem (n = 4, d = 8): worker i uses the step rule's row for
its own L_i (quant+ steps, block steps, rand-τ+ probabilities)."""

from algorithm_helpers import small_problem

from jcomp.algorithms._smoothness_aware import block_quant_plus, quant_plus, rand_tau_plus

_P = small_problem()

CASES_SMOOTHNESS_AWARE = [
    ("dcgd+", quant_plus(_P, "dcgd+")),
    ("diana+", quant_plus(_P, "diana+")),
    ("diana+", block_quant_plus(_P, "diana+")),
    ("dcgd+", rand_tau_plus(_P, "dcgd+")),
]
