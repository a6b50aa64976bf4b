"""Tests run in float64: exact identities and convergence to x* are checked to rounding."""

import os
import sys

# Compile without LLVM optimizations: compiling, not running, dominates these tests on CPU, and
# level 0 compiles several times faster with the same arithmetic (no fast-math at any level).
# Must be set before JAX starts its CPU backend; subprocess tests inherit it.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
).strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, os.path.dirname(__file__))

DATA_DIR = os.environ.get(
    "JCOMP_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
)
