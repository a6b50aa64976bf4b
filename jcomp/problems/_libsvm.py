"""LibSVM binary-classification data sets as dense float64 arrays with labels ±1.

Files are read with :func:`sklearn.datasets.load_svmlight_file` (which reads ``.bz2``/``.gz``
as is). By default nothing is downloaded and nothing is written: the files must already be on
disk (see ``shared/data/MANIFEST.md`` for the sets this project ships). With ``download=True``
a missing known set is fetched from the LibSVM site into the cache with a checksum check
(:func:`jcomp.problems.download`).
"""

from __future__ import annotations

import os

import numpy as np

from ._download import _ALIASES, cache_dir, download

__all__ = ["KNOWN_WIDTHS", "load_libsvm"]

#: Nominal feature counts of the known sets. A file whose largest feature index is smaller
#: (e.g. ``a9a.t``: 122) is padded with zero columns to this width, so train and test splits
#: agree. Test splits (``.t``) and ``_scale`` variants share the width of their base set.
KNOWN_WIDTHS = {
    "a9a": 123,
    "w8a": 300,
    "german.numer": 24,
    "svmguide3": 22,
    "splice": 60,
    "madelon": 500,
    "mushrooms": 112,
    "phishing": 68,
    "covtype": 54,
    "covtype.libsvm.binary": 54,
}

_COMPRESSED = (".bz2", ".gz")


def _base_name(name: str) -> str:
    """The data-set name of a file name: compression, ``.txt``, ``.t`` and ``_scale`` removed."""
    base = os.path.basename(name)
    for suffix in (*_COMPRESSED, ".txt", ".t"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    for suffix in (".scale", "_scale"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def _candidates(name: str, data_dir) -> tuple[list[str], list[str]]:
    """(files to try in order, folders searched) for a bare name or a path."""
    names = [name] + ([_ALIASES[name]] if name in _ALIASES else [])
    variants = [
        v for m in names for v in [m] + [m + s for s in _COMPRESSED if not m.endswith(_COMPRESSED)]
    ]
    folders: list[str] = []
    for root in (data_dir, os.environ.get("JCOMP_DATA"), cache_dir()):
        if root:
            root = os.fspath(root)
            folders += [os.path.join(root, "libsvm"), root]
    files = list(variants)  # as given (a path, absolute or relative to the working directory)
    if not os.path.isabs(name):
        files += [os.path.join(f, v) for f in folders for v in variants]
    return files, folders


def _resolve(name: str, data_dir, fetch: bool = False) -> str:
    files, folders = _candidates(name, data_dir)
    for f in files:
        if os.path.isfile(f):
            return f
    if fetch:
        return download(name, data_dir)
    where = "\n  ".join(files)
    raise FileNotFoundError(
        f"load_libsvm: data set {name!r} not found. Searched (in order):\n  {where}\n"
        f"Provide it as a path to the file, or pass data_dir=<folder> (the folder or its "
        f"libsvm/ subfolder holding the file), or set the environment variable JCOMP_DATA to "
        f"such a folder (e.g. shared/data), or pass download=True to fetch a known set from "
        f"the LibSVM site with a checksum check."
    )


def load_libsvm(
    name_or_path, n_features: int | None = None, data_dir=None, *, download: bool = False
):
    """Load a LibSVM binary-classification file as ``(A, b)``.

    ``A``: dense float64 numpy array (N, d); ``b``: float64 labels in {−1, +1} (N,). The file is
    found as: ``name_or_path`` itself (also with ``.bz2``/``.gz`` appended, so ``"madelon"``
    finds ``madelon.bz2``), then in ``data_dir/libsvm``, ``data_dir``, ``$JCOMP_DATA/libsvm``,
    ``$JCOMP_DATA``, then the default cache ``~/.cache/jcomp/data/libsvm`` (same variants;
    ``"covtype"`` also finds ``covtype.libsvm.binary.bz2``). With ``download=True`` a known set
    that is found nowhere is fetched into ``data_dir`` (or ``$JCOMP_DATA``, or the default cache)
    by :func:`jcomp.problems.download`, checksum checked. The width d is ``n_features`` if
    given, else the nominal width of a known set (:data:`KNOWN_WIDTHS`, by base name: ``a9a.t``
    → 123), else the largest feature index in the file; narrower files are padded with zero
    columns, wider ones rejected.
    Labels: exactly two distinct values are required; the smaller becomes −1, the larger +1
    (so 1/2, 0/1 and −1/+1 files all work).

    Raises FileNotFoundError (naming every place searched) if the file is absent, and
    ValueError if it is not LibSVM text, has a non-finite value, is wider than ``n_features``,
    or does not have exactly two distinct labels.
    """
    from sklearn.datasets import load_svmlight_file

    name = os.fspath(name_or_path)
    if n_features is not None and (
        isinstance(n_features, bool)
        or not isinstance(n_features, int | np.integer)
        or n_features < 1
    ):
        raise ValueError(
            f"load_libsvm: n_features={n_features!r} is not allowed: expected None or an "
            f"integer ≥ 1"
        )
    path = _resolve(name, data_dir, fetch=download)
    try:
        X, y = load_svmlight_file(path, dtype=np.float64)
    except (ValueError, OSError, EOFError, UnicodeDecodeError, IndexError) as e:
        raise ValueError(
            f"load_libsvm: cannot parse {path!r}: expected LibSVM text format "
            f"('label index:value ...' per line, 1-based increasing indices); {type(e).__name__}: "
            f"{e}"
        ) from e
    width = n_features if n_features is not None else KNOWN_WIDTHS.get(_base_name(name))
    N, found = X.shape
    if width is not None and found > width:
        raise ValueError(
            f"load_libsvm: {path!r} has feature index {found} > n_features={width} "
            f"({'given' if n_features is not None else 'nominal width of ' + _base_name(name)})"
        )
    A = np.zeros((N, width if width is not None else found), dtype=np.float64)
    A[:, :found] = X.toarray()
    if not np.all(np.isfinite(A)) or not np.all(np.isfinite(y)):
        raise ValueError(f"load_libsvm: {path!r} contains a non-finite feature value or label")
    labels = np.unique(y)
    if labels.size != 2:
        shown = labels[:10].tolist()
        raise ValueError(
            f"load_libsvm: {path!r} must have exactly two distinct labels (binary "
            f"classification); found {labels.size}: {shown}{' ...' if labels.size > 10 else ''}"
        )
    b = np.where(y == labels[1], 1.0, -1.0)
    return A, b
