"""Simulate: one jitted program per run or per sweep, chunked on the host for progress.

``run(algorithm, problem, x0, key=..., steps=..., log_every=...)`` executes an outer
``lax.scan`` over log points and an inner loop of ``log_every`` steps, so memory is
O(steps / log_every). The host calls the compiled chunk a few times (progress, early stop when
every run diverged); the chunk is compiled once per shape configuration and reused for every
new step size, seed or problem instance of the same shapes.

``sweep(factory, problem, x0, grid={...}, seeds=[...])`` calls ``factory(**kwargs, **point)``
inside ``vmap`` for every grid point and seed: a whole step-size × seed grid is one program.

Randomness: the run key is split into ``key_init`` and ``key_steps``; step t uses
``fold_in(key_steps, t)``, so a trace does not depend on the chunking.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .algorithms._base import Algorithm, Cost
from .compressors._base import Compressor
from .problems._base import Problem
from .trace import Trace

__all__ = ["best_index", "run", "shard_workers", "sweep", "worker_mesh"]


# --------------------------------------------------------------------------- compiled core
class _Config(NamedTuple):
    """Static configuration of the compiled chunk (hashable)."""

    steps: int
    log_every: int
    chunk_logs: int
    divergence: float | None


class _Carry(NamedTuple):
    state: Any  # the algorithm's State
    key: jax.Array  # () key of the steps; step t uses fold_in(key, t)
    t: jax.Array  # () int, steps done
    up: Cost  # cumulative uplink per worker, each (n,)
    down: Cost  # cumulative downlink per worker, each (n,)
    diverged: jax.Array  # () bool
    diverged_step: jax.Array  # () int, −1 until diverged
    gn0: jax.Array  # () ‖∇f(x⁰)‖²
    dist0: jax.Array  # () ‖x⁰ − x*‖²


class _Row(NamedTuple):
    step: jax.Array
    up_bits: jax.Array
    up_bits_max: jax.Array
    up_bits_noidx: jax.Array
    up_bits_noidx_max: jax.Array
    up_coords: jax.Array
    up_coords_max: jax.Array
    down_bits: jax.Array
    down_bits_max: jax.Array
    down_bits_noidx: jax.Array
    down_bits_noidx_max: jax.Array
    down_coords: jax.Array
    down_coords_max: jax.Array
    loss_gap: jax.Array
    grad_norm_sq: jax.Array
    dist_sq: jax.Array


def _metrics(problem: Problem, x, dist0):
    loss = problem.loss(x)
    gap = loss if problem.f_star is None else loss - problem.f_star
    g = problem.grad(x)
    gn = jnp.sum(g * g)
    if problem.x_star is None:
        dist = jnp.full((), jnp.nan, x.dtype)
    else:
        dist = jnp.sum((x - problem.x_star) ** 2) / dist0
    return gap, gn, dist


def _row(c: _Carry, gap, gn, dist) -> _Row:
    parts = []
    for cost in (c.up, c.down):
        for v in cost:
            parts += [jnp.mean(v), jnp.max(v)]
    return _Row(c.t, *parts, gap, gn, dist)


def _start_one(build, params, key, problem, x0, cfg: _Config):
    alg: Algorithm = build(params)
    key_init, key_steps = jax.random.split(key)
    state = alg.init(key_init, problem, x0)
    setup = alg.setup(problem)
    zero = Cost(*(jnp.zeros_like(v) for v in setup.up))
    dist0 = (
        jnp.ones((), x0.dtype)
        if problem.x_star is None
        else jnp.sum((x0 - problem.x_star) ** 2).astype(x0.dtype)
    )
    gap, gn, dist = _metrics(problem, state.x, dist0)
    carry = _Carry(
        state=state,
        key=key_steps,
        t=jnp.zeros((), jnp.int32),
        up=zero,
        down=zero,
        diverged=jnp.zeros((), bool),
        diverged_step=jnp.full((), -1, jnp.int32),
        gn0=gn,
        dist0=dist0,
    )
    setup_bits = (jnp.mean(setup.up.bits), jnp.mean(setup.down.bits))
    return carry, _row(carry, gap, gn, dist), setup_bits


def _advance_one(build, params, problem, carry: _Carry, cfg: _Config):
    alg: Algorithm = build(params)

    def body(_, s):
        state, t, up, down = s
        state, info = alg.step(jax.random.fold_in(carry.key, t), state, problem)
        return state, t + 1, up + info.up, down + info.down

    def inner(c: _Carry):
        s = (c.state, c.t, c.up, c.down)
        if cfg.steps % cfg.log_every == 0:
            # static trip count (a scan, faster than a while loop); log points past `steps`
            # (padding of the last chunk) are skipped
            block = lambda s: jax.lax.fori_loop(0, cfg.log_every, body, s)
            return jax.lax.cond(c.t < cfg.steps, block, lambda s: s, s)
        return jax.lax.fori_loop(0, jnp.clip(cfg.steps - c.t, 0, cfg.log_every), body, s)

    def log_point(c: _Carry, _):
        state, t, up, down = inner(c)
        gap, gn, dist = _metrics(problem, state.x, c.dist0)
        bad = ~(jnp.isfinite(gap) & jnp.isfinite(gn) & jnp.all(jnp.isfinite(state.x)))
        if cfg.divergence is not None:
            bad = bad | (gn > cfg.divergence * jnp.maximum(c.gn0, jnp.finfo(gn.dtype).tiny))
        frozen = c.diverged  # stopped at an earlier log point: keep that state and traffic
        keep = lambda old, new: jnp.where(frozen, old, new)
        state = jax.tree.map(keep, c.state, state)
        up = jax.tree.map(keep, c.up, up)
        down = jax.tree.map(keep, c.down, down)
        diverged = c.diverged | bad
        diverged_step = jnp.where(bad & ~c.diverged, t, c.diverged_step)
        inf = jnp.full((), jnp.inf, gn.dtype)
        gap, gn, dist = (jnp.where(diverged, inf, v) for v in (gap, gn, dist))
        c = c._replace(
            state=state, t=t, up=up, down=down, diverged=diverged, diverged_step=diverged_step
        )
        return c, _row(c, gap, gn, dist)

    return jax.lax.scan(log_point, carry, None, length=cfg.chunk_logs)


def _start_batch(build, batched, cfg, params, keys, problem, x0):
    fn = lambda p, k: _start_one(build, p, k, problem, x0, cfg)
    if batched is None:
        return fn(params, keys)
    axes = {k: (0 if k in batched else None) for k in params}
    return jax.vmap(fn, in_axes=(axes, 0))(params, keys)


def _advance_batch(build, batched, cfg, params, problem, carry):
    fn = lambda p, c: _advance_one(build, p, problem, c, cfg)
    if batched is None:
        return fn(params, carry)
    axes = {k: (0 if k in batched else None) for k in params}
    c, rows = jax.vmap(fn, in_axes=(axes, 0))(params, carry)
    return c, jax.tree.map(lambda r: jnp.moveaxis(r, 1, 0), rows)  # rows: (T, B)


_STATIC = ("build", "batched", "cfg")
_start_jit = jax.jit(_start_batch, static_argnames=_STATIC)
# the carry (algorithm state, counters) is consumed by each chunk and replaced by its output:
# donating it lets XLA update the state in place instead of holding input and output copies
_advance_jit = jax.jit(_advance_batch, static_argnames=_STATIC, donate_argnames=("carry",))


class _Given:
    """``build`` for :func:`run`: the algorithm itself is the (dynamic) parameter pytree."""

    def __call__(self, params):
        return params

    def __hash__(self):
        return hash(_Given)

    def __eq__(self, other):
        return isinstance(other, _Given)


class _FactoryCall(NamedTuple):
    """``build`` for :func:`sweep`: ``factory(**static, **params)``; hashable."""

    factory: Callable[..., Algorithm]
    static: tuple[tuple[str, Any], ...]

    def __call__(self, params):
        return self.factory(**dict(self.static), **params)


def compile_cache_size() -> int:
    """Number of compiled chunk programs held (for "no recompilation" checks)."""
    return _start_jit._cache_size() + _advance_jit._cache_size()


# --------------------------------------------------------------------------- validation
def _check_positive_int(name, value, where):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}{name}={value!r} is not allowed: expected an integer >= 1")
    return int(value)


def _as_key(key, where="run: "):
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
            return key
        if key.dtype == jnp.uint32 and key.shape == (2,):
            return jax.random.wrap_key_data(key)
    raise ValueError(
        f"{where}key={key!r} is not allowed: expected jax.random.key(seed) or an integer seed"
    )


def _check_inputs(problem, x0, where):
    if not isinstance(problem, Problem):
        raise TypeError(f"{where}problem={type(problem).__name__} is not a jcomp Problem")
    x0 = jnp.asarray(x0)
    if x0.shape != (problem.d,):
        raise ValueError(
            f"{where}x0 has shape {x0.shape}; expected ({problem.d},) to match the problem's d"
        )
    if not jnp.issubdtype(x0.dtype, jnp.floating):
        x0 = x0.astype(jnp.result_type(float))
    if not bool(jnp.all(jnp.isfinite(x0))):
        raise ValueError(f"{where}x0 contains non-finite values")
    return x0


def _config(steps, log_every, chunks, divergence, where):
    steps = _check_positive_int("steps", steps, where)
    log_every = _check_positive_int("log_every", log_every, where)
    if log_every > steps:
        raise ValueError(f"{where}log_every={log_every} exceeds steps={steps}")
    n_logs = math.ceil(steps / log_every)
    chunks = n_logs if chunks is None else _check_positive_int("chunks", chunks, where)
    chunks = min(chunks, n_logs)
    if divergence is not None and not (divergence > 1):
        raise ValueError(f"{where}divergence={divergence!r} is not allowed: expected > 1 or None")
    return _Config(steps, log_every, math.ceil(n_logs / chunks), divergence), n_logs


# --------------------------------------------------------------------------- devices
def worker_mesh(devices: int | Sequence[jax.Device]) -> jax.sharding.Mesh:
    """A 1-D mesh with axis ``"workers"`` over ``devices`` (a count or a list)."""
    if isinstance(devices, int):
        avail = jax.devices()
        if not 1 <= devices <= len(avail):
            raise ValueError(
                f"devices={devices} is not allowed: {len(avail)} device(s) available "
                "(on CPU, set XLA_FLAGS=--xla_force_host_platform_device_count=N)"
            )
        devices = avail[:devices]
    devices = list(devices)
    kw = {}
    if hasattr(jax.sharding, "AxisType"):
        kw["axis_types"] = (jax.sharding.AxisType.Auto,)
    return jax.make_mesh((len(devices),), ("workers",), devices=devices, **kw)


def shard_workers(tree, mesh: jax.sharding.Mesh, n: int):
    """Place every array leaf whose leading axis has length ``n`` sharded over the mesh's
    ``workers`` axis; replicate the rest."""
    k = mesh.shape["workers"]
    if n % k:
        raise ValueError(
            f"devices={k} is not allowed for n={n} workers: the worker count must be divisible "
            "by the number of devices"
        )
    P = jax.sharding.PartitionSpec
    split = jax.sharding.NamedSharding(mesh, P("workers"))
    repl = jax.sharding.NamedSharding(mesh, P())

    def place(a):
        if isinstance(a, jax.Array) and a.ndim >= 1 and a.shape[0] == n:
            return jax.device_put(a, split)
        return jax.device_put(a, repl) if isinstance(a, jax.Array) else a

    return jax.tree.map(place, tree)


# --------------------------------------------------------------------------- driver
class _Progress:
    def __init__(self, enabled, total, label):
        self.enabled, self.total, self.label = enabled, total, label
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done):
        elapsed = time.perf_counter() - self.t0
        if self.enabled is False or (self.enabled is None and elapsed < 2.0):
            return
        eta = elapsed / max(done, 1) * (self.total - done)
        sys.stderr.write(
            f"\r{self.label}: step {done}/{self.total}  {elapsed:6.1f}s elapsed, ~{eta:5.1f}s left"
        )
        sys.stderr.flush()
        self.shown = True

    def close(self):
        if self.shown:
            sys.stderr.write("\n")


_COMPILED: set = set()


def _compile_once(fn, static, args) -> None:
    """Compile ``fn`` ahead of the first call for these static arguments and argument types, so
    compile time is measured apart from run time (the jit cache then serves the calls)."""
    leaves, tree = jax.tree.flatten(args)
    sig = (
        fn,
        static,
        tree,
        tuple((jnp.shape(a), jnp.result_type(a), _sharding(a)) for a in leaves),
    )
    if sig not in _COMPILED:
        fn.lower(*static, *args).compile()
        _COMPILED.add(sig)


def _sharding(a):
    s = getattr(a, "sharding", None)
    return None if s is None or len(s.device_set) == 1 else s


def _drive(build, batched, cfg, n_logs, params, keys, problem, x0, progress, label):
    """Compile, run chunks, assemble rows on the host. Returns (rows, setup, carry, timing)."""
    t0 = time.perf_counter()
    args = (params, keys, problem, x0)
    _compile_once(_start_jit, (build, batched, cfg), args)
    carry, row0, setup = _start_jit(build, batched, cfg, *args)
    jax.block_until_ready(carry)
    _compile_once(_advance_jit, (build, batched, cfg), (params, problem, carry))
    compile_time = time.perf_counter() - t0

    bar = _Progress(progress, cfg.steps, label)
    rows = [jax.tree.map(lambda r: np.asarray(r)[None], jax.device_get(row0))]
    times = [np.zeros(1)]
    start = time.perf_counter()
    done_logs = 0
    stopped_early = False
    while done_logs < n_logs:
        t_chunk = time.perf_counter()
        carry, chunk = _advance_jit(build, batched, cfg, params, problem, carry)
        chunk = jax.device_get(chunk)
        t_end = time.perf_counter()
        take = min(cfg.chunk_logs, n_logs - done_logs)
        rows.append(jax.tree.map(lambda r, take=take: r[:take], chunk))
        frac = np.arange(1, take + 1) / take
        times.append((t_chunk - start) + frac * (t_end - t_chunk))
        done_logs += take
        bar.update(min(done_logs * cfg.log_every, cfg.steps))
        if done_logs < n_logs and bool(np.all(jax.device_get(carry.diverged))):
            stopped_early = True
            break
    bar.close()
    run_time = time.perf_counter() - start
    rows = jax.tree.map(lambda *r: np.concatenate(r, axis=0), *rows)
    if stopped_early:  # every run diverged: fill the rows that were not run
        rows = _pad_diverged(rows, n_logs + 1, cfg)
    times = np.concatenate(times)
    times = np.concatenate([times, np.full(n_logs + 1 - len(times), np.nan)])
    timing = {
        "compile_time_s": compile_time,
        "run_time_s": run_time,
        "time_per_step_s": run_time / max(int(np.max(rows.step[-1])), 1),
        "stopped_early": stopped_early,
    }
    return rows, setup, carry, times, timing


def _pad_diverged(rows: _Row, total: int, cfg: _Config) -> _Row:
    have = rows.step.shape[0]
    steps = np.minimum(np.arange(have, total) * cfg.log_every, cfg.steps)

    def pad(name, r):
        if name == "step":
            fill = np.broadcast_to(
                steps.reshape((-1,) + (1,) * (r.ndim - 1)), (total - have,) + r.shape[1:]
            )
        elif name in ("loss_gap", "grad_norm_sq", "dist_sq"):
            fill = np.full((total - have,) + r.shape[1:], np.inf, r.dtype)
        else:
            fill = np.repeat(r[-1:], total - have, axis=0)
        return np.concatenate([r, fill.astype(r.dtype)], axis=0)

    return _Row(**{k: pad(k, v) for k, v in rows._asdict().items()})


def _to_trace(rows: _Row, setup, diverged, diverged_step, times, meta) -> Trace:
    fields = {k: np.moveaxis(np.asarray(v), 0, -1) for k, v in rows._asdict().items()}
    return Trace(
        **fields,
        setup_up_bits=np.asarray(jax.device_get(setup[0])),
        setup_down_bits=np.asarray(jax.device_get(setup[1])),
        wall_time=times,
        diverged=np.asarray(jax.device_get(diverged)),
        diverged_step=np.asarray(jax.device_get(diverged_step)),
        meta=meta,
    )


def run(
    algorithm: Algorithm,
    problem: Problem,
    x0,
    *,
    key,
    steps: int,
    log_every: int = 1,
    chunks: int | None = 10,
    divergence: float | None = 1e12,
    devices: int | Sequence[jax.Device] | None = None,
    progress: bool | None = None,
    meta: Mapping | None = None,
) -> Trace:
    """Run ``algorithm`` on ``problem`` from ``x0`` for ``steps`` steps, logging every
    ``log_every`` steps (and at step 0).

    Args:
      algorithm: an ``Algorithm`` from a factory such as ``jcomp.algorithms.marina_p``.
      problem: a jcomp ``Problem``.
      x0: the starting point, shape ``(d,)``.
      key: ``jax.random.key(seed)`` or an integer seed.
      steps, log_every: step count and logging interval (the last row is at ``steps``).
      chunks: the host calls the compiled program this many times (progress, early stop).
      divergence: a run whose ‖∇f‖² exceeds ``divergence × ‖∇f(x⁰)‖²`` or turns non-finite
        stops (its state is frozen, its metrics are +inf from then on) and is marked in
        ``trace.diverged`` / ``trace.diverged_step``; ``None`` stops only on non-finite values.
      devices: shard the worker axis over this many devices (or these devices); the same key
        gives the same trace as on one device.
      progress: print progress to stderr (``None``: only when the run takes over 2 s).
      meta: extra JSON-friendly entries for ``trace.meta``.
    """
    where = "run: "
    if not isinstance(algorithm, Algorithm):
        raise TypeError(
            f"{where}algorithm={type(algorithm).__name__} is not an Algorithm; build one with a "
            "factory such as jcomp.algorithms.gd(step_size=...)"
        )
    x0 = _check_inputs(problem, x0, where)
    key = _as_key(key, where)
    cfg, n_logs = _config(steps, log_every, chunks, divergence, where)
    if devices is not None:
        mesh = worker_mesh(devices)
        problem = shard_workers(problem, mesh, problem.n)
        x0 = shard_workers(x0, mesh, problem.n)
    rows, setup, carry, times, timing = _drive(
        _Given(), None, cfg, n_logs, algorithm, key, problem, x0, progress, "run"
    )
    info = {"steps": steps, "log_every": log_every, **timing, **dict(meta or {})}
    if devices is not None:
        info["devices"] = [str(d) for d in mesh.devices.flat]
    return _to_trace(rows, setup, carry.diverged, carry.diverged_step, times, info)


class _Outcome(NamedTuple):
    """Divergence flags of a chunk of runs (what :func:`sweep` keeps of each chunk's carry)."""

    diverged: np.ndarray  # (B,)
    diverged_step: np.ndarray  # (B,)


def _split_kwargs(kwargs):
    static, dynamic = [], {}
    for k, v in kwargs.items():
        if isinstance(v, (float, np.floating, jax.Array, np.ndarray)) and not isinstance(v, bool):
            dynamic[k] = jnp.asarray(v)
        else:
            try:
                hash(v)
            except TypeError:
                raise ValueError(
                    f"sweep: {k}={v!r} must be a number, an array or a hashable value"
                ) from None
            static.append((k, v))
    return tuple(sorted(static, key=lambda kv: kv[0])), dynamic


def sweep(
    factory: Callable[..., Algorithm],
    problem: Problem,
    x0,
    *,
    steps: int,
    grid: Mapping[str, Sequence[float]] | None = None,
    seeds: Sequence[int] = (0,),
    log_every: int = 1,
    chunks: int | None = 10,
    batch_chunk: int | None = None,
    divergence: float | None = 1e12,
    progress: bool | None = None,
    meta: Mapping | None = None,
    **kwargs,
) -> Trace:
    """Run ``factory(**kwargs, **point)`` for every point of ``grid`` × ``seeds`` as one
    compiled, vmapped program.

    ``grid`` maps factory keyword names to 1-D value lists (e.g. ``{"step_size": γ·2**i}``);
    the trace's leading axes are the grid axes in order, then the seeds. ``kwargs`` are fixed
    factory arguments: numbers are traced (a new value does not recompile), others (a
    compressor) are static. ``batch_chunk`` runs at most this many grid points × seeds at once
    (default: all of them on an accelerator; on CPU a cache-sized batch, see
    ``CPU_BATCH_ELEMENTS``). Each seed's key is ``jax.random.key(seed)``, so a sweep's run equals
    ``run(factory(...), key=jax.random.key(seed))``.

    Example: tune MARINA-P's step over the 2^i grid of its theory value, 5 seeds::

        gamma = marina_p_theory(problem, comp)["step_size"]
        trace = sweep(marina_p, problem, x0, compressor=comp, p=p, steps=2000,
                      grid={"step_size": gamma * 2.0 ** np.arange(-4, 11)}, seeds=range(5))
    """
    where = "sweep: "
    x0 = _check_inputs(problem, x0, where)
    cfg, n_logs = _config(steps, log_every, chunks, divergence, where)
    grid = dict(grid or {})
    for k, v in grid.items():
        if np.ndim(v) != 1 or len(v) == 0:
            raise ValueError(f"{where}grid[{k!r}] must be a non-empty 1-D sequence; got {v!r}")
        if k in kwargs:
            raise ValueError(f"{where}{k!r} is given both in grid and as a keyword argument")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError(f"{where}seeds must be a non-empty sequence of integers")
    static, dynamic = _split_kwargs(kwargs)
    build = _FactoryCall(factory, static)
    # validate every grid point eagerly (factories check their arguments) before compiling
    for k, v in grid.items():
        for value in np.asarray(v, dtype=float):
            build({**dynamic, k: float(value)})

    names = list(grid)
    shape = tuple(len(grid[k]) for k in names) + (len(seeds),)
    mesh = np.meshgrid(*[np.asarray(grid[k], float) for k in names], seeds, indexing="ij")
    flat = {k: m.reshape(-1) for k, m in zip(names, mesh[:-1], strict=True)}
    seed_flat = mesh[-1].reshape(-1).astype(int)
    B = seed_flat.size
    if batch_chunk is None:
        first = {**dynamic, **{k: float(np.asarray(grid[k], float)[0]) for k in names}}
        batch_chunk = _default_batch_chunk(
            problem, B, _largest_state_array(build, first, problem, x0)
        )
    chunk = min(B, _check_positive_int("batch_chunk", batch_chunk, where))
    dtype = x0.dtype
    batched = tuple(names)
    pieces, timing_all = [], []
    for lo in range(0, B, chunk):
        label = f"sweep runs {lo + 1}-{min(lo + chunk, B)} of {B}"
        if chunk == 1:  # one run at a time: the unbatched program (a vmap of one is slower)
            params = {**dynamic, **{k: jnp.asarray(flat[k][lo], dtype) for k in names}}
            key = jax.random.key(int(seed_flat[lo]))
            rows, setup, carry, times, timing = _drive(
                build, None, cfg, n_logs, params, key, problem, x0, progress, label
            )
            rows = jax.tree.map(lambda r: np.asarray(r)[:, None], rows)  # (T,) -> (T, 1)
            setup = tuple(np.asarray(v)[None] for v in setup)
            carry = _Outcome(*(np.asarray(v)[None] for v in (carry.diverged, carry.diverged_step)))
        else:
            idx = np.arange(lo, lo + chunk).clip(max=B - 1)  # pad the last chunk, drop it later
            params = {**dynamic, **{k: jnp.asarray(flat[k][idx], dtype) for k in names}}
            keys = jax.vmap(jax.random.key)(jnp.asarray(seed_flat[idx]))
            rows, setup, carry, times, timing = _drive(
                build, batched, cfg, n_logs, params, keys, problem, x0, progress, label
            )
        keep = min(chunk, B - lo)
        pieces.append((rows, setup, carry, times, keep))
        timing_all.append(timing)

    def cat(get, axis):
        return np.concatenate(
            [np.asarray(get(p))[(slice(None),) * axis + (slice(0, p[4]),)] for p in pieces],
            axis=axis,
        )

    rows = _Row(**{k: cat(lambda p, k=k: getattr(p[0], k), 1) for k in _Row._fields})
    setup = (cat(lambda p: p[1][0], 0), cat(lambda p: p[1][1], 0))
    info = {
        "steps": steps,
        "log_every": log_every,
        "axes": [[k, np.asarray(grid[k], float).tolist()] for k in names] + [["seed", seeds]],
        "compile_time_s": sum(t["compile_time_s"] for t in timing_all),
        "run_time_s": sum(t["run_time_s"] for t in timing_all),
        "fixed": {k: (v.describe() if isinstance(v, Compressor) else v) for k, v in static}
        | {k: np.asarray(v).tolist() for k, v in dynamic.items()},
        **dict(meta or {}),
    }
    diverged = cat(lambda p: p[2].diverged, 0)
    diverged_step = cat(lambda p: p[2].diverged_step, 0)
    trace = _to_trace(rows, setup, diverged, diverged_step, pieces[0][3], info)
    return _reshape(trace, shape)


#: On CPU a sweep runs at most this many elements of its largest state array at once (n·d for
#: MARINA-P's worker models, d for GD): small batches stay in cache (measured 2.6x faster than
#: one 75-run batch at n = 100, d = 300, float64); GD's 64-point sweep at n = 1000 runs as one
#: batch (7.3x faster than 64 batches of one).
CPU_BATCH_ELEMENTS = 2**17


def _default_batch_chunk(problem: Problem, B: int, per_run: int | None = None) -> int:
    """Runs per compiled batch: all of them off CPU; on CPU as many as keep the largest state
    array (``per_run`` elements, else n·d) within ``CPU_BATCH_ELEMENTS``, balanced so that the
    last chunk is not mostly padding (B = 64 with a cap of 43 runs 2 × 32, not 43 + 21 padded
    to 86: measured 1.5× faster at n = 10, d = 300)."""
    if jax.default_backend() != "cpu":
        return B
    per_run = per_run or problem.n * problem.d
    cap = max(1, min(B, CPU_BATCH_ELEMENTS // max(per_run, 1)))
    chunks = -(-B // cap)
    return -(-B // chunks)


def _largest_state_array(build, params, problem, x0) -> int | None:
    """Elements of the largest array in one run's algorithm state (abstract evaluation only):
    (d,) for GD, (n, d) for MARINA-P. None if the state cannot be traced abstractly."""
    try:
        shapes = jax.eval_shape(lambda: build(params).init(jax.random.key(0), problem, x0))
    except Exception:  # noqa: BLE001 - a heuristic for the chunk size only
        return None
    sizes = [int(np.prod(a.shape)) for a in jax.tree.leaves(shapes)]
    return max(sizes, default=None)


def _reshape(trace: Trace, shape) -> Trace:
    out = {}
    for k, v in trace.arrays().items():
        v = np.asarray(v)
        if k == "wall_time":
            out[k] = v
        elif k in ("diverged", "diverged_step", "setup_up_bits", "setup_down_bits"):
            out[k] = v.reshape(shape)
        else:
            out[k] = v.reshape(shape + v.shape[1:])
    return Trace(**out, meta=trace.meta)


def best_index(
    trace: Trace,
    metric: str = "grad_norm_sq",
    *,
    x: str | None = None,
    budget: float | None = None,
    setup: bool = False,
) -> int:
    """Index along the first sweep axis (e.g. step sizes) whose final ``metric`` is smallest.

    The score of a grid point is the geometric mean over the remaining axes (seeds) of the
    metric at the end of the budget (the last row with ``x ≤ budget`` when an axis and budget
    are given; else the last row). A diverged run scores +∞; ties go to the smaller index.
    """
    y = np.asarray(getattr(trace, metric), dtype=np.float64)
    if budget is not None:
        if x is None:
            raise ValueError("best_index: budget needs an x axis name, e.g. x='down_bits_noidx'")
        xs = trace.x_axis(x, setup=setup)
        within = xs <= budget
        last = np.where(within.any(-1), within.shape[-1] - 1 - np.argmax(within[..., ::-1], -1), 0)
        final = np.take_along_axis(y, last[..., None], axis=-1)[..., 0]
    else:
        final = y[..., -1]
    final = np.where(trace.diverged | ~np.isfinite(final), np.inf, final)
    with np.errstate(divide="ignore"):
        logs = np.log(np.maximum(final, 1e-300))
    score = logs.reshape(logs.shape[0], -1).mean(axis=1)
    return int(np.argmin(score))
