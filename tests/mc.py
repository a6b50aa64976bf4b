"""Monte Carlo helpers: tolerances derived from the standard error, never hand-tuned.

With fixed keys the outcome is deterministic; the z-bound says how unlikely a failure of a
correct implementation is for a fresh key (z = 5: about 6e-7 per scalar, two-sided, Gaussian).
"""

from __future__ import annotations

import numpy as np

Z = 5.0


def mean_and_se(samples, axis=0):
    """Sample mean and its standard error along ``axis``."""
    s = np.asarray(samples, dtype=np.float64)
    m = s.shape[axis]
    return s.mean(axis=axis), s.std(axis=axis, ddof=1) / np.sqrt(m)


def assert_mean_equals(samples, expected, axis=0, z=Z, atol=1e-12):
    """Every coordinate of the sample mean is within z standard errors of ``expected``."""
    mean, se = mean_and_se(samples, axis)
    expected = np.broadcast_to(np.asarray(expected, dtype=np.float64), mean.shape)
    bad = np.abs(mean - expected) > z * se + atol
    assert not bad.any(), (
        f"mean differs from expected beyond {z} standard errors at {np.argwhere(bad)[:5].tolist()}:"
        f" mean={mean[bad][:5]}, expected={expected[bad][:5]}, se={se[bad][:5]}"
    )


def assert_mean_at_most(samples, bound, axis=0, z=Z, atol=1e-12):
    """The sample mean does not exceed ``bound`` by more than z standard errors."""
    mean, se = mean_and_se(samples, axis)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), np.shape(mean))
    bad = np.asarray(mean - bound > z * se + atol)
    assert not bad.any(), f"mean {mean} exceeds bound {bound} by more than {z} SE ({se})"
