"""DRIVE-Haar / CORE / sketch cases for the shared property harness
(test_compressor_properties.py), to be merged into its ``CASES`` as ``Case(*row)``:
``(id, compressor, d, n, exact)``.

* DRIVE with the default Hadamard rotation is left out: it is biased (no U(ω) class; its
  ``omega`` is only the approximate theory value π/2 − 1, so the harness's ω, θ and AB checks
  would test a number that is not a bound) and it has no δ. Its vNMSE ≤ π/2 − 1 on dense generic
  inputs is checked in test_projections_rotations.py.
* DRIVE-Haar: unbiased; ω = π/2 − 1 is a bound (the exact vNMSE is ≈ 0.530 at d = 12), θ = ω/n and
  AB ``(ω/n, 0)`` follow from independence — none with equality.
* CORE and the unbiased sketch ``(d/p)S_V``: ω with equality; shared and linear, so on a common
  input θ = ω with equality; AB ``(ω, 0)`` is only a bound (the mean's error is ``ω‖ā‖²``).
* The contractive sketch S_V: δ = p/d with equality (gaussian and coordinate subsets); no ω, θ, AB.
"""

from __future__ import annotations

from jcomp.compressors._projections import core, sketch
from jcomp.compressors._rotations import drive

_OMEGA_THETA = frozenset({"omega", "theta"})
_DELTA = frozenset({"delta"})

CASES_PROJECTIONS = [
    ("drive-haar", drive("haar"), 12, 3, frozenset()),
    ("core-m3", core(3), 12, 3, _OMEGA_THETA),
    ("core-m12", core(12), 12, 5, _OMEGA_THETA),
    ("sketch-gaussian", sketch(4), 12, 3, _DELTA),
    ("sketch-coordinates", sketch(5, kind="coordinates"), 12, 3, _DELTA),
    ("sketch-gaussian-unbiased", sketch(4, unbiased=True), 12, 3, _OMEGA_THETA),
    (
        "sketch-coordinates-unbiased",
        sketch(5, kind="coordinates", unbiased=True),
        12,
        5,
        _OMEGA_THETA,
    ),
]
