"""Linear autoencoder (seed 004 F.2; spec ALGORITHMS.md §6), a non-convex problem with samples.

Worker i holds m images ``b_t ∈ R^p`` (p = 784 for MNIST) and

    f_i(D, E) = (1/m) Σ_t ‖D E b_t − b_t‖² + (λ/2)‖D E − I_p‖_F²,   D ∈ R^{p×k}, E ∈ R^{k×p},

f = (1/n) Σ_i f_i (equal m, so f is the same formula over all nm kept samples). Parameters are
``x = concat(vec(D), vec(E))`` of length d = 2pk (25,088 for p = 784, k = 16), each matrix
flattened **row-major** (C order): ``D[a, j] = x[a·k + j]``, ``E[j, a] = x[pk + j·p + a]``
(:meth:`Autoencoder.unflatten` / :meth:`Autoencoder.flatten`).

Closed forms, with B the (m, p) rows of a worker, Z = B Eᵀ (m, k) and R = Z Dᵀ − B (m, p) the
residuals (so D E b is computed as D(E b); no p×p matrix is formed):

    loss: (1/m)‖R‖_F² + (λ/2)(tr(DᵀD · E Eᵀ) − 2 tr(D E) + p)
    ∇_D = (2/m) Rᵀ Z + λ (D (E Eᵀ) − Eᵀ),    ∇_E = (2/m) (R D)ᵀ B + λ ((DᵀD) E − Dᵀ)

The loss forms R explicitly (accurate reconstruction error). The gradient uses the factored
``RᵀZ = D(ZᵀZ) − BᵀZ`` and ``RD = Z(DᵀD) − BD``: two passes over B and no (m, p) intermediate,
about 3× faster on CPU at n = 100, at the cost of cancellation in ``D(ZᵀZ) − BᵀZ`` near
stationary points (absolute error of order eps·‖B‖‖Z‖/m per entry: negligible in float64, a
visible floor on ‖∇f‖ in float32).

(the regulariser by the identity ‖DE − I‖_F² = tr(EᵀDᵀDE) − 2tr(DE) + p with k×k Gram
matrices; its gradient is λ(DE − I)Eᵀ and λDᵀ(DE − I) expanded). D = E = 0 is a stationary point
(all terms above vanish), so :meth:`Autoencoder.x0` draws iid N(0, 1/p) (spec: N(0, 1/784), an
assumption of the spec) from a fixed seed.

Samples (for the minibatch oracle :func:`jcomp.problems.minibatch`): the per-sample term is
``f_it = ‖D E b_t − b_t‖² + (λ/2)‖D E − I‖_F²``, whose mean over worker i's m samples is f_i.

Non-convex: ``x_star = f_star = None``. f is **not** L-smooth on R^d (it is a quartic polynomial:
its Hessian grows like ‖x‖²), so there are no global smoothness constants: ``constants`` is
``Constants(L=None, L_i=None, L_max=None)``. ``describe()`` reports them as null; theory step-size
rules that need L fail loudly (``float(None)``) instead of silently giving a NaN step. Use a
local estimate instead, e.g. the top eigenvalue of the Hessian at x⁰ by power iteration on
:meth:`Autoencoder.hvp` (spec EXPERIMENTS.md Fig. 3: γ₀ = 1/L̂).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Constants, Problem, problem_dataclass
from ._checks import check_int, check_lam

__all__ = ["Autoencoder", "autoencoder", "autoencoder_mnist"]


def _reg(D, E, GD, GE, lam):
    """(λ/2)‖DE − I‖_F² by the trace identity (k×k Gram matrices GD = DᵀD, GE = EEᵀ)."""
    p = D.shape[0]
    return 0.5 * lam * (jnp.sum(GD * GE) - 2.0 * jnp.sum(D * E.T) + p)


def _loss(D, E, B, lam):
    """Mean over the rows b of B (b, p) of ‖DEb − b‖² + (λ/2)‖DE − I‖²; residuals formed
    explicitly (R = (BEᵀ)Dᵀ − B), so the reconstruction error has no cancellation."""
    R = (B @ E.T) @ D.T - B
    return jnp.sum(R * R) / B.shape[0] + _reg(D, E, D.T @ D, E @ E.T, lam)


def _grad(D, E, B, lam):
    """(∇_D, ∇_E) of :func:`_loss`, in the factored form of the module docstring: two passes
    over B, no (b, p) intermediate."""
    b, k = B.shape[0], D.shape[1]
    GD, GE = D.T @ D, E @ E.T
    Z = B @ E.T  # (b, k)
    W = Z @ GD - B @ D  # (b, k) = R D
    BtZW = B.T @ jnp.concatenate([Z, W], axis=1)  # (p, 2k) = [BᵀZ, BᵀRD]
    s = 2.0 / b
    gD = s * (D @ (Z.T @ Z) - BtZW[:, :k]) + lam * (D @ GE - E.T)
    gE = s * BtZW[:, k:].T + lam * (GD @ E - D.T)
    return gD, gE


@problem_dataclass
class Autoencoder(Problem):
    """Linear autoencoder over n workers (see the module docstring). Leaves: ``data`` (n, m, p)
    worker i's images, ``indices`` (n, m) their rows in the images given to :func:`autoencoder`,
    ``lam`` (); ``x_star = f_star = None``; ``constants`` all None. Static: ``k`` (code size),
    ``seed`` (default seed of :meth:`x0`)."""

    data: jax.Array  # (n, m, p)
    indices: jax.Array  # (n, m) int: rows of the input images held by each worker
    lam: jax.Array  # () λ
    x_star: None
    f_star: None
    constants: Constants
    k: int = dataclasses.field(metadata={"static": True})
    seed: int = dataclasses.field(metadata={"static": True}, default=0)
    name = "autoencoder"

    @property
    def n(self) -> int:
        return self.data.shape[0]

    @property
    def p(self) -> int:
        """Pixels per image (784 for MNIST)."""
        return self.data.shape[2]

    @property
    def d(self) -> int:
        return 2 * self.p * self.k

    @property
    def samples_per_worker(self) -> int:
        return self.data.shape[1]

    def unflatten(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(D (p, k), E (k, p)) of a parameter vector x (d,): row-major blocks."""
        p, k = self.p, self.k
        return x[: p * k].reshape(p, k), x[p * k :].reshape(k, p)

    def flatten(self, D: jax.Array, E: jax.Array) -> jax.Array:
        """x = concat(vec(D), vec(E)), row-major (the inverse of :meth:`unflatten`)."""
        return jnp.concatenate([jnp.ravel(D), jnp.ravel(E)])

    def x0(self, key=None) -> jax.Array:
        """(d,) the spec's initial point: iid N(0, 1/p) (p = 784: N(0, 1/784)). ``key``: a JAX
        PRNG key or an integer seed; default the problem's ``seed``."""
        if key is None:
            key = self.seed
        if isinstance(key, int | np.integer):
            key = jax.random.PRNGKey(int(key))
        z = jax.random.normal(key, (self.d,), self.data.dtype)
        return z / jnp.sqrt(jnp.asarray(self.p, self.data.dtype))

    def _loss1(self, x, B):
        return _loss(*self.unflatten(x), B, self.lam)

    def _grad1(self, x, B):
        return self.flatten(*_grad(*self.unflatten(x), B, self.lam))

    def worker_losses(self, X):
        return jax.vmap(self._loss1)(X, self.data)

    def worker_grads(self, X, key=None):
        """(n, d) exact ∇f_i(X[i]) (``key`` is ignored: the oracle is exact)."""
        return jax.vmap(self._grad1)(X, self.data)

    def sample_grads(self, X: jax.Array, idx: jax.Array) -> jax.Array:
        """(n, d): row i is the mean of ``∇f_it(X[i])`` over the samples ``idx[i]`` ((n, b)
        indices into worker i's m rows); with all m rows it equals ``∇f_i(X[i])``."""
        rows = jnp.take_along_axis(self.data, idx[..., None], axis=1)  # (n, b, p)
        return jax.vmap(self._grad1)(X, rows)

    def loss(self, x):
        """f(x): the same formula over all nm samples (equal m per worker)."""
        return self._loss1(x, self.data.reshape(-1, self.p))

    def grad(self, x, key=None):
        if key is not None:
            return super().grad(x, key)
        return self._grad1(x, self.data.reshape(-1, self.p))

    def hvp(self, x: jax.Array, v: jax.Array) -> jax.Array:
        """(d,) ∇²f(x) v by forward-mode differentiation of the closed-form gradient (for a
        local smoothness estimate, e.g. power iteration at x⁰)."""
        return jax.jvp(self.grad, (x,), (v,))[1]

    def describe(self) -> dict:
        out = super().describe()
        out.update(
            samples_per_worker=self.samples_per_worker,
            lam=float(jax.device_get(self.lam)),
            k=self.k,
            pixels=self.p,
            x0="iid N(0, 1/p)",
            seed=self.seed,
            smoothness="not globally L-smooth (quartic); constants undefined (null)",
        )
        return out


def autoencoder(images, n: int, lam=1e-3, k: int = 16, seed: int = 0, split_seed: int = 0):
    """The seed-004 F.2 autoencoder on ``images`` (N, p) (or (N, h, w), flattened row-major;
    pixels as given, e.g. in [0, 1] from :func:`load_mnist`) over ``n`` workers.

    Split: a random equal split, ``np.random.default_rng(split_seed).permutation(N)``; worker i
    gets rows ``perm[i·m : (i+1)·m]`` with m = ⌊N/n⌋, the last N − nm rows of the permutation are
    dropped. Data are stored as ``jnp.result_type(float)``. ``k``: code size (d = 2pk); ``lam``:
    λ ≥ 0; ``seed``: default seed of :meth:`Autoencoder.x0`.
    """
    where = "autoencoder: "
    a = np.asarray(images)
    if a.ndim == 3:
        a = a.reshape(a.shape[0], -1)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{where}images must have shape (N, p) with N, p ≥ 1; got {a.shape}")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ValueError(f"{where}images must be numeric; got dtype {a.dtype}")
    N, p = a.shape
    check_int(where, "n", n, 1, N)
    check_int(where, "k", k, 1)
    check_int(where, "seed", seed, 0)
    check_lam(where, lam)
    m = N // n
    perm = np.random.default_rng(split_seed).permutation(N)[: n * m].reshape(n, m)
    dtype = jnp.result_type(float)
    data = a[perm.ravel()].astype(dtype, copy=False)  # gather first: converts only kept rows
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{where}images contain non-finite values (NaN or inf)")
    return Autoencoder(
        data=jnp.asarray(data.reshape(n, m, p)),
        indices=jnp.asarray(perm),
        lam=jnp.asarray(lam, dtype),
        x_star=None,
        f_star=None,
        constants=Constants(L=None, L_i=None, L_max=None),
        k=int(k),
        seed=int(seed),
    )


def autoencoder_mnist(
    n: int = 100, path=None, split: str = "train", *, download: bool = False, **kw
) -> Autoencoder:
    """Fig. 3's problem: :func:`autoencoder` on the MNIST ``split`` images (pixels in [0, 1])
    from :func:`jcomp.problems.load_mnist` (``path`` or ``$JCOMP_DATA``; ``download=True``
    fetches missing files with a checksum check); ``kw`` go to :func:`autoencoder` (λ = 1e-3,
    k = 16 by default: d = 25,088; n = 100: m = 600)."""
    from ._mnist import load_mnist

    dtype = np.dtype(jnp.result_type(float))
    images, _ = load_mnist(path, split, dtype=dtype, download=download)
    return autoencoder(images, n, **kw)
