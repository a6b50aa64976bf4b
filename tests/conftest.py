"""Tests run in float64: exact identities and convergence to x* are checked to rounding."""

import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, os.path.dirname(__file__))

DATA_DIR = os.environ.get(
    "JCOMP_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
)
