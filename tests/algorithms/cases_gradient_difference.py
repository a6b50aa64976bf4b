"""Registry cases of the gradient-difference family (seeds 001, 002): ``(name, compressor)``."""

from jcomp.compressors import rand_k

CASES_GRADIENT_DIFFERENCE = [
    ("dcgd-shift", rand_k(2)),
    ("dcgd-star", rand_k(2)),
    ("rand-diana", rand_k(2)),
    ("gdci", rand_k(2)),
    ("vr-gdci", rand_k(2)),
]
