"""Every problem of the seed papers as jcomp builds it: sizes, constants, x*/f* accuracy, build
time and memory. Each problem is built in its own subprocess (so its peak RSS is its own).

    python benchmarks/problems_table.py [--data DIR] [--out benchmarks/results/problems.json]

Prints a Markdown table (pasted into PROBLEMS.md) and saves the rows as JSON (written to a
temporary file, then renamed: never half-written). Real data sets are read from ``--data``
(default ``$JCOMP_DATA`` or ``../shared/data``); a missing one is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: (label, Python expression building the problem from ``P = jcomp.problems`` and ``DATA``)
PROBLEMS = [
    ("seed 004 Alg. 3 (L_A²=1, L_B²=1e4)", "P.marina_p_quadratic(1000, 300, 1.0, 1e4)"),
    ("seed 004 F.1", "P.near_homogeneous_quadratic(100, 1000)"),
    ("seed 003 Alg. 5 (s=1)", "P.hessian_variance_quadratic(64, 1024, s=1.0)"),
    ("seed 003 Alg. 6 (s=1)", "P.smoothness_spread_quadratic(64, 1024, s=1.0)"),
    ("seed 002 ridge", "P.ridge_regression(100, 80, 10)"),
    ("seed 000 logistic german.numer", "P.logistic_libsvm('german.numer', 10, data_dir=DATA)"),
    ("seed 000 logistic svmguide3", "P.logistic_libsvm('svmguide3', 10, data_dir=DATA)"),
    ("seed 000 logistic splice", "P.logistic_libsvm('splice', 10, data_dir=DATA)"),
    ("seed 000 logistic a9a", "P.logistic_libsvm('a9a', 10, data_dir=DATA)"),
    ("seed 000 logistic w8a", "P.logistic_libsvm('w8a', 10, data_dir=DATA)"),
    ("seed 000 logistic covtype", "P.logistic_libsvm('covtype', 10, data_dir=DATA)"),
    (
        "seed 003 non-convex logistic a9a",
        "P.nonconvex_logistic(*P.load_libsvm('a9a', data_dir=DATA), 10)",
    ),
    (
        "seed 003 non-convex logistic madelon",
        "P.nonconvex_logistic(*P.load_libsvm('madelon', data_dir=DATA), 10)",
    ),
    ("seed 004 F.2 MNIST autoencoder", "P.autoencoder_mnist(100, path=DATA)"),
]

#: covtype is not in shared/data; its load and build cost is measured on a synthetic file of the
#: same shape (581,012 rows x 54 features, 12 nonzeros per row, labels 1/2 in covtype's
#: proportion), written once to a temporary .bz2 file. NOT covtype: only its size is real.
COVTYPE_STANDIN = (
    "covtype-shaped stand-in (synthetic, NOT covtype; n = 6)",
    "P.logistic_libsvm({path!r}, 6, n_features=54)",
)


def write_covtype_standin(folder: str, seed: int = 0) -> str:
    """A synthetic LibSVM file shaped like covtype.libsvm.binary, bzip2-compressed."""
    import bz2

    import numpy as np
    from scipy import sparse
    from sklearn.datasets import dump_svmlight_file

    rng = np.random.default_rng(seed)
    N = 581_012
    hi = np.array([3858, 360, 66, 1397, 601, 7117, 254, 254, 254, 7173], float)
    dense = rng.uniform(0, 1, size=(N, 10)) * hi
    rows = np.repeat(np.arange(N), 2)
    cols = np.stack([10 + rng.integers(0, 4, N), 14 + rng.integers(0, 40, N)], 1).ravel()
    onehot = sparse.csr_matrix((np.ones(2 * N), (rows, cols)), shape=(N, 54))
    X = sparse.hstack([sparse.csr_matrix(dense), sparse.csr_matrix((N, 44))]).tocsr() + onehot
    y = np.where(rng.uniform(size=N) < 297_711 / N, 2, 1)
    plain = os.path.join(folder, "covtype_standin")
    dump_svmlight_file(X, y, plain, zero_based=False)
    path = plain + ".bz2"
    with open(plain, "rb") as src, bz2.open(path, "wb") as dst:
        dst.write(src.read())
    os.unlink(plain)
    return path


CHILD = r"""
import json, os, resource, sys, time
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import jcomp.problems as P
from jcomp.algorithms._ef import dissimilarity
DATA = sys.argv[2]
def peak_kib():
    # VmHWM: this process's own peak (ru_maxrss keeps the parent's peak across fork + exec)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
try:
    p = eval(sys.argv[1])
except FileNotFoundError as e:
    print(json.dumps({"skipped": str(e).splitlines()[0]}))
    sys.exit(0)
jax.block_until_ready(jax.tree.leaves(p))
build_s = time.perf_counter() - t0
c = p.constants._asdict()
row = {"n": p.n, "d": p.d, "build_s": round(build_s, 2),
       "array_MB": round(sum(a.nbytes for a in jax.tree.leaves(p)) / 2**20, 1),
       "peak_rss_MB": round(peak_kib() / 1024, 0)}
m = getattr(p, "samples_per_worker", None)
if m is not None:
    row["m"] = m
for k in ("L", "L_max", "L_plus", "L_pm", "L_A", "L_B", "mu"):
    v = c.get(k)
    row[k] = None if v is None or not np.isfinite(float(v)) else float(v)
if p.x_star is not None:
    row["f_star"] = float(p.f_star)
    row["grad_norm_at_x_star"] = float(np.linalg.norm(np.asarray(p.grad(p.x_star))))
    row["zeta_star2"] = dissimilarity(p)["zeta_star2"]
print(json.dumps(row))
"""


def build(expr: str, data: str) -> dict:
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, expr, data],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("JCOMP_DATA", os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--data", default=default)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "problems.json"))
    ap.add_argument(
        "--no-covtype-standin", action="store_true", help="skip the covtype-shaped timing row"
    )
    args = ap.parse_args(argv)
    data = os.path.abspath(args.data)
    rows = []
    cols = ["n", "m", "d", "L", "L_max", "L_plus", "L_pm", "L_A", "L_B", "mu", "zeta_star2",
            "f_star", "grad_norm_at_x_star", "build_s", "array_MB", "peak_rss_MB"]  # fmt: skip
    print("| problem | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    problems = list(PROBLEMS)
    scratch = tempfile.TemporaryDirectory()
    if not args.no_covtype_standin:
        label, template = COVTYPE_STANDIN
        problems.append((label, template.format(path=write_covtype_standin(scratch.name))))
    for label, expr in problems:
        row = {"problem": label, "expr": expr, **build(expr, data)}
        rows.append(row)
        if "skipped" in row or "error" in row:
            print(f"| {label} | " + (row.get("skipped") or row["error"]) + " |")
        else:
            print(f"| {label} | " + " | ".join(_fmt(row.get(k)) for k in cols) + " |")
        sys.stdout.flush()
    scratch.cleanup()
    meta = {"python": sys.version.split()[0], "data": data}
    try:
        import jax

        meta["jax"] = jax.__version__
    except ImportError:
        pass
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(args.out), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    os.replace(tmp, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
