"""Download a data set from its public home into a cache folder, with a SHA-256 check.

Only for users with network access: tests and CI never download (they read ``shared/data`` or
skip). The download goes to a temporary file in the cache folder; its SHA-256 is checked and
only then is it renamed into place, so a failed, truncated or corrupted download leaves nothing
behind. Checksums are those of the files shipped in ``shared/data`` (``MANIFEST.md``), which are
byte-identical to the public copies; for a set whose public bytes could not be verified
(``covtype``, ``german.numer``, ``svmguide3``) no checksum is pinned and the caller must pass
``sha256=`` (or ``verify=False`` to accept the file unchecked, which is reported).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from typing import NamedTuple

__all__ = ["DATASETS", "DataFile", "cache_dir", "download"]

_LIBSVM = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary/"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # the mirror torchvision uses


class DataFile(NamedTuple):
    """One downloadable file: where it lives, its folder in the cache, its SHA-256."""

    url: str
    folder: str  # "libsvm" or "mnist", under the cache directory
    sha256: str | None  # None: not pinned (the public bytes were not verified)


def _libsvm(file: str, sha256: str | None) -> DataFile:
    return DataFile(_LIBSVM + file, "libsvm", sha256)


def _mnist(file: str, sha256: str) -> DataFile:
    return DataFile(_MNIST + file, "mnist", sha256)


#: Known files by name (the file name in the cache). The LibSVM names are the site's own.
DATASETS: dict[str, DataFile] = {
    "a9a": _libsvm("a9a", "f5d5ffd8d865ff41328e7ee043e4b020816914ff6843ff15b98905ddbedce906"),
    "a9a.t": _libsvm("a9a.t", "1f448a153f0320399a7e40836eb207655b0bde0f21fc941cc472193daa9f5de9"),
    "w8a": _libsvm("w8a", "6a9fa8fd5f524303240a5db07d4b3d4a51e8b7b4b20a914105d8e3e8c81640f2"),
    "w8a.t": _libsvm("w8a.t", "618929ecb01bebb841daec4cae4aa07b97832d29b08652452775598929547fde"),
    "splice": _libsvm("splice", "eee33566cfe8988ec26122460cc712d66c5c5b79b966b259408e803addaa584d"),
    "madelon": _libsvm(
        "madelon", "4801c452441772b47674fa8deb3724b1cb897eff49ccd8d47078367080c05b54"
    ),
    "madelon.t": _libsvm(
        "madelon.t", "ae60251b63a46c6ace348b77749e79e25d4098d629d1dead2852c3d4daf1f8ea"
    ),
    "mushrooms": _libsvm(
        "mushrooms", "f39a4eb628dc61a7d43760815b061c9e497aa728ce1ad8bde57a09ef6043b538"
    ),
    "phishing": _libsvm(
        "phishing", "0cf66ef36604c393da9359b2e5d894a2df8aee31fd184633cefa138add2ef08a"
    ),
    "german.numer": _libsvm("german.numer", None),
    "svmguide3": _libsvm("svmguide3", None),
    "covtype.libsvm.binary.bz2": _libsvm("covtype.libsvm.binary.bz2", None),
    "covtype.libsvm.binary.scale.bz2": _libsvm("covtype.libsvm.binary.scale.bz2", None),
    "train-images-idx3-ubyte.gz": _mnist(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "train-labels-idx1-ubyte.gz": _mnist(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "t10k-images-idx3-ubyte.gz": _mnist(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "t10k-labels-idx1-ubyte.gz": _mnist(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}
_ALIASES = {"covtype": "covtype.libsvm.binary.bz2", "covtype.binary": "covtype.libsvm.binary.bz2"}


def cache_dir(root=None) -> str:
    """The data cache: ``root`` if given, else ``$JCOMP_DATA``, else ``~/.cache/jcomp/data``."""
    if root is not None:
        return os.fspath(root)
    env = os.environ.get("JCOMP_DATA")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".cache", "jcomp", "data")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(
    name: str,
    root=None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    verify: bool = True,
    force: bool = False,
    timeout: float = 60.0,
) -> str:
    """Fetch a known data file (see :data:`DATASETS`) into the cache and return its path.

    ``name``: a key of :data:`DATASETS` (``"a9a"``, ``"madelon"``, ``"covtype"``,
    ``"train-images-idx3-ubyte.gz"``, ...). The file goes to ``cache_dir(root)/<folder>/<name>``
    (``folder`` is ``libsvm`` or ``mnist``), which is where :func:`load_libsvm` and
    :func:`load_mnist` look when given ``data_dir=root`` / ``path=root`` or ``$JCOMP_DATA``.
    An existing file is returned as is unless ``force``. ``url`` overrides the public address
    (a mirror, or ``file://`` in tests); ``sha256`` overrides or supplies the checksum.

    The bytes are written to a temporary file next to the target, hashed, and renamed into
    place only if the SHA-256 matches, so nothing is half-cached. Raises ValueError for an
    unknown name, for a checksum mismatch (naming the URL, the expected and the received
    hash), or when no checksum is known and ``verify`` is true; OSError (``URLError``) when the
    file cannot be fetched.
    """
    key = _ALIASES.get(name, name)
    if key not in DATASETS:
        raise ValueError(
            f"download: unknown data set {name!r}; known: {sorted(DATASETS) + sorted(_ALIASES)}"
        )
    entry = DATASETS[key]
    expected = (sha256 or entry.sha256 or "").lower() or None
    if expected is None and verify:
        raise ValueError(
            f"download: no checksum is pinned for {key!r} (its public bytes could not be "
            f"verified for this project); pass sha256=<hex digest> to check it, or "
            f"verify=False to accept the file unchecked"
        )
    folder = os.path.join(cache_dir(root), entry.folder)
    target = os.path.join(folder, key)
    if os.path.isfile(target) and not force:
        return target
    os.makedirs(folder, exist_ok=True)
    source = url or entry.url
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(source, timeout=timeout) as r:
            for block in iter(lambda: r.read(1 << 20), b""):
                out.write(block)
        got = _sha256(tmp)
        if expected is not None and got != expected:
            raise ValueError(
                f"download: checksum mismatch for {key!r} from {source}: expected sha256 "
                f"{expected}, received {got} ({os.path.getsize(tmp)} bytes); the file was "
                f"discarded (truncated or corrupted download, or a different file at that URL)"
            )
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target
