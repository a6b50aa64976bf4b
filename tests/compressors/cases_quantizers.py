"""Property-harness cases for the quantizers (to be merged into test_compressor_properties.CASES):
tuples ``(id, compressor, d, n, exact)`` with ``exact`` ⊆ {"omega", "delta", "theta", "ab"}.

Note: ``dithering`` has no fixed ``expected_cost`` (its QSGD/Elias bits are data dependent and
``expected_cost`` raises NotImplementedError), so the harness's ``test_expected_cost`` must skip
it (its realized bits are checked against the encoder in test_quantizers.py).
"""

from jcomp.compressors._quantizers import bernoulli, dithering, natural_dithering, ternary

CASES_QUANTIZERS = [
    ("bernoulli", bernoulli(0.3), 12, 3, frozenset({"delta"})),
    (
        "bernoulli-unbiased",
        bernoulli(0.3, unbiased=True),
        12,
        3,
        frozenset({"omega", "theta", "ab"}),
    ),
    ("dithering-l2", dithering(2), 12, 3, frozenset()),
    ("dithering-linf", dithering(3, "linf"), 12, 3, frozenset()),
    ("ternary", ternary(), 12, 3, frozenset()),
    ("natural_dithering-l2", natural_dithering(2), 12, 3, frozenset()),
    ("natural_dithering-linf", natural_dithering(3, "linf"), 12, 3, frozenset()),
]
