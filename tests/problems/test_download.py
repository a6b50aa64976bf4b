"""Downloads: checksum checked before the file is renamed into the cache; nothing half-cached.

No test touches the network: sources are ``file://`` URLs of local files (the real data files
in shared/data where present, else small files written here).
"""

import bz2
import hashlib
import os
import pathlib
import urllib.error

import numpy as np
import pytest
from conftest import DATA_DIR

from jcomp.problems import DATASETS, DataFile, cache_dir, download, load_libsvm, load_mnist

SMALL = b"+1 1:0.5 3:1\n-1 2:0.25\n+1 1:-1 2:1 3:0.5\n-1 3:2\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def url_of(path) -> str:
    return pathlib.Path(path).resolve().as_uri()


def listing(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in pathlib.Path(root).rglob("*") if p.is_file())


@pytest.fixture
def small_source(tmp_path):
    src = tmp_path / "src" / "splice"
    src.parent.mkdir()
    src.write_bytes(SMALL)
    return src


def test_download_verifies_and_caches(tmp_path, small_source):
    root = tmp_path / "cache"
    got = download("splice", root, url=url_of(small_source), sha256=sha(SMALL))
    assert got == os.path.join(str(root), "libsvm", "splice")
    assert pathlib.Path(got).read_bytes() == SMALL
    assert listing(root) == ["libsvm/splice"]  # no temporary file left
    A, b = load_libsvm("splice", data_dir=root, n_features=3)
    np.testing.assert_array_equal(b, [1, -1, 1, -1])
    np.testing.assert_array_equal(A[1], [0, 0.25, 0])
    # present: returned without fetching (the URL would fail)
    assert download("splice", root, url="file:///nonexistent/splice") == got


@pytest.mark.parametrize("bad", ["wrong", "truncated"])
def test_checksum_mismatch_leaves_nothing(tmp_path, small_source, bad):
    root = tmp_path / "cache"
    if bad == "truncated":
        small_source.write_bytes(SMALL[:20])
        expected = sha(SMALL)
    else:
        expected = "0" * 64
    with pytest.raises(ValueError, match="checksum mismatch for 'splice'") as e:
        download("splice", root, url=url_of(small_source), sha256=expected)
    assert expected in str(e.value) and sha(small_source.read_bytes()) in str(e.value)
    assert listing(root) == []  # neither the target nor the partial file


def test_failed_fetch_leaves_nothing(tmp_path):
    root = tmp_path / "cache"
    with pytest.raises(urllib.error.URLError):
        download("a9a", root, url=url_of(tmp_path / "missing"))
    assert listing(root) == []


def test_unpinned_set_needs_a_checksum(tmp_path, small_source):
    root = tmp_path / "cache"
    with pytest.raises(ValueError, match="no checksum is pinned for 'covtype.libsvm.binary.bz2'"):
        download("covtype", root, url=url_of(small_source))
    assert not root.exists()  # refused before any work
    packed = tmp_path / "covtype.bz2"
    packed.write_bytes(bz2.compress(SMALL))
    got = download("covtype", root, url=url_of(packed), verify=False)
    assert got.endswith(os.path.join("libsvm", "covtype.libsvm.binary.bz2"))
    A, b = load_libsvm("covtype", data_dir=root)  # the alias finds the site's file name
    assert A.shape == (4, 54) and set(b) == {-1.0, 1.0}


def test_unknown_name_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown data set 'a9b'"):
        download("a9b", tmp_path)


def test_cache_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("JCOMP_DATA", str(tmp_path / "env"))
    assert cache_dir(tmp_path / "given") == str(tmp_path / "given")
    assert cache_dir() == str(tmp_path / "env")
    monkeypatch.delenv("JCOMP_DATA")
    assert cache_dir().endswith(os.path.join(".cache", "jcomp", "data"))


def test_load_libsvm_download_flag(monkeypatch, tmp_path, small_source):
    root = tmp_path / "cache"
    entry = DataFile(url_of(small_source), "libsvm", sha(SMALL))
    monkeypatch.setitem(DATASETS, "splice", entry)
    monkeypatch.delenv("JCOMP_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # keep the default cache empty
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_libsvm("splice", data_dir=root, n_features=3)
    A, _ = load_libsvm("splice", data_dir=root, n_features=3, download=True)
    assert A.shape == (4, 3) and listing(root) == ["libsvm/splice"]


# --- the pinned checksums are those of the real files -------------------------------------

LIBSVM = os.path.join(DATA_DIR, "libsvm")
MNIST = os.path.join(DATA_DIR, "mnist")


def shipped_bytes(name: str, entry: DataFile) -> bytes:
    folder = LIBSVM if entry.folder == "libsvm" else MNIST
    path = os.path.join(folder, name)
    if os.path.isfile(path):
        return pathlib.Path(path).read_bytes()
    if os.path.isfile(path + ".bz2"):  # shipped compressed; the site serves it plain
        return bz2.decompress(pathlib.Path(path + ".bz2").read_bytes())
    pytest.skip(f"{path} not present (shared/data is outside this checkout)")


@pytest.mark.parametrize("name", sorted(k for k, v in DATASETS.items() if v.sha256))
def test_pinned_checksum_matches_shipped_file(name):
    entry = DATASETS[name]
    assert sha(shipped_bytes(name, entry)) == entry.sha256


def test_load_mnist_download_flag(monkeypatch, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        if not os.path.isfile(os.path.join(MNIST, name)):
            pytest.skip(f"{MNIST}/{name} not present")
        entry = DATASETS[name]
        monkeypatch.setitem(DATASETS, name, entry._replace(url=url_of(os.path.join(MNIST, name))))
    root = tmp_path / "cache"
    images, labels = load_mnist(root, split="test", download=True)
    assert images.shape == (10_000, 784) and labels.shape == (10_000,)
    assert listing(root) == ["mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(np.bincount(labels)[:3], [980, 1135, 1032])
