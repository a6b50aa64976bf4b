"""The Compressor contract: a frozen, hashable config object turning ``(n, d)`` rows into a Message.

Row ``i`` of the input is what worker ``i`` compresses. A compressor is static under ``jit``
(registered with :func:`jax.tree_util.register_static`), so it can be closed over or passed as
an argument without recompiling for a new key. Randomness comes only from ``key``:

* an *independent* compressor gives worker ``i`` the key ``fold_in(key, i)``
  (:func:`worker_keys`), so results do not depend on how workers are sharded;
* a *correlated* one (PermK, SameRandK, ...) also draws shared randomness from ``key`` itself.

Bit accounting (spec ALGORITHMS.md §3): ``bits`` charges indices when the support is chosen by
the sender's private randomness or data, ``bits_noidx`` never charges them, ``coords`` counts
entries sent (vector coordinates plus scalars such as norms). All are counted from the realized
message, not from expectations.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "Compressor",
    "Message",
    "check_int",
    "index_bits",
    "lift_independent",
    "register",
    "worker_keys",
]

FLOAT_BITS = 32


class Message(NamedTuple):
    """What the receivers decode, and what it cost to send."""

    values: jax.Array  # (n, d) the decoded vectors, row i from worker i
    bits: jax.Array  # (n,) encoded bits, indices charged per the spec's idx column
    bits_noidx: jax.Array  # (n,) encoded bits with every index free
    coords: jax.Array  # (n,) entries sent (coordinates plus scalars such as norms)


def index_bits(d: int) -> int:
    """Bits of one index into ``[d]``: ``⌈log₂ d⌉`` (spec §3)."""
    return math.ceil(math.log2(d)) if d > 1 else 0


def worker_keys(key: jax.Array, n: int) -> jax.Array:
    """Per-worker keys ``fold_in(key, i)`` for ``i = 0..n-1``: shape ``(n,)``."""
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(n))


def lift_independent(
    rule: Callable[[jax.Array, jax.Array], tuple], key: jax.Array, X: jax.Array
) -> Message:
    """Apply a single-row rule ``rule(key_i, x_i) -> (values, bits, bits_noidx, coords)`` to
    every row with the worker key ``fold_in(key, i)``."""
    values, bits, bits_noidx, coords = jax.vmap(rule)(worker_keys(key, X.shape[0]), X)
    dtype = X.dtype
    return Message(values, bits.astype(dtype), bits_noidx.astype(dtype), coords.astype(dtype))


def check_int(name: str, value, lo: int, hi: int | None = None, where: str = "") -> int:
    """Validate an integer parameter, naming it, its value and the allowed range."""
    allowed = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            ok = int(value) == value
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{where}{name}={value!r} is not allowed: expected {allowed}")
        value = int(value)
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{where}{name}={value} is out of range: expected {allowed}")
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Compressor:
    """Base class. Subclasses are frozen dataclasses decorated with :func:`register`.

    Subclasses implement ``_compress(key, X) -> Message`` and the metadata they support; the
    base ``__call__`` validates shapes (``validate``) before any tracing work.

    Metadata (``None`` where the class does not apply; ``d`` = dimension, ``n`` = workers):

    * ``omega(d, n)``: ω of U(ω) for each worker's compressor (unbiased, ``E‖C(x)−x‖² ≤ ω‖x‖²``);
    * ``delta(d)``: δ of B(δ) (contractive, ``E‖C(x)−x‖² ≤ (1−δ)‖x‖²``);
    * ``theta(d, n)``: θ of P(θ) for the collection on one common input;
    * ``ab(d, n)``: (A, B) of the AB inequality for the collection;
    * ``expected_cost(d, n)``: expected ``(bits, bits_noidx, coords)`` per worker message.
    """

    float_bits: int = FLOAT_BITS

    name: ClassVar[str] = "compressor"
    #: U(ω) class: every worker's output is unbiased.
    unbiased: ClassVar[bool] = False
    #: Workers use independent randomness (worker key ``fold_in(key, i)`` only).
    independent: ClassVar[bool] = True
    #: One linear map per key, the same for every worker: ``(1/n)Σ_i C(x_i) = C((1/n)Σ_i x_i)``
    #: for a given key (synchronized methods, CORE-GD; seed 001 Alg. 5–6).
    linear_shared: ClassVar[bool] = False

    def __call__(self, key: jax.Array, X: jax.Array) -> Message:
        if X.ndim != 2:
            raise ValueError(
                f"{self.name}: X must have shape (n, d) (one row per worker); got shape {X.shape}"
            )
        n, d = X.shape
        self.validate(d, n)
        return self._compress(key, X)

    def _compress(self, key: jax.Array, X: jax.Array) -> Message:
        raise NotImplementedError

    def _fixed_size_message(self, values: jax.Array) -> Message:
        """A message whose cost never varies: every worker pays ``expected_cost(d, n)``."""
        n, d = values.shape
        bits, bits_noidx, coords = self.expected_cost(d, n)
        full = lambda v: jnp.full((n,), v, values.dtype)
        return Message(values, full(bits), full(bits_noidx), full(coords))

    def validate(self, d: int, n: int) -> None:
        """Raise ``ValueError`` if this compressor cannot serve ``n`` workers in dimension ``d``."""

    def value_bits(self) -> float | None:
        """Bits per kept value for elementwise compressors (``None`` when not elementwise);
        ``compose(outer, inner)`` charges this per coordinate of the inner's support."""
        return None

    def omega(self, d: int, n: int) -> float | None:
        return None

    def delta(self, d: int) -> float | None:
        return None

    def theta(self, d: int, n: int) -> float | None:
        """P(θ): default for an unbiased collection is θ = ω, or ω/n if independent."""
        w = self.omega(d, n)
        if w is None:
            return None
        return w / n if self.independent else w

    def ab(self, d: int, n: int) -> tuple[float, float] | None:
        """AB inequality: individually unbiased → (max ω, 0); independent → (ω/n, 0)."""
        w = self.omega(d, n)
        if w is None:
            return None
        return (w / n, 0.0) if self.independent else (w, 0.0)

    def expected_cost(self, d: int, n: int) -> tuple[float, float, float]:
        raise NotImplementedError(f"{self.name} does not define expected_cost")

    def describe(self) -> dict:
        """JSON-friendly description: name and parameters."""
        out = {"name": self.name}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.describe() if isinstance(v, Compressor) else v
        return out


def register(cls):
    """Make a compressor dataclass frozen, hashable and static under ``jit``."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    return jax.tree_util.register_static(cls)
