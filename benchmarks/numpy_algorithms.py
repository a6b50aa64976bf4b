"""NumPy per-worker-loop references of GD, MARINA and EF21, written the way papers' code runs.

Used by ``benchmarks/bench_alternatives.py`` as the "NumPy loop" baseline against jcomp (one
compiled ``lax.scan`` with the n workers on an array axis). Every step is a Python loop over
the n workers: worker i evaluates its own gradient ``∇f_i(x)`` (NumPy inside the worker),
compresses what it sends and hands the server a sparse message ``(indices, values)``; the
server averages the messages and updates the model. Float64 throughout.

The update rules are exactly jcomp's (``jcomp/algorithms/_gd.py``, ``_marina.py``, ``_ef.py``;
spec ALGORITHMS.md §5.1, §5.3):

* GD: ``x ← x − γ(1/n)Σ_i ∇f_i(x)``.
* MARINA: init ``g_i = ∇f_i(x⁰)``, ``g = (1/n)Σ g_i``; step ``x⁺ = x − γg``; one coin
  ``c ~ Bern(p)`` shared by all workers; ``c = 1``: ``g_i⁺ = ∇f_i(x⁺)``; else
  ``g_i⁺ = g_i + Q_i(∇f_i(x⁺) − ∇f_i(x))`` (the server keeps ``g`` = the mean).
* EF21: init ``g_i = ∇f_i(x⁰)``; step ``x ← x − γg``, ``c_i = C(∇f_i(x) − g_i)``,
  ``g_i ← g_i + c_i``, ``g ← g + (1/n)Σ c_i``.

Compressors (same rules as jcomp's and as ``benchmarks/numpy_compressors.py``): RandK (K
coordinates uniformly without replacement, scaled by d/K, each worker its own
:class:`numpy.random.Generator`), PermK (shared randomness drawn once per round by the
server: a permutation of [d] cut into n blocks assigned by a permutation of [n] when d ≥ n;
q = n // d workers per coordinate, scaled by n/q, when d < n) and TopK (the K largest
``|x_j|``, unscaled; ``np.argpartition``, so exact ties may break differently from jcomp's
lower-index-first rule, a measure-zero event for these problems).

The random streams differ from jcomp's (JAX keys), so randomized methods agree with jcomp in
law, not path by path; GD and EF21 + TopK are deterministic and agree to rounding.

Problem: :class:`TridiagQuadratic`, ``f_i(x) = ½xᵀ(c_i T + τI)x − b_iᵀx`` with
``T = tridiag(−1, 2, −1)`` applied in O(d) (jcomp's ``structured_quadratic(c, b, "tridiag",
tau)``, e.g. ``marina_p_quadratic``); :meth:`TridiagQuadratic.from_jcomp` copies a jcomp problem.

Each ``run_*`` returns ``{"final_grad_norm_sq", "loop_time_s", "steps", "x"}``; the loop time
covers the ``steps`` iterations only (not the initial gradients).
"""

from __future__ import annotations

import time

import numpy as np

__all__ = [
    "PermK",
    "RandK",
    "TopK",
    "TridiagQuadratic",
    "make_compressor",
    "run_ef21",
    "run_gd",
    "run_marina",
]


# ---------------------------------------------------------------------------------- problem


def tridiag_matvec(x: np.ndarray) -> np.ndarray:
    """``tridiag(−1, 2, −1) @ x`` for one vector, zero boundary, O(d)."""
    y = 2.0 * x
    y[1:] -= x[:-1]
    y[:-1] -= x[1:]
    return y


class TridiagQuadratic:
    """``f_i(x) = ½xᵀ(c_i T + τI)x − b_iᵀx``, T = tridiag(−1, 2, −1); c (n,), b (n, d)."""

    def __init__(self, c, b, tau: float = 0.0):
        self.c = np.asarray(c, np.float64)
        self.b = np.asarray(b, np.float64)
        self.tau = float(tau)
        self.b_bar = self.b.mean(axis=0)
        self.c_bar = float(self.c.mean())

    @classmethod
    def from_jcomp(cls, problem) -> TridiagQuadratic:
        """The same instance as a jcomp ``StructuredQuadratic`` with ``kind == "tridiag"``."""
        if getattr(problem, "kind", None) != "tridiag":
            raise ValueError("from_jcomp: expected a jcomp structured quadratic with S='tridiag'")
        return cls(np.asarray(problem.c), np.asarray(problem.b), float(problem.tau))

    @property
    def n(self) -> int:
        return self.b.shape[0]

    @property
    def d(self) -> int:
        return self.b.shape[1]

    def worker_grad(self, i: int, x: np.ndarray) -> np.ndarray:
        """∇f_i(x), computed by worker i alone."""
        g = self.c[i] * tridiag_matvec(x) - self.b[i]
        if self.tau:
            g += self.tau * x
        return g

    def grad(self, x: np.ndarray) -> np.ndarray:
        """∇f(x) of the average, in closed form (for the final metric)."""
        return self.c_bar * tridiag_matvec(x) + self.tau * x - self.b_bar


# ------------------------------------------------------------------------------ compressors


class RandK:
    """Independent RandK(K): each worker draws its K coordinates from its own generator."""

    unbiased = True

    def __init__(self, k: int):
        self.k = int(k)

    def new_round(self, rng: np.random.Generator, n: int, d: int) -> None:
        """No shared randomness."""

    def compress(self, i: int, x: np.ndarray, rng_i: np.random.Generator):
        d = x.shape[0]
        idx = rng_i.choice(d, self.k, replace=False)
        return idx, x[idx] * (d / self.k)


class TopK:
    """TopK(K): the K largest ``|x_j|``, unscaled (deterministic)."""

    unbiased = False

    def __init__(self, k: int):
        self.k = int(k)

    def new_round(self, rng: np.random.Generator, n: int, d: int) -> None:
        """No randomness."""

    def compress(self, i: int, x: np.ndarray, rng_i: np.random.Generator):
        idx = np.argpartition(np.abs(x), x.shape[0] - self.k)[-self.k :]
        return idx, x[idx]


class PermK:
    """PermK with jcomp's rule for d ≥ n and for d < n; the server draws the shared
    permutations once per compressed round (:meth:`new_round`), then worker i sends its part."""

    unbiased = True

    def new_round(self, rng: np.random.Generator, n: int, d: int) -> None:
        if d >= n:
            q, r = divmod(d, n)
            perm = rng.permutation(d)  # coordinates in permuted order, cut into n blocks
            sizes = np.where(np.arange(n) < r, q + 1, q)
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            held = rng.permutation(n) if r else np.arange(n)  # block of worker i
            self._blocks = [
                perm[starts[held[i]] : starts[held[i]] + sizes[held[i]]] for i in range(n)
            ]
            self._scale = float(n)
        else:
            q = n // d
            coord = rng.permutation(n) // q  # coordinate of worker i (≥ d: nothing)
            self._blocks = [coord[i : i + 1] if coord[i] < d else coord[:0] for i in range(n)]
            self._scale = n / q

    def compress(self, i: int, x: np.ndarray, rng_i: np.random.Generator):
        idx = self._blocks[i]
        return idx, self._scale * x[idx]


def make_compressor(name: str, k: int | None = None):
    """``"perm_k"``, ``"rand_k"`` (needs k) or ``"top_k"`` (needs k)."""
    if name == "perm_k":
        return PermK()
    if name == "rand_k":
        return RandK(k)
    if name == "top_k":
        return TopK(k)
    raise ValueError(f"make_compressor: unknown compressor {name!r}")


# ------------------------------------------------------------------------------- algorithms


def _streams(seed: int, n: int):
    """The server's generator and one generator per worker, from one seed."""
    ss = np.random.SeedSequence(seed)
    server, *workers = ss.spawn(n + 1)
    return np.random.default_rng(server), [np.random.default_rng(s) for s in workers]


def _result(problem, x, loop_time, steps):
    g = problem.grad(x)
    return {
        "final_grad_norm_sq": float(g @ g),
        "loop_time_s": loop_time,
        "steps": steps,
        "x": x,
    }


def run_gd(problem: TridiagQuadratic, step_size: float, steps: int, x0=None, seed: int = 0):
    """GD: every worker sends ∇f_i(x), the server averages and steps."""
    del seed  # deterministic
    n, d = problem.n, problem.d
    x = np.zeros(d) if x0 is None else np.array(x0, np.float64)
    t0 = time.perf_counter()
    for _ in range(steps):
        acc = np.zeros(d)
        for i in range(n):  # worker i
            acc += problem.worker_grad(i, x)
        x = x - step_size * (acc / n)
    return _result(problem, x, time.perf_counter() - t0, steps)


def run_marina(
    problem: TridiagQuadratic,
    compressor,
    step_size: float,
    p: float,
    steps: int,
    x0=None,
    seed: int = 0,
):
    """MARINA with an unbiased compressor (RandK or PermK), one shared coin per step."""
    n, d = problem.n, problem.d
    rng, wrngs = _streams(seed, n)
    x = np.zeros(d) if x0 is None else np.array(x0, np.float64)
    prev = [problem.worker_grad(i, x) for i in range(n)]  # worker i keeps ∇f_i(x)
    g = np.mean(prev, axis=0)  # the server's estimator (1/n)Σ g_i
    t0 = time.perf_counter()
    for _ in range(steps):
        x = x - step_size * g  # the server broadcasts x⁺
        full = rng.random() < p  # one coin shared by all workers
        acc = np.zeros(d)
        if full:
            for i in range(n):  # worker i sends ∇f_i(x⁺)
                gi = problem.worker_grad(i, x)
                acc += gi
                prev[i] = gi
            g = acc / n
        else:
            compressor.new_round(rng, n, d)
            for i in range(n):  # worker i sends Q_i(∇f_i(x⁺) − ∇f_i(x))
                gi = problem.worker_grad(i, x)
                idx, vals = compressor.compress(i, gi - prev[i], wrngs[i])
                acc[idx] += vals  # indices within one message are distinct
                prev[i] = gi
            g = g + acc / n
    return _result(problem, x, time.perf_counter() - t0, steps)


def run_ef21(
    problem: TridiagQuadratic, compressor, step_size: float, steps: int, x0=None, seed: int = 0
):
    """EF21 with a contractive compressor (TopK): g_i⁰ = ∇f_i(x⁰)."""
    n, d = problem.n, problem.d
    rng, wrngs = _streams(seed, n)
    x = np.zeros(d) if x0 is None else np.array(x0, np.float64)
    gs = [problem.worker_grad(i, x) for i in range(n)]  # worker i keeps g_i
    g = np.mean(gs, axis=0)  # the server's g = (1/n)Σ g_i
    t0 = time.perf_counter()
    for _ in range(steps):
        x = x - step_size * g
        compressor.new_round(rng, n, d)
        acc = np.zeros(d)
        for i in range(n):  # worker i sends c_i = C(∇f_i(x) − g_i)
            gi = problem.worker_grad(i, x)
            idx, vals = compressor.compress(i, gi - gs[i], wrngs[i])
            gs[i][idx] += vals
            acc[idx] += vals
        g = g + acc / n
    return _result(problem, x, time.perf_counter() - t0, steps)
