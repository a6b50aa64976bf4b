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
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, os.path.dirname(__file__))

DATA_DIR = os.environ.get(
    "JCOMP_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
)

# --------------------------------------------------------------------------- xdist scheduling
# Several modules draw their Monte Carlo samples once, in a functools.cache shared by all their
# tests (test_compressor_properties.py: one cache entry per case). Under plain `--dist load` a
# module's tests land on both workers and each worker draws the samples again. `make test` runs
# `--dist loadscope`, which this hook redefines as "the tests that share a cache run on one
# worker". (xdist's own `loadgroup` marks do nothing under pytest 9.2: pytest-xdist issue 1386.)
# xdist orders scopes by size, so the shared groups start first and single tests fill the end.
SHARED_CACHE_MODULES = {
    "tests/compressors/test_combinators_extra.py",
    "tests/compressors/test_correlated_quantization.py",
    "tests/compressors/test_permk.py",
    "tests/compressors/test_permutation_speed_exact.py",
    "tests/compressors/test_projections_rotations.py",
    "tests/compressors/test_quantizers.py",
    "tests/compressors/test_smoothness_aware.py",
    "tests/test_experiments.py",  # a module-scoped fixture runs an experiment
}
PER_CASE_MODULES = {"tests/compressors/test_compressor_properties.py"}  # cache keyed by case


def shared_cache_scope(nodeid: str) -> str:
    """The scheduling unit of a test: its module, its module and case, or the test itself."""
    module, _, rest = nodeid.partition("::")
    if module in SHARED_CACHE_MODULES:
        return module
    if module in PER_CASE_MODULES and rest.endswith("]") and "[" in rest:
        return f"{module}[{rest[rest.index('[') + 1 : -1]}]"
    return nodeid


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedCacheScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return shared_cache_scope(nodeid)

    return SharedCacheScheduling(config, log)
