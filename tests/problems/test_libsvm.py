"""LibSVM loader: the real files of shared/data/libsvm (counts as in shared/data/MANIFEST.md),
name resolution, label mapping to ±1, and clear errors for missing, corrupt or non-binary files.
Tests on real files skip (with the reason) when the file is absent."""

import bz2
import os

import numpy as np
import pytest
from conftest import DATA_DIR

from jcomp.problems._libsvm import KNOWN_WIDTHS, load_libsvm

LIBSVM = os.path.join(DATA_DIR, "libsvm")


def _need(filename):
    path = os.path.join(LIBSVM, filename)
    if not os.path.isfile(path):
        pytest.skip(f"{path} is absent (set JCOMP_DATA to the folder holding libsvm/)")
    return path


# name, stored file, rows, width, count of −1 (smaller label), count of +1 (larger label);
# all from shared/data/MANIFEST.md. w8a (49,749 rows) loads in about 0.6 s, so it is included.
SETS = [
    ("a9a", "a9a", 32_561, 123, 24_720, 7_841),
    ("a9a.t", "a9a.t", 16_281, 123, 12_435, 3_846),  # largest index 122: padded to 123
    ("w8a", "w8a", 49_749, 300, 48_270, 1_479),
    ("w8a.t", "w8a.t", 14_951, 300, 14_497, 454),
    ("german.numer", "german.numer", 1_000, 24, 700, 300),
    ("german.numer_scale", "german.numer_scale", 1_000, 24, 700, 300),
    ("svmguide3", "svmguide3", 1_243, 22, 947, 296),
    ("splice", "splice", 1_000, 60, 483, 517),
    ("madelon", "madelon.bz2", 2_000, 500, 1_000, 1_000),  # bare name finds the .bz2
    ("madelon.t", "madelon.t", 600, 500, 300, 300),
    ("mushrooms", "mushrooms", 8_124, 112, 3_916, 4_208),  # labels 1/2: 1 → −1, 2 → +1
    ("phishing", "phishing", 11_055, 68, 4_898, 6_157),  # labels 0/1: 0 → −1, 1 → +1
]


@pytest.mark.parametrize(("name", "stored", "rows", "width", "neg", "pos"), SETS)
def test_real_files_match_the_manifest(name, stored, rows, width, neg, pos):
    _need(stored)
    A, b = load_libsvm(name, data_dir=DATA_DIR)
    assert A.dtype == np.float64 and b.dtype == np.float64
    assert A.shape == (rows, width)
    assert set(np.unique(b).tolist()) == {-1.0, 1.0}
    assert (int((b == -1).sum()), int((b == 1).sum())) == (neg, pos)
    assert np.isfinite(A).all()


def test_a9a_content():
    """a9a is binary 0/1 with 451,592 nonzeros (MANIFEST); a9a.t has no feature 123."""
    _need("a9a")
    _need("a9a.t")
    A, _ = load_libsvm("a9a", data_dir=DATA_DIR)
    assert np.count_nonzero(A) == 451_592
    assert set(np.unique(A).tolist()) == {0.0, 1.0}
    T, _ = load_libsvm("a9a.t", data_dir=DATA_DIR)
    assert T.shape[1] == KNOWN_WIDTHS["a9a"] == 123
    assert not T[:, 122].any()
    # explicit n_features overrides the nominal width; narrower than the data is rejected
    assert load_libsvm("a9a.t", n_features=130, data_dir=DATA_DIR)[0].shape == (16_281, 130)
    with pytest.raises(ValueError, match="feature index 122 > n_features=100"):
        load_libsvm("a9a.t", n_features=100, data_dir=DATA_DIR)


def test_resolution_by_path_env_and_data_dir(monkeypatch):
    _need("german.numer")
    ref_A, ref_b = load_libsvm(os.path.join(LIBSVM, "german.numer"))  # an existing path
    monkeypatch.setenv("JCOMP_DATA", DATA_DIR)
    A, b = load_libsvm("german.numer")  # $JCOMP_DATA/libsvm
    assert np.array_equal(A, ref_A) and np.array_equal(b, ref_b)
    monkeypatch.setenv("JCOMP_DATA", LIBSVM)
    assert np.array_equal(load_libsvm("german.numer")[0], ref_A)  # $JCOMP_DATA itself
    monkeypatch.delenv("JCOMP_DATA")
    assert np.array_equal(load_libsvm("german.numer", data_dir=LIBSVM)[0], ref_A)
    # german.numer: last line has no newline, values "%f": first row as written in the file
    with open(os.path.join(LIBSVM, "german.numer")) as fh:
        first = fh.readline().split()
    row = np.zeros(24)
    for tok in first[1:]:
        i, v = tok.split(":")
        row[int(i) - 1] = float(v)
    assert np.array_equal(ref_A[0], row)
    assert ref_b[0] == (1.0 if float(first[0]) > 0 else -1.0)


def test_madelon_bz2_equals_uncompressed_copy(tmp_path):
    src = _need("madelon.bz2")
    with open(src, "rb") as fh:
        raw = bz2.decompress(fh.read())
    (tmp_path / "madelon").write_bytes(raw)
    A, b = load_libsvm("madelon", data_dir=DATA_DIR)
    A2, b2 = load_libsvm(str(tmp_path / "madelon"))
    assert np.array_equal(A, A2) and np.array_equal(b, b2)


def test_missing_file_message(tmp_path, monkeypatch):
    monkeypatch.setenv("JCOMP_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as e:
        load_libsvm("no_such_set", data_dir=tmp_path / "dd")
    msg = str(e.value)
    assert "'no_such_set' not found" in msg
    for place in (
        os.path.join(tmp_path, "dd", "libsvm", "no_such_set"),
        os.path.join(tmp_path, "dd", "no_such_set.bz2"),
        os.path.join(tmp_path, "env", "libsvm", "no_such_set.gz"),
        os.path.join(tmp_path, "env", "no_such_set"),
    ):
        assert place in msg
    assert "JCOMP_DATA" in msg and "data_dir" in msg and "path" in msg
    monkeypatch.delenv("JCOMP_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="download=True") as e:
        load_libsvm("no_such_set")
    default_cache = os.path.join(tmp_path, "home", ".cache", "jcomp", "data", "libsvm")
    assert os.path.join(default_cache, "no_such_set") in str(e.value)


def test_corrupt_files_rejected(tmp_path):
    bad = tmp_path / "garbage"
    bad.write_text("this is not\na libsvm file at all 1:x:y\n")
    with pytest.raises(ValueError, match="expected LibSVM text format") as e:
        load_libsvm(str(bad))
    assert str(bad) in str(e.value)
    fake = tmp_path / "fake.bz2"  # not a bzip2 stream
    fake.write_bytes(b"\x00\x01 not bz2 at all")
    with pytest.raises(ValueError, match="expected LibSVM text format"):
        load_libsvm(str(fake))
    before = sorted(os.listdir(tmp_path))
    assert before == ["fake.bz2", "garbage"]  # nothing written next to the inputs


def _write(tmp_path, name, labels):
    p = tmp_path / name
    p.write_text("".join(f"{lab} 1:{i + 1} 3:0.5\n" for i, lab in enumerate(labels)))
    return str(p)


@pytest.mark.parametrize(
    "labels", [[1, 2, 2, 1], [0, 1, 1, 0], [-1, 1, 1, -1], [3, 7, 7, 3], [-1.0, 1.0, 1.0, -1.0]]
)
def test_two_labels_map_to_pm1_in_order(tmp_path, labels):
    A, b = load_libsvm(_write(tmp_path, "two", labels))
    assert b.tolist() == [-1.0, 1.0, 1.0, -1.0]  # smaller → −1, larger → +1, rows in file order
    assert A.tolist() == [[i + 1, 0.0, 0.5] for i in range(4)]  # unknown set: width from file


def test_non_binary_labels_rejected(tmp_path):
    with pytest.raises(
        ValueError, match=r"exactly two distinct labels.*found 3: \[1.0, 2.0, 3.0\]"
    ):
        load_libsvm(_write(tmp_path, "three", [1, 2, 3, 1]))
    with pytest.raises(ValueError, match="exactly two distinct labels.*found 1"):
        load_libsvm(_write(tmp_path, "one", [1, 1]))


def test_single_label_real_file_rejected():
    """svmguide3.t holds 41 rows, all +1 (MANIFEST): not a two-class file on its own."""
    _need("svmguide3.t")
    with pytest.raises(ValueError, match="found 1: \\[1.0\\]"):
        load_libsvm("svmguide3.t", data_dir=DATA_DIR)


def test_bad_n_features(tmp_path):
    with pytest.raises(ValueError, match="n_features=0 is not allowed"):
        load_libsvm(_write(tmp_path, "two", [1, 2]), n_features=0)
