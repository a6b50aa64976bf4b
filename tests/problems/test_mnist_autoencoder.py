"""MNIST IDX loader (checks of format and contents) and the seed-004 F.2 linear autoencoder
(closed-form loss/gradient against an independent explicit-matrix formula, jax.grad and finite
differences; the split; the sample oracle and the minibatch wrapper by Monte Carlo).

Tolerances: float64 throughout. Closed form vs reference: the two evaluate the same sums in a
different order (factored gradient, trace identity), so they agree to a few hundred ulps of the
largest term: rtol 1e-10 with atol 1e-12·scale. Finite differences: central, h = 1e-5, truncation
h²|f'''|/6 ~ 1e-10 and rounding eps·|f|/h ~ 1e-9 for |f| ≲ 100, so 1e-6 relative is loose
but still fails for any wrong term (those are O(1) relative). Monte Carlo: z = 5 standard errors
(tests/mc.py)."""

import gzip
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import DATA_DIR
from mc import assert_mean_equals

from jcomp.problems._autoencoder import Autoencoder, autoencoder, autoencoder_mnist
from jcomp.problems._mnist import load_mnist, synthetic_digits
from jcomp.problems._oracle import minibatch

MNIST_DIR = os.path.join(DATA_DIR, "mnist")
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # MANIFEST.md
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
LAM = 1e-3


def _need_mnist():
    if not os.path.isfile(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")):
        pytest.skip(f"MNIST IDX files are absent from {MNIST_DIR} (set JCOMP_DATA to shared/data)")


# ---------------------------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------------------------


def _idx(magic: int, arr: np.ndarray) -> bytes:
    head = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def _write_set(folder, images, labels, gz=True, split="train"):
    """Write an IDX pair under the standard names (gzip-compressed or raw)."""
    os.makedirs(folder, exist_ok=True)
    pre = {"train": "train", "test": "t10k"}[split]
    for kind, magic, arr in (("images-idx3", 0x803, images), ("labels-idx1", 0x801, labels)):
        raw = _idx(magic, arr)
        name = os.path.join(folder, f"{pre}-{kind}-ubyte" + (".gz" if gz else ""))
        with open(name, "wb") as fh:
            fh.write(gzip.compress(raw) if gz else raw)


def _tiny(N=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (N, 28, 28), dtype=np.uint8), rng.integers(0, 10, N).astype(
        np.uint8
    )


@pytest.mark.parametrize("gz", [True, False])
def test_loader_reads_idx_exactly(tmp_path, gz):
    img, lab = _tiny()
    _write_set(tmp_path / "mnist", img, lab, gz=gz)
    for path in (tmp_path, tmp_path / "mnist"):  # the folder holding mnist/, or mnist/ itself
        X, y = load_mnist(path)
        assert X.shape == (5, 784) and X.dtype == np.float64 and y.dtype == np.int64
        np.testing.assert_array_equal(X, img.reshape(5, 784) / 255.0)  # uint8/255, row-major
        np.testing.assert_array_equal(y, lab)


def test_loader_uses_jcomp_data_env(tmp_path, monkeypatch):
    img, lab = _tiny(3)
    _write_set(tmp_path / "mnist", img, lab, split="test")
    monkeypatch.setenv("JCOMP_DATA", str(tmp_path))
    X, y = load_mnist(split="test")
    np.testing.assert_array_equal(y, lab)
    assert X.shape == (3, 784)


def test_loader_missing_files_say_where_and_how(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere") as e:
        load_mnist(missing)
    assert "train-images-idx3-ubyte.gz" in str(e.value) and "JCOMP_DATA" in str(e.value)
    monkeypatch.delenv("JCOMP_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="JCOMP_DATA"):
        load_mnist()
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, split="validation")


@pytest.mark.parametrize("gz", [True, False])
def test_loader_rejects_truncated_file(tmp_path, gz):
    img, lab = _tiny()
    _write_set(tmp_path, img, lab, gz=False)
    f = tmp_path / "train-images-idx3-ubyte"
    raw = f.read_bytes()[:-100]  # one image short of 100 bytes
    os.remove(f)
    if gz:
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    else:
        f.write_bytes(raw)
    with pytest.raises(
        ValueError, match=r"train-images-idx3-ubyte.*truncated: 3836 bytes.*expected 3936"
    ):
        load_mnist(tmp_path)  # 16 + 5·784 = 3936 expected, 3836 present


def test_loader_rejects_cut_gzip_stream(tmp_path):
    img, lab = _tiny()
    _write_set(tmp_path, img, lab, gz=True)
    f = tmp_path / "train-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz.*truncated or corrupt gzip"):
        load_mnist(tmp_path)


def test_loader_rejects_wrong_magic_and_shapes(tmp_path):
    img, lab = _tiny()
    _write_set(tmp_path / "a", img, lab)
    # labels stored under the images name: magic 0x801 where 0x803 is expected
    a = tmp_path / "a"
    (a / "train-images-idx3-ubyte.gz").write_bytes((a / "train-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match=r"magic number 0x00000801: expected 0x00000803"):
        load_mnist(a)
    _write_set(tmp_path / "b", img[:, :14, :14], lab)  # 14×14 images
    with pytest.raises(ValueError, match="14x14 pixels: expected 28x28"):
        load_mnist(tmp_path / "b")
    _write_set(tmp_path / "c", img, lab[:4])  # one label short
    with pytest.raises(ValueError, match="4 labels .* 5 images"):
        load_mnist(tmp_path / "c")


def test_loader_on_real_mnist():
    _need_mnist()
    X, y = load_mnist(DATA_DIR)
    assert X.shape == (60_000, 784) and y.shape == (60_000,)
    assert X.min() == 0.0 and X.max() == 1.0
    # MANIFEST: mean 33.3184 of the uint8 pixels (4 decimals given, so 1e-4 allows its rounding)
    assert abs(X.mean() * 255 - 33.3184) < 1e-4
    np.testing.assert_array_equal(np.bincount(y, minlength=10), TRAIN_COUNTS)
    # pixels are exactly k/255
    np.testing.assert_array_equal(np.round(X[:100] * 255) / 255, X[:100])
    Xt, yt = load_mnist(MNIST_DIR, split="test")
    assert Xt.shape == (10_000, 784)
    np.testing.assert_array_equal(np.bincount(yt, minlength=10), TEST_COUNTS)


def test_loader_rejects_truncated_copy_of_real_file(tmp_path):
    _need_mnist()
    with open(os.path.join(MNIST_DIR, "train-labels-idx1-ubyte.gz"), "rb") as fh:
        raw = gzip.decompress(fh.read())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(raw[:-1])
    with open(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz"), "rb") as fh:
        img = gzip.decompress(fh.read())
    (tmp_path / "train-images-idx3-ubyte").write_bytes(img)  # valid images, 10,000 of them
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*truncated.*60008"):
        load_mnist(tmp_path)


def test_synthetic_digits_are_deterministic_images():
    X, y = synthetic_digits(50, seed=3)
    assert X.shape == (50, 784) and y.shape == (50,)
    assert X.min() >= 0.0 and X.max() <= 1.0 and X.max() > 0.4
    np.testing.assert_array_equal(X, synthetic_digits(50, seed=3)[0])
    assert not np.array_equal(X, synthetic_digits(50, seed=4)[0])
    assert set(np.unique(y)) <= {0, 1, 2}


# ---------------------------------------------------------------------------------------------
# Autoencoder
# ---------------------------------------------------------------------------------------------


def _ref_f(D, E, B, lam):
    """Independent reference: explicit DE (p×p), the literal formula of ALGORITHMS.md §6."""
    p = D.shape[0]
    M = D @ E
    recon = jnp.mean(jnp.sum((B @ M.T - B) ** 2, axis=1))
    return recon + 0.5 * lam * jnp.sum((M - jnp.eye(p)) ** 2)


def _ref_fx(x, B, p, k, lam):
    return _ref_f(x[: p * k].reshape(p, k), x[p * k :].reshape(k, p), B, lam)


def _small(kind="random", N=42, n=4, k=3, split_seed=0):
    if kind == "random":
        images = np.random.default_rng(5).uniform(0, 1, (N, 12))  # p = 12
    else:
        images = synthetic_digits(N, seed=1)[0]  # p = 784
    return images, autoencoder(images, n, lam=LAM, k=k, split_seed=split_seed)


def _points(pr, seed=2, scale=1.0):
    """(n, d) a different point per worker: x0 plus a perturbation of the same size."""
    x = pr.x0(seed)
    noise = jax.random.normal(jax.random.PRNGKey(seed + 1), (pr.n, pr.d)) / np.sqrt(pr.p)
    return x + scale * noise


@pytest.mark.parametrize("kind", ["random", "digits"])
def test_loss_and_grad_match_independent_formula(kind):
    images, pr = _small(kind)
    N, p = images.shape
    n, m, k = pr.n, pr.samples_per_worker, pr.k
    assert (pr.p, pr.d, m) == (p, 2 * p * k, N // n)
    X = _points(pr)
    kept = images[np.asarray(pr.indices).ravel()]

    def ref(x, b):
        return _ref_fx(x, b, p, k, LAM)

    def compute(X, B, kept, key):  # one compiled program (op-by-op eager calls compile each op)
        x = X[0]
        return dict(
            ref_l=jax.vmap(ref)(X, B),
            ref_g=jax.vmap(jax.grad(ref))(X, B),
            l=pr.worker_losses(X),
            g=pr.worker_grads(X),
            g_key=pr.worker_grads(X, key),
            loss=pr.loss(x),
            ref_loss=ref(x, kept),
            grad=pr.grad(x),
            ref_grad=jax.grad(ref)(x, kept),
        )

    o = jax.jit(compute)(X, pr.data, kept, jax.random.PRNGKey(0))  # pr.data: (n, m, p)
    np.testing.assert_allclose(o["l"], o["ref_l"], rtol=1e-10)
    g, ref_g = o["g"], o["ref_g"]
    assert g.shape == (n, pr.d)
    np.testing.assert_allclose(g, ref_g, rtol=1e-10, atol=1e-12 * float(jnp.max(jnp.abs(ref_g))))
    # key is ignored: the oracle is exact
    np.testing.assert_array_equal(o["g_key"], g)
    # the global objective over all kept samples, and the vec order D then E, row-major
    x = X[0]
    np.testing.assert_allclose(o["loss"], o["ref_loss"], rtol=1e-10)
    gx = o["ref_grad"]
    np.testing.assert_allclose(o["grad"], gx, rtol=1e-10, atol=1e-12 * float(jnp.max(abs(gx))))
    D, E = pr.unflatten(x)
    assert D.shape == (p, k) and E.shape == (k, p)
    assert D[1, 2] == x[1 * k + 2] and E[2, 5] == x[p * k + 2 * p + 5]
    np.testing.assert_array_equal(pr.flatten(D, E), x)


def test_grad_matches_central_differences():
    _, pr = _small("digits")
    x = _points(pr, seed=7)[0]
    g = pr.grad(x)
    rng = np.random.default_rng(0)
    h = 1e-5
    for _ in range(3):
        v = jnp.asarray(rng.standard_normal(pr.d))
        v = v / jnp.linalg.norm(v)
        fd = (pr.loss(x + h * v) - pr.loss(x - h * v)) / (2 * h)
        assert abs(float(fd - g @ v)) <= 1e-6 * (1 + abs(float(g @ v))), (float(fd), float(g @ v))
    # Hessian-vector product: directional derivative of the gradient
    hv = pr.hvp(x, v)
    fd = (pr.grad(x + h * v) - pr.grad(x - h * v)) / (2 * h)
    np.testing.assert_allclose(hv, fd, atol=1e-6 * (1 + float(jnp.max(jnp.abs(hv)))))


def test_mean_of_worker_losses_is_the_objective():
    _, pr = _small("random")
    x = _points(pr, seed=11)[0]
    np.testing.assert_allclose(jnp.mean(pr.worker_losses(pr.broadcast(x))), pr.loss(x), rtol=1e-13)
    np.testing.assert_allclose(
        jnp.mean(pr.worker_grads(pr.broadcast(x)), axis=0), pr.grad(x), rtol=1e-11, atol=1e-13
    )


@pytest.mark.parametrize(("N", "n"), [(42, 4), (40, 4), (7, 7), (9, 1)])
def test_split_is_random_disjoint_and_complete(N, n):
    images = np.random.default_rng(0).uniform(0, 1, (N, 6))
    pr = autoencoder(images, n, k=2, split_seed=3)
    m = N // n
    idx = np.asarray(pr.indices)
    assert idx.shape == (n, m) and pr.data.shape == (n, m, 6)
    assert len(np.unique(idx)) == n * m  # disjoint
    # complete: exactly the first nm entries of the seeded permutation (N − nm dropped)
    perm = np.random.default_rng(3).permutation(N)
    np.testing.assert_array_equal(idx.ravel(), perm[: n * m])
    np.testing.assert_array_equal(np.asarray(pr.data), images[idx])
    assert pr.data.dtype == jnp.result_type(float)
    other = autoencoder(images, n, k=2, split_seed=4)
    if n * m > 1 and n > 1:
        assert not np.array_equal(np.asarray(other.indices), idx)


def test_sample_grads_are_the_per_sample_terms():
    _, pr = _small("random")
    X = _points(pr, seed=4)
    n, m, p, k = pr.n, pr.samples_per_worker, pr.p, pr.k
    all_idx = jnp.broadcast_to(jnp.arange(m), (n, m))
    np.testing.assert_allclose(pr.sample_grads(X, all_idx), pr.worker_grads(X), rtol=1e-11)
    # one sample: the gradient of ‖DEb_t − b_t‖² + (λ/2)‖DE − I‖² (reference with a 1-row B)
    idx = jnp.asarray([[3], [0], [m - 1], [3]])
    ref = jnp.stack([jax.grad(_ref_fx)(X[i], pr.data[i, idx[i]], p, k, LAM) for i in range(n)])
    np.testing.assert_allclose(pr.sample_grads(X, idx), ref, rtol=1e-10, atol=1e-14)


def test_zero_is_stationary():
    images, pr = _small("digits")
    X = jnp.zeros((pr.n, pr.d))
    assert np.all(np.asarray(pr.worker_grads(X)) == 0.0)
    assert np.all(np.asarray(pr.grad(X[0])) == 0.0)
    # f(0) = mean ‖b‖² + λp/2
    kept = images[np.asarray(pr.indices).ravel()]
    f0 = np.mean(np.sum(kept**2, axis=1)) + 0.5 * LAM * pr.p
    np.testing.assert_allclose(pr.loss(X[0]), f0, rtol=1e-13)


def test_x0_is_iid_normal_with_variance_one_over_784():
    images = synthetic_digits(4, seed=0)[0]
    pr = autoencoder(images, 2, seed=9)
    assert pr.d == 25_088
    x = np.asarray(pr.x0())
    assert x.shape == (pr.d,) and x.dtype == np.float64
    var, d = 1.0 / 784, pr.d
    assert abs(x.mean()) <= 5 * np.sqrt(var / d)  # SE of the mean: σ/√d
    assert abs(np.mean(x**2) - var) <= 5 * var * np.sqrt(2.0 / d)  # SE of mean x²: σ²√(2/d)
    np.testing.assert_array_equal(x, pr.x0(9))  # default = the problem's seed
    np.testing.assert_array_equal(x, pr.x0(jax.random.PRNGKey(9)))
    assert not np.array_equal(x, pr.x0(10))


def test_minibatch_oracle_is_unbiased_with_the_exact_variance():
    _, pr = _small("random", N=42, n=4, k=3)  # m = 10
    mb = minibatch(pr, 3)
    X = _points(pr, seed=8)
    exact = np.asarray(pr.worker_grads(X))
    S = 4000
    keys = jax.random.split(jax.random.PRNGKey(0), S)
    G = np.asarray(jax.jit(jax.vmap(lambda key: mb.worker_grads(X, key)))(keys))  # (S, n, d)
    assert_mean_equals(G, exact)
    # E‖g_i − ∇f_i‖² equals the finite-population formula of MinibatchProblem.sigma2, per worker
    err = np.sum((G - exact) ** 2, axis=2)  # (S, n)
    s2 = np.stack([mb.sigma2(X[i])[i] for i in range(pr.n)])
    assert_mean_equals(err, s2)
    np.testing.assert_array_equal(mb.worker_grads(X), exact)  # no key: exact


def test_problem_contract_describe_and_validation():
    _, pr = _small("random")
    assert isinstance(pr, Autoencoder) and pr.x_star is None and pr.f_star is None
    c = pr.constants
    assert c.L is None and c.L_i is None and c.L_max is None
    desc = pr.describe()
    json.dumps(desc)
    assert desc["d"] == pr.d and desc["constants"]["L"] is None and desc["samples_per_worker"] == 10
    assert json.loads(json.dumps(minibatch(pr, 2).describe()))["name"] == "minibatch(autoencoder)"
    # a pytree: passes through jit as an argument; a new instance of the same shapes reuses it
    f = jax.jit(lambda prob, X: prob.worker_grads(X))
    X = _points(pr)
    np.testing.assert_allclose(f(pr, X), pr.worker_grads(X), rtol=1e-12)
    images = np.ones((10, 5))
    for bad, match in (
        (dict(n=11), "n=11"),
        (dict(n=0), "n=0"),
        (dict(n=2, k=0), "k=0"),
        (dict(n=2, lam=-1.0), "lam=-1.0"),
    ):
        with pytest.raises(ValueError, match=match):
            autoencoder(images, **bad)
    with pytest.raises(ValueError, match="non-finite"):
        autoencoder(np.full((4, 3), np.nan), 2)


def test_real_mnist_problem_n100():
    _need_mnist()
    t0 = time.perf_counter()
    pr = autoencoder_mnist(100, path=DATA_DIR)
    jax.block_until_ready(pr.data)
    t_build = time.perf_counter() - t0
    assert (pr.n, pr.d, pr.samples_per_worker, pr.p) == (100, 25_088, 600, 784)
    assert sorted(np.asarray(pr.indices).ravel().tolist()) == list(range(60_000))
    X = pr.broadcast(pr.x0())
    t0 = time.perf_counter()
    G = jax.block_until_ready(pr.worker_grads(X))
    t_grad = time.perf_counter() - t0
    assert G.shape == (100, 25_088) and bool(jnp.all(jnp.isfinite(G)))
    assert float(jnp.max(jnp.abs(G))) > 0
    nbytes = pr.data.nbytes + pr.indices.nbytes
    print(f"\nMNIST n=100: load+build {t_build:.2f}s, {nbytes} bytes; worker_grads {t_grad:.2f}s")
