"""(registry name, compressor) cases of the error-feedback family and the synchronized methods
(``CASES += CASES_ERROR_FEEDBACK`` in test_algorithm_registry.py)."""

from jcomp.compressors import same_rand_k, top_k

CASES_ERROR_FEEDBACK = [
    ("d-ef-sgd", top_k(2)),
    ("d-ef-sgd-bc", top_k(2)),
    ("ec-sgd-diana", top_k(2)),
    ("ef21", top_k(2)),
    ("d-qsgd-sync", same_rand_k(2)),
    ("d-ef-sgd-sync", same_rand_k(2, scaled=False)),
]
