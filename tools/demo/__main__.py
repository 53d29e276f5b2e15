"""``python -m tools.demo build``: rebuild the offline demo corpus, the bundled demo models and samples.

A build tool for the assets shipped inside the package, run from the repository root (``make demo``); it is not
part of the installed package. It needs the ``demo`` extra and Debian packages (``--install`` fetches them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from xaiscope.errors import XaiscopeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build", help="build the demo corpus, train both demo models, export models and samples",
        description="The corpus and runs go to --out; models and samples into the package (with --subset: into "
                    "OUT/export).")
    build.add_argument("--out", type=Path, default=Path("build/demo"), help="work folder (default build/demo)")
    build.add_argument("--subset", action="store_true",
                       help="a tiny corpus and one epoch, exported to OUT/export (a quick check of the builder)")
    build.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    build.add_argument("--install", action="store_true",
                       help="install missing Debian packages (apt-get, as root) and Python packages (pip)")
    build.add_argument("--reuse", action="store_true",
                       help="reuse the corpus and trained models already in --out (evaluate and export again)")
    build.add_argument("--models-dir", type=Path, default=None, help="export models here instead")
    build.add_argument("--samples-dir", type=Path, default=None, help="export samples here instead")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the build and print where everything went and the held-out metrics; exit status 2 on a user error."""
    from tools.demo.build import BuildOptions, build_demo

    args = build_parser().parse_args(argv)
    out = Console()
    try:
        report = build_demo(BuildOptions(out=args.out, subset=args.subset, seed=args.seed, install=args.install,
                                         reuse=args.reuse, models_dir=args.models_dir, samples_dir=args.samples_dir,
                                         log=lambda line: out.print(line, markup=False)))
    except XaiscopeError as error:
        Console(stderr=True).print(str(error), markup=False)
        return 2
    for modality, metrics in report["metrics"].items():
        overall = metrics["overall"]
        out.print(f"{modality}: held-out " + json.dumps({key: overall.get(key) for key in
                                                          ("samples", "accuracy", "roc_auc", "eer")}), markup=False)
    out.print(f"timings: {json.dumps(report['timings'])}", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
