"""Compressors: key-driven pure functions over the ``(n, d)`` worker axis."""

from ._base import (
    Compressor,
    Message,
    check_int,
    index_bits,
    lift_independent,
    register,
    worker_keys,
)
from ._basic import Identity, RandK, identity, rand_k, random_subset_mask
from ._combinators import Compose, Induced, Scaled, compose, induced, scaled
from ._correlated import CQ, IQ, cq, cq_permutations, iq
from ._encoding import elias_gamma_length, elias_omega_length, qsgd_elias_bits
from ._iscc import ISCC, iscc
from ._natural import NATURAL_VALUE_BITS, Natural, natural
from ._permk import PermK, perm_k, uniform_permutation, uniform_permutations
from ._permk_cq import PermKCQ, perm_k_cq
from ._projections import Core, Sketch, core, sketch
from ._quantizers import (
    Bernoulli,
    Dithering,
    NaturalDithering,
    Ternary,
    bernoulli,
    dithering,
    natural_dithering,
    ternary,
)
from ._registry import catalog, example_compressors, get, names, register_factory
from ._rotations import Drive, drive
from ._smoothness_aware import (
    BlockQuant,
    RandTau,
    VaryingStep,
    block_quant,
    e1_bits,
    rand_tau,
    rand_tau_probabilities,
    varying_step,
)
from ._sparsifiers import SameRandK, TopK, same_rand_k, top_k

__all__ = [
    "Core",
    "Drive",
    "Sketch",
    "core",
    "drive",
    "sketch",
    "ISCC",
    "Induced",
    "PermKCQ",
    "Scaled",
    "induced",
    "iscc",
    "perm_k_cq",
    "scaled",
    "BlockQuant",
    "RandTau",
    "VaryingStep",
    "block_quant",
    "e1_bits",
    "rand_tau",
    "rand_tau_probabilities",
    "varying_step",
    "Bernoulli",
    "CQ",
    "Dithering",
    "IQ",
    "NaturalDithering",
    "Ternary",
    "bernoulli",
    "cq",
    "cq_permutations",
    "dithering",
    "elias_gamma_length",
    "elias_omega_length",
    "iq",
    "natural_dithering",
    "qsgd_elias_bits",
    "ternary",
    "NATURAL_VALUE_BITS",
    "Compose",
    "Compressor",
    "Identity",
    "Message",
    "Natural",
    "PermK",
    "RandK",
    "SameRandK",
    "TopK",
    "catalog",
    "check_int",
    "compose",
    "example_compressors",
    "get",
    "identity",
    "index_bits",
    "lift_independent",
    "names",
    "natural",
    "perm_k",
    "rand_k",
    "random_subset_mask",
    "register",
    "register_factory",
    "same_rand_k",
    "top_k",
    "uniform_permutation",
    "uniform_permutations",
    "worker_keys",
]
