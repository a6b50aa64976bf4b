"""Induced / scaled / PermK+CQ / ISCC cases for the shared property harness
(test_compressor_properties.py), to be merged into its ``CASES`` as ``Case(*row)``:
``(id, compressor, d, n, exact)``.

Only valid bounds are asserted by the harness, so:

* PermK+CQ uses ``ab_mode="exact"``: the default ``ab`` is the spec's paper constant
  ``A = b·A_CQ = b·d/(4n²s²)``, B = 0 (homogeneous, for theory step sizes), which is NOT a
  bound on the harness's inputs (as CQ's ``A_CQ``). Exact: ω = d − 1 at s = 1 (every input);
  θ and (A, B) are bounds only.
* ISCC only with uniform weights: ``expected_cost`` is the average over workers (worker i's own
  expectation is τq_i base messages), which the harness compares per worker. With uniform q and
  a tight base (rand_k) ω, θ and (A, B) hold with equality for every τ (draws compress
  independently). Non-uniform weights and the weighted AB identity are tested in
  test_combinators_extra.py.
* induced: ω = ω_Q(1 − δ_C) is a bound (TopK's δ = K/d is not tight on these inputs);
  θ = ω/n and (A, B) = (ω/n, 0) bounds (Q independent).
* scaled(rand_k): δ = 1/(1 + ω) holds with equality (rand_k is ω-tight).
"""

from __future__ import annotations

from jcomp.compressors._basic import rand_k
from jcomp.compressors._combinators import induced, scaled
from jcomp.compressors._iscc import iscc
from jcomp.compressors._permk_cq import perm_k_cq
from jcomp.compressors._sparsifiers import top_k

_ALL3 = frozenset({"omega", "theta", "ab"})

CASES_COMBINATORS_EXTRA = [
    ("induced-top_k-rand_k", induced(top_k(4), rand_k(3)), 12, 3, frozenset()),
    ("scaled-rand_k", scaled(rand_k(3)), 12, 3, frozenset({"delta"})),
    ("perm_k_cq-b1", perm_k_cq(1, ab_mode="exact"), 12, 3, frozenset({"omega"})),
    ("perm_k_cq-b2", perm_k_cq(2, ab_mode="exact"), 12, 4, frozenset({"omega"})),
    ("perm_k_cq-b3-s3", perm_k_cq(3, s=3, ab_mode="exact"), 12, 6, frozenset()),
    ("iscc-rand_k", iscc(rand_k(3)), 12, 3, _ALL3),
    ("iscc-rand_k-tau2", iscc(rand_k(3), tau=2), 12, 4, _ALL3),
]
