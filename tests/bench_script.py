"""Run a script of ``benchmarks/`` in a subprocess for the smoke tests in tests/benchmarks/."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_benchmark(script, *args, timeout=120, env=None):
    """Run ``python benchmarks/<script> *args`` from the repository root and return the process.

    The child gets this process's environment (so the fast-compile ``XLA_FLAGS`` tests/conftest.py
    sets) updated by ``env``; a non-zero exit fails the calling test with the output's tail.
    """
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", script), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc
