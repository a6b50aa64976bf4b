"""Assemble BENCHMARKS.md: the hand-written head is kept; the measured tables are replaced.

    python benchmarks/report.py

Everything between the ``<!-- generated -->`` marker and the end of ``BENCHMARKS.md`` is
rewritten from the Markdown tables the benchmark scripts saved under ``benchmarks/results/``
(each with its machine, versions and the command that produced it), in the order of
:data:`SECTIONS`. A results file that is missing is listed as not run.
"""

from __future__ import annotations

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
MARKER = "<!-- generated: everything below is rewritten by benchmarks/report.py -->"

#: (results stem, section title, script that writes it)
SECTIONS = [
    ("alternatives", "1. Against a NumPy per-worker loop and MiniFL", "bench_alternatives.py"),
    ("overhead", "2. Overhead of compression (n = 100, d = 10⁴)", "bench_overhead.py"),
    ("overhead_n1000_d300", "2b. Overhead of compression (n = 1000, d = 300)", "bench_overhead.py"),
    ("scaling", "3. Scaling in n and d: time per step, memory, compile", "bench_scaling.py"),
    ("sweep", "4. Sweeps: one compiled grid against separate runs", "bench_sweep.py"),
    (
        "devices_cpu",
        "5. Devices: the worker axis sharded over host CPU devices",
        "bench_devices.py",
    ),
    ("devices_gpu", "5b. Devices: GPU", "bench_devices.py"),
]


def _env_line(stem: str) -> str:
    path = os.path.join(RESULTS, stem + ".json")
    if not os.path.isfile(path):
        return ""
    with open(path) as f:
        payload = json.load(f)
    env = payload.get("env") or payload.get("environment") or {}
    if not env:
        return ""
    parts = [
        f"device {env.get('device_kind', '?')} ({env.get('backend', '?')})",
        f"CPU {env.get('cpu', '?')} × {env.get('cpu_count', '?')}",
        f"jax {env.get('jax', '?')}",
        f"numpy {env.get('numpy', '?')}",
    ]
    if env.get("torch"):
        parts.append(f"torch {env['torch']}, MiniFL {env.get('minifl')}")
    parts.append(f"Python {env.get('python', '?')}, {env.get('date', '?')}")
    return "Machine: " + "; ".join(parts) + "."


def generated() -> str:
    out = [MARKER, ""]
    for stem, title, script in SECTIONS:
        out.append(f"## {title}")
        out.append("")
        md = os.path.join(RESULTS, stem + ".md")
        if not os.path.isfile(md):
            out.append(f"Not run here (`python benchmarks/{script}` writes `results/{stem}.md`).")
            out.append("")
            continue
        env = _env_line(stem)
        if env:
            out += [env, ""]
        with open(md) as f:
            body = f.read().strip()
        # demote the scripts' own headings below this section's
        body = "\n".join("##" + line if line.startswith("#") else line for line in body.split("\n"))
        out += [body, ""]
    return "\n".join(out)


def main() -> str:
    path = os.path.join(ROOT, "BENCHMARKS.md")
    head = ""
    if os.path.isfile(path):
        with open(path) as f:
            text = f.read()
        head = text.split(MARKER)[0]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(head.rstrip() + "\n\n" + generated())
    os.replace(tmp, path)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
