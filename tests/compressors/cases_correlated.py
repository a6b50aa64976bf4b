"""IQ / CQ cases for the shared property harness (test_compressor_properties.py), to be merged
into its ``CASES`` as ``Case(*row)``: ``(id, compressor, d, n, exact)``.

What the harness should check, and why these instances:

* ``ab_mode="exact"`` everywhere: the default ``ab`` returns the paper constants
  ``A_IQ = d/(4ns²)``, ``A_CQ = d/(4n²s²)`` (spec §4, "IQ/CQ constants for theory steps"),
  which are step-size constants, not bounds: they fail ``test_ab_heterogeneous`` (IQ's true
  value at s = 1 is ``(d − 1)/n``, ≈ 4× larger, even on a common input). ``ab_mode="exact"``
  gives the provable ``(ω/n, 0)`` (IQ) and ``(ω, 0)`` (CQ).
* Worker range only: with ``range_="shared"`` there is no per-worker ω (the error scales with
  ``max_k ‖a_k‖``), and the harness asserts that ω or δ exists; shared-range IQ/CQ are
  covered in test_correlated_quantization.py.
* Equalities: at s = 1 every worker's MSE is exactly ``(d − 1)‖a_i‖²`` ("omega"); IQ's
  independence then makes θ = (d − 1)/n and A = (d − 1)/n exact too. CQ's θ = min(d/n², d − 1)
  and A = ω are bounds only (CQ's common-input MSE is ``Σ_j Δ²g_j(1−g_j)/n²``). At s > 1 ω is
  the bound ``min(d/s², d − 1)``, not tight.
* Unbiasedness and expected_cost (fixed ``d⌈log₂(s+1)⌉ + 32`` bits, ``d + 1`` coords) are
  checked as for every compressor.
"""

from __future__ import annotations

from jcomp.compressors._correlated import cq, iq

_IQ_EXACT = frozenset({"omega", "theta", "ab"})
_CQ_EXACT = frozenset({"omega"})

CASES_CORRELATED = [
    ("iq", iq(ab_mode="exact"), 12, 3, _IQ_EXACT),
    ("iq-s3", iq(s=3, ab_mode="exact"), 12, 3, frozenset()),
    ("cq-n3", cq(ab_mode="exact"), 12, 3, _CQ_EXACT),
    ("cq-n5", cq(ab_mode="exact"), 12, 5, _CQ_EXACT),
    ("cq-s3", cq(s=3, ab_mode="exact"), 12, 5, frozenset()),
    ("cq-cyclic", cq(perm="cyclic", ab_mode="exact"), 12, 5, _CQ_EXACT),
]
