"""Compressors: key-driven pure functions over the ``(n, d)`` worker axis."""

from ._base import Compressor, Message, index_bits, worker_keys
from ._basic import Identity, RandK, identity, rand_k

__all__ = [
    "Compressor",
    "Identity",
    "Message",
    "RandK",
    "identity",
    "index_bits",
    "rand_k",
    "worker_keys",
]
