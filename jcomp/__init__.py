"""jcomp: communication-compressed distributed optimization as JAX array programs."""

from . import algorithms, compressors, problems
from .algorithms import Algorithm, Cost, Info
from .compressors import Compressor, Message
from .problems import Constants, Problem

__version__ = "0.1.0"

__all__ = [
    "Algorithm",
    "Compressor",
    "Constants",
    "Cost",
    "Info",
    "Message",
    "Problem",
    "algorithms",
    "compressors",
    "problems",
]
