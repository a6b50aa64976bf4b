"""jcomp: communication-compressed distributed optimization as JAX array programs.

The n workers are one leading array axis; compressors are pure functions of explicit keys;
algorithms are ``Algorithm(init, step, setup)`` built by factories; ``run`` and ``sweep``
compile a whole run, or a whole step-size × seed grid, into one program.
"""

from . import algorithms, compressors, problems
from .algorithms import Algorithm, Cost, Info
from .compressors import Compressor, Message
from .problems import Constants, Problem
from .run import best_index, run, shard_workers, sweep, worker_mesh
from .trace import Trace, load_trace

__version__ = "0.1.0"

__all__ = [
    "Algorithm",
    "Compressor",
    "Constants",
    "Cost",
    "Info",
    "Message",
    "Problem",
    "Trace",
    "algorithms",
    "best_index",
    "compressors",
    "load_trace",
    "problems",
    "run",
    "shard_workers",
    "sweep",
    "worker_mesh",
]
