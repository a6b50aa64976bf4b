"""ISCC (seed 003 App. C): importance-sampled client compression with weights q."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ._base import Compressor, Message, check_int, register

__all__ = ["ISCC", "iscc"]


@register
class ISCC(Compressor):
    """``iscc(base, weights, tau)``: τ i.i.d. clients ``χ ~ q`` from the shared key;
    ``S(a) = (1/τ)Σ_t C^{(t)}_{χ_t}(a_{χ_t})/(n q_{χ_t})`` (spec §4, seed 003 App. C).

    Rule: split ``key`` into ``key_draw, key_base``; ``χ_1..χ_τ`` i.i.d. categorical(q) from
    ``key_draw`` (shared by all workers); draw ``t`` compresses with the collection
    ``base(fold_in(key_base, t), X)`` and keeps its row ``χ_t`` (worker χ_t's compressor in
    the base collection, fresh randomness per draw; a client drawn twice compresses twice).

    Message representation: row ``i`` is ``(1/(τ q_i))Σ_{t: χ_t = i} C^{(t)}_i(a_i)``, so the
    server's aggregate ``(1/n)Σ_i values_i`` equals ``S(a)`` exactly (up to rounding). Each row
    is itself unbiased (``E #{t: χ_t = i} = τq_i``). Clients not drawn send nothing (row 0,
    bits 0, coords 0); a drawn client pays the base message's ``bits``/``bits_noidx``/``coords``
    once per draw. Cost of computing: the base collection runs τ times on all n rows
    (O(τnd)); only the drawn rows are used.

    Weights: ``weights`` a tuple of n positive floats summing to 1 (within 1e-9), default
    uniform ``q_i = 1/n`` (the algorithm layer passes ``q_i = L_i/ΣL_j``).

    Class (base U(ω) per worker; ``q_min = min_i q_i``):

    * weighted AB with w = q (:meth:`weighted_ab`): ``A = (ω+1)/τ``, ``B = 1/τ`` **(derived)**:
      ``Y = C_χ(a_χ)/(nq_χ)`` has ``E Y = ā`` and ``E‖Y‖² ≤ (1+ω)(1/n)Σ(1/(nq_i))‖a_i‖²``,
      and S is the mean of τ i.i.d. copies; equality when the base is ω-tight (for every τ,
      since draws compress independently);
    * unweighted AB: ``(1/n)Σ(1/(nq_i))‖a_i‖² ≤ (1/(nq_min))(1/n)Σ‖a_i‖²``, so
      ``A = (ω+1)/(τnq_min)``, ``B = 1/τ`` (equality for uniform q and a tight base);
      θ = A − B;
    * per row ω: ``E‖row_i‖² = ((1+ω)/(τq_i) + (τ−1)/τ)‖a_i‖²``, so
      ``ω = ((1+ω_base)/q_min − 1)/τ`` (equality for uniform q and a tight base).
    """

    base: Compressor
    weights: tuple | None = None
    tau: int = 1

    name = "iscc"
    independent = False

    @property
    def unbiased(self) -> bool:  # type: ignore[override]
        """Unbiased when its base is (DRIVE-Hadamard is admitted as a base but is biased)."""
        return self.base.unbiased

    def q(self, n: int) -> tuple:
        return self.weights if self.weights is not None else (1.0 / n,) * n

    def validate(self, d, n):
        self.base.validate(d, n)
        if self.weights is not None and len(self.weights) != n:
            raise ValueError(
                f"iscc: weights has {len(self.weights)} entries, not allowed with n={n}: "
                "expected one weight per worker"
            )
        if self.base.omega(d, n) is None:
            raise ValueError(
                f"iscc: base={self.base.name} is not allowed at d={d}, n={n}: the base must "
                "be unbiased with a known ω"
            )

    def _compress(self, key, X):
        n, d = X.shape
        dtype = X.dtype
        tau = self.tau
        q = jnp.asarray(self.q(n), dtype)
        key_draw, key_base = jax.random.split(key)
        chi = jax.random.categorical(key_draw, jnp.log(q), shape=(tau,))  # (τ,)
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key_base, jnp.arange(tau))
        msgs = jax.vmap(lambda k: self.base(k, X))(keys)  # fields (τ, n, ...)
        rows = jnp.arange(tau)
        pick = lambda a: a[rows, chi]  # (τ, ...) the drawn worker's part of each draw
        scale = 1.0 / (tau * q[chi])  # (τ,)
        values = jnp.zeros((n, d), dtype).at[chi].add(pick(msgs.values) * scale[:, None])
        add = lambda a: jnp.zeros((n,), dtype).at[chi].add(pick(a).astype(dtype))
        return Message(values, add(msgs.bits), add(msgs.bits_noidx), add(msgs.coords))

    def weighted_ab(self, d, n):
        """``(A, B, w)`` of the weighted AB inequality (seed 003 Asm. 6) with ``w = q``."""
        w = self.base.omega(d, n)
        return ((w + 1.0) / self.tau, 1.0 / self.tau, self.q(n))

    def omega(self, d, n):
        w = self.base.omega(d, n)
        if w is None:
            return None
        return ((1.0 + w) / min(self.q(n)) - 1.0) / self.tau

    def ab(self, d, n):
        w = self.base.omega(d, n)
        if w is None:
            return None
        return ((w + 1.0) / (self.tau * n * min(self.q(n))), 1.0 / self.tau)

    def theta(self, d, n):
        ab = self.ab(d, n)
        return None if ab is None else ab[0] - ab[1]

    def expected_cost(self, d, n):
        """Average over workers of the expected per-worker cost: ``τ/n`` base messages
        (worker i's own expectation is ``τq_i`` base messages: :meth:`expected_cost_per_worker`)."""
        return tuple(self.tau * c / n for c in self.base.expected_cost(d, n))

    def expected_cost_per_worker(self, d, n):
        """``(n, 3)`` tuple: worker i's expected (bits, bits_noidx, coords) = ``τq_i``·base."""
        base = self.base.expected_cost(d, n)
        return tuple(tuple(self.tau * qi * c for c in base) for qi in self.q(n))

    def describe(self):
        return {
            "name": self.name,
            "base": self.base.describe(),
            "weights": self.weights,
            "tau": self.tau,
        }


def iscc(base: Compressor, weights=None, tau: int = 1) -> ISCC:
    """ISCC over ``base`` (unbiased, or DRIVE) with client weights q (default uniform), τ draws."""
    if not isinstance(base, Compressor):
        raise ValueError(f"iscc: base={base!r} is not allowed: expected a Compressor")
    if not (base.unbiased or base.name == "drive"):
        raise ValueError(
            f"iscc: base={base.name} is not allowed: the base must be unbiased (or DRIVE, whose "
            "Hadamard form seed 003 uses as if unbiased, with ω = π/2 − 1)"
        )
    tau = check_int("tau", tau, 1, where="iscc: ")
    if weights is not None:
        try:
            weights = tuple(float(w) for w in weights)
        except (TypeError, ValueError):
            raise ValueError(
                f"iscc: weights={weights!r} is not allowed: expected a sequence of floats"
            ) from None
        if not weights or any(not (math.isfinite(w) and w > 0) for w in weights):
            raise ValueError(
                f"iscc: weights={weights!r} is not allowed: every weight must be positive"
            )
        if abs(sum(weights) - 1.0) > 1e-9:
            raise ValueError(
                f"iscc: weights={weights!r} is not allowed: they must sum to 1 "
                f"(sum = {sum(weights)})"
            )
    return ISCC(base=base, weights=weights, tau=tau)
