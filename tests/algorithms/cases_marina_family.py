"""Registry cases of the MARINA family (seeds 003, 004): ``CASES += CASES_MARINA_FAMILY``."""

from jcomp.compressors import (
    compose,
    core,
    cq,
    drive,
    iq,
    iscc,
    natural,
    perm_k,
    perm_k_cq,
    rand_k,
    top_k,
)

# (registry name, compressor); the shared small problem has n = 4, d = 8
CASES_MARINA_FAMILY = [
    ("marina", iq()),
    ("marina", cq()),
    ("marina", drive()),
    ("marina", perm_k_cq(b=2)),
    ("marina-p", compose(natural(), perm_k())),
    ("weighted-marina", iscc(rand_k(2))),
    ("m3", perm_k()),
    ("m3", compose(natural(), perm_k())),
    ("ef21-p-dcgd", top_k(2)),
    ("core-gd", core(2)),
]
