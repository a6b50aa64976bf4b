"""MNIST from the original IDX files, and a small synthetic offline stand-in.

:func:`load_mnist` reads the four standard files (``train-images-idx3-ubyte.gz`` etc., gzip or
already gunzipped) of ``shared/data/mnist/`` (see ``shared/data/MANIFEST.md``). Nothing is
downloaded and nothing is written, unless ``download=True`` (then missing files are fetched from
a public mirror into the cache with a SHA-256 check, :func:`jcomp.problems.download`). Every
file is checked: the IDX magic number (0x00000803 for images, 0x00000801 for labels), the
dimensions (28×28 images, as many labels as images) and that the byte count equals the one
the header announces; a missing, truncated or wrongly formatted file raises an error naming
the file and what was expected.

:func:`synthetic_digits` is **not MNIST**: random smooth blobs with MNIST's shape, for tests and
offline smoke runs only (spec EXPERIMENTS.md: "Tests and CI never download").
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from ._download import download

__all__ = ["IMAGE_SIDE", "load_mnist", "synthetic_digits"]

IMAGE_SIDE = 28
_MAGIC_IMAGES = 0x00000803  # unsigned byte, 3 dimensions
_MAGIC_LABELS = 0x00000801  # unsigned byte, 1 dimension
_PREFIX = {"train": "train", "test": "t10k", "t10k": "t10k"}


def _file_names(split: str) -> tuple[list[str], list[str]]:
    """Accepted file names (images, labels) of a split, in the order they are tried."""
    p = _PREFIX[split]
    images = [f"{p}-images-idx3-ubyte.gz", f"{p}-images-idx3-ubyte", f"{p}-images.idx3-ubyte"]
    labels = [f"{p}-labels-idx1-ubyte.gz", f"{p}-labels-idx1-ubyte", f"{p}-labels.idx1-ubyte"]
    return images, labels


def _find(folder: str, names: list[str]) -> str | None:
    for name in names:
        f = os.path.join(folder, name)
        if os.path.isfile(f):
            return f
    return None


def _resolve(path, split: str, fetch: bool = False) -> tuple[str, str]:
    """(images file, labels file) of ``split``: from ``path`` (the folder with the files or the
    folder holding ``mnist/``), else from ``$JCOMP_DATA`` (its ``mnist/`` or itself); with
    ``fetch``, downloaded into ``path`` (or the cache) when found nowhere."""
    images, labels = _file_names(split)
    if fetch:
        try:
            return _resolve(path, split)
        except FileNotFoundError:
            return download(images[0], path), download(labels[0], path)
    if path is not None:
        root = os.fspath(path)
        folders = [root, os.path.join(root, "mnist")]
        source = f"path={root!r}"
    elif os.environ.get("JCOMP_DATA"):
        root = os.environ["JCOMP_DATA"]
        folders = [os.path.join(root, "mnist"), root]
        source = f"the environment variable JCOMP_DATA={root!r}"
    else:
        raise FileNotFoundError(
            "load_mnist: no data location: pass path=<folder holding the four MNIST IDX files, "
            "or the folder holding mnist/> (e.g. shared/data), or set the environment variable "
            "JCOMP_DATA to such a folder, or pass download=True. See shared/data/MANIFEST.md."
        )
    for folder in folders:
        fi, fl = _find(folder, images), _find(folder, labels)
        if fi is not None and fl is not None:
            return fi, fl
    raise FileNotFoundError(
        f"load_mnist: MNIST {split!r} files not found from {source}. Looked in "
        f"{' and '.join(repr(f) for f in folders)} for one of {images} and one of {labels}. "
        "Pass path=<folder holding the files, or the folder holding mnist/>, or set JCOMP_DATA, "
        "or pass download=True. See shared/data/MANIFEST.md."
    )


def _read_bytes(file: str) -> bytes:
    with open(file, "rb") as fh:
        raw = fh.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(
            f"load_mnist: {file!r} is a truncated or corrupt gzip file ({e}); expected a complete "
            "gzip-compressed IDX file (see shared/data/SHA256SUMS)"
        ) from None


def _read_idx(file: str, magic: int, what: str) -> np.ndarray:
    """The uint8 array of an IDX file, checked against ``magic`` and its header's byte count."""
    data = _read_bytes(file)
    if len(data) < 4:
        raise ValueError(
            f"load_mnist: {file!r} has {len(data)} bytes: expected an IDX {what} file (magic "
            f"0x{magic:08x}), at least a 4-byte header"
        )
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        raise ValueError(
            f"load_mnist: {file!r} has IDX magic number 0x{got:08x}: expected 0x{magic:08x} "
            f"(unsigned-byte {what} with {magic & 0xFF} dimension(s)); wrong file or format"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"load_mnist: {file!r} is truncated: {len(data)} bytes, expected at least the "
            f"{header}-byte IDX header"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise ValueError(
            f"load_mnist: {file!r} is {state}: {len(data)} bytes (uncompressed), expected "
            f"{expected} = {header}-byte header + {' x '.join(map(str, dims))} bytes of {what}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(path=None, split: str = "train", dtype=np.float64, *, download: bool = False):
    """MNIST ``split`` ("train": 60,000 images; "test"/"t10k": 10,000) as ``(images, labels)``.

    ``images``: numpy ``dtype`` array (N, 784), pixel ``uint8/255`` in [0, 1], each image's
    28×28 pixels in row-major order; ``labels``: int64 (N,) in 0..9. Files: ``path`` (the folder
    holding the four IDX files, or the folder holding ``mnist/``), else ``$JCOMP_DATA/mnist``
    (or ``$JCOMP_DATA``); else, with ``download=True``, the two files of the split are fetched
    from a public mirror into ``path`` (or ``$JCOMP_DATA``, or ``~/.cache/jcomp/data``) under
    ``mnist/`` with a SHA-256 check; else :class:`FileNotFoundError` saying how to provide them.
    Raises :class:`ValueError` naming the file for a wrong magic number, wrong dimensions,
    truncated or over-long file, or a corrupt gzip stream.
    """
    if split not in _PREFIX:
        raise ValueError(f"load_mnist: split={split!r} is not allowed: expected 'train' or 'test'")
    f_img, f_lab = _resolve(path, split, fetch=download)
    img = _read_idx(f_img, _MAGIC_IMAGES, "images")
    if img.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(
            f"load_mnist: {f_img!r} holds images of {img.shape[1]}x{img.shape[2]} pixels: "
            f"expected {IMAGE_SIDE}x{IMAGE_SIDE}"
        )
    lab = _read_idx(f_lab, _MAGIC_LABELS, "labels")
    if lab.shape[0] != img.shape[0]:
        raise ValueError(
            f"load_mnist: {f_lab!r} has {lab.shape[0]} labels but {f_img!r} has "
            f"{img.shape[0]} images: expected as many labels as images"
        )
    if lab.size and lab.max() > 9:
        raise ValueError(f"load_mnist: {f_lab!r} has a label {int(lab.max())}: expected 0..9")
    images = img.reshape(img.shape[0], IMAGE_SIDE * IMAGE_SIDE).astype(dtype) / np.asarray(
        255, dtype
    )
    return images, lab.astype(np.int64)


def synthetic_digits(N: int = 1000, seed: int = 0, dtype=np.float64):
    """**NOT the paper's data (not MNIST)**: N random smooth 28×28 "blob" images, an offline
    stand-in with MNIST's shape for tests and smoke runs.

    Each image is the sum of 1–3 Gaussian bumps (centres uniform in [6, 22]², widths uniform in
    [1.5, 4] pixels, heights uniform in [0.5, 1]), clipped to [0, 1]. Returns ``(images, labels)``
    like :func:`load_mnist`: images (N, 784) in [0, 1]; labels (N,) = number of bumps − 1 (a
    placeholder, not a digit). Deterministic in ``seed``.
    """
    if isinstance(N, bool) or not isinstance(N, int | np.integer) or N < 1:
        raise ValueError(f"synthetic_digits: N={N!r} is not allowed: expected an integer ≥ 1")
    rng = np.random.default_rng(seed)
    grid = np.arange(IMAGE_SIDE, dtype=np.float64)
    count = rng.integers(1, 4, size=N)
    images = np.zeros((N, IMAGE_SIDE, IMAGE_SIDE))
    for j in range(3):
        on = (j < count).astype(np.float64)[:, None, None]
        cy, cx = rng.uniform(6, 22, size=(2, N, 1, 1))
        w = rng.uniform(1.5, 4.0, size=(N, 1, 1))
        h = rng.uniform(0.5, 1.0, size=(N, 1, 1))
        bump = h * np.exp(-((grid[:, None] - cy) ** 2 + (grid[None, :] - cx) ** 2) / (2 * w**2))
        images += on * bump
    images = np.clip(images, 0.0, 1.0).reshape(N, IMAGE_SIDE * IMAGE_SIDE).astype(dtype)
    return images, (count - 1).astype(np.int64)
