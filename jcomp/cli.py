"""The ``jcomp`` command: run and plot reproduced experiments, list what the library has."""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["main"]


def _cmd_run(args) -> int:
    from . import experiments
    from .experiments._common import parse_overrides

    mod = experiments.get(args.name)
    cfg = parse_overrides(mod.Config(), args.set or [])
    out = args.out or os.path.join("results", args.name)
    print(f"jcomp run {args.name}: {mod.DESCRIPTION}")
    mod.run(cfg, out=out, progress=args.progress)
    return 0


def _cmd_plot(args) -> int:
    from . import experiments

    cfg_path = os.path.join(args.folder, "summary.json")
    if not os.path.exists(cfg_path):
        msg = f"jcomp plot: {args.folder} is not a results folder (no summary.json)"
        print(msg, file=sys.stderr)
        return 2
    name = args.name
    if name is None:  # every results folder records its experiment in summary.json
        with open(cfg_path) as f:
            name = json.load(f).get("experiment")
    print(experiments.get(name).plot(args.folder))
    return 0


def _cmd_list(args) -> int:
    from . import algorithms, compressors, experiments

    what = args.what
    if what in (None, "experiments"):
        print("experiments:")
        for k, m in experiments.EXPERIMENTS.items():
            print(f"  {k:<14s} {m.DESCRIPTION}")
    if what in (None, "compressors"):
        print(f"\ncompressors (constants at d={args.d}, n={args.n}; bits = expected per message):")
        rows = compressors.catalog(args.d, args.n)
        w1 = max(len(r["label"]) for r in rows)
        w2 = max(len(r["class"]) for r in rows)
        print(f"  {'compressor':<{w1}s} {'class':<{w2}s} {'bits':>8s} {'noidx':>8s} {'coords':>7s}")
        for row in rows:
            cost = row["expected_cost"]
            cost = "    data-dependent" if cost is None else "{:8.0f} {:8.0f} {:7.1f}".format(*cost)
            print(f"  {row['label']:<{w1}s} {row['class']:<{w2}s} {cost}")
    if what in (None, "algorithms"):
        print("\nalgorithms:")
        print(f"  {'name':<10s} {'compressor':<12s} {'theory parameters':<44s} source")
        for name in algorithms.names():
            e = algorithms.get(name)
            print(f"  {name:<10s} {e.compressor or '-':<12s} {e.rule:<44s} {e.source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jcomp", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="run a reproduced experiment (writes a results folder)")
    p.add_argument("name")
    p.add_argument("--out", help="results folder (default results/NAME)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting")
    p.add_argument("--progress", action="store_true", default=None, help="always show progress")
    p.set_defaults(fn=_cmd_run)
    p = sub.add_parser("plot", help="re-draw the figure of a results folder")
    p.add_argument("folder")
    p.add_argument("--name", help="experiment name (default: the folder's name)")
    p.set_defaults(fn=_cmd_plot)
    p = sub.add_parser("list", help="list experiments, compressors and algorithms")
    p.add_argument("what", nargs="?", choices=["experiments", "compressors", "algorithms"])
    p.add_argument("--d", type=int, default=300)
    p.add_argument("--n", type=int, default=10)
    p.set_defaults(fn=_cmd_list)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except ValueError as e:
        print(f"jcomp: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
