"""``python -m tools.demo build|calibrate``: rebuild the offline demo corpus, the bundled demo models and samples, or
refit the bundled models' temperature and familiarity reference.

A build tool for the assets shipped inside the package, run from the repository root (``make demo``,
``make demo-calibrate``); it is not part of the installed package. It needs the ``demo`` extra and Debian packages
(``build --install`` fetches them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from xaiscope.errors import XaiscopeError

out = Console()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build", help="build the demo corpus, train the demo models, export models and samples",
        description="The corpus and runs go to --out; models and samples into the package (with --subset: into "
                    "OUT/export). --only rawnet2 builds the speech corpus and the RawNet2 alone, leaving the other "
                    "models and the samples untouched.")
    build.add_argument("--out", type=Path, default=Path("build/demo"), help="work folder (default build/demo)")
    build.add_argument("--subset", action="store_true",
                       help="a tiny corpus and one epoch, exported to OUT/export (a quick check of the builder)")
    build.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    build.add_argument("--install", action="store_true",
                       help="install missing Debian packages (apt-get, as root) and Python packages (pip)")
    build.add_argument("--reuse", action="store_true",
                       help="reuse the corpus and trained models already in --out (evaluate and export again)")
    build.add_argument("--only", choices=("rawnet2",), default=None,
                       help="build only this model (rawnet2: demo_audio_rawnet2, on the same speech corpus)")
    build.add_argument("--models-dir", type=Path, default=None, help="export models here instead")
    build.add_argument("--samples-dir", type=Path, default=None, help="export samples here instead")
    build.set_defaults(handler=run_build)
    calibrate = actions.add_parser(
        "calibrate", help="fit the bundled demo models' temperature and familiarity reference on the demo corpus",
        description="Rebuilds the demo corpus in --out when missing (seeded, the files the models were trained on), "
                    "then runs `xaiscope calibrate` on each bundled demo model and measures familiarity per source.")
    calibrate.add_argument("--out", type=Path, default=Path("build/demo"), help="corpus folder (default build/demo)")
    calibrate.add_argument("--models-dir", type=Path, default=None, help="calibrate the models here instead")
    calibrate.add_argument("--report-dir", type=Path, default=Path("docs/calibration"),
                           help="where the reliability diagrams go (default docs/calibration)")
    calibrate.add_argument("--seed", type=int, default=0)
    calibrate.add_argument("--only", choices=("audio", "xray", "rawnet2"), default=None,
                           help="calibrate one model (audio: the MobileNetV2, rawnet2: the RawNet2; both on speech)")
    calibrate.add_argument("--max-reference-files", type=int, default=2000,
                           help="training files embedded for the reference (seeded subset; default 2000 = all)")
    calibrate.add_argument("--max-testing-files", type=int, default=2000,
                           help="testing files scored for the method comparison (seeded subset; default all)")
    calibrate.add_argument("--no-by-source", action="store_true",
                           help="skip the per-source familiarity table (a second pass over the testing split)")
    calibrate.set_defaults(handler=run_calibrate)
    return parser


def run_build(args: argparse.Namespace) -> int:
    """Run the build and print where everything went and the held-out metrics."""
    from tools.demo.build import BuildOptions, build_demo

    report = build_demo(BuildOptions(out=args.out, subset=args.subset, seed=args.seed, install=args.install,
                                     reuse=args.reuse, only=args.only, models_dir=args.models_dir,
                                     samples_dir=args.samples_dir,
                                     log=lambda line: out.print(line, markup=False)))
    for modality, metrics in report["metrics"].items():
        overall = metrics["overall"]
        out.print(f"{modality}: held-out " + json.dumps({key: overall.get(key) for key in
                                                          ("samples", "accuracy", "roc_auc", "eer")}), markup=False)
        for source, part in metrics.get("per_source", {}).items():
            out.print(f"  {source}: " + json.dumps({key: part.get(key) for key in
                                                     ("source_files", "source_accuracy", "samples", "accuracy",
                                                      "roc_auc", "eer")}), markup=False)
    out.print(f"timings: {json.dumps(report['timings'])}", markup=False)
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """Calibrate both demo models and print what was measured."""
    from tools.demo.models import RAWNET2_MODEL
    from tools.demo.trust import calibrate_demo_models
    from xaiscope.models.store import BUNDLED_DIR

    modalities = ("audio",) if args.only == "rawnet2" else (args.only,) if args.only else ("audio", "xray")
    models = {"audio": RAWNET2_MODEL} if args.only == "rawnet2" else None
    report = calibrate_demo_models(args.out, args.models_dir or BUNDLED_DIR, args.seed, args.report_dir,
                                   log=lambda line: out.print(line, markup=False), modalities=modalities, models=models,
                                   max_reference_files=args.max_reference_files,
                                   max_testing_files=args.max_testing_files,
                                   by_source=() if args.no_by_source else modalities)
    for modality, part in report.items():
        calibration, familiarity = part["calibration"], part["familiarity"]
        out.print(f"{modality}: " + json.dumps({"temperature": calibration["temperature"],
                                                 "validation": calibration["validation"],
                                                 "testing": calibration.get("testing"),
                                                 "method": familiarity["method"],
                                                 "thresholds": familiarity["thresholds"]}), markup=False)
        for name, entry in familiarity["comparison"].items():
            out.print(f"  {name}: " + json.dumps(entry), markup=False)
        for source, rates in familiarity.get("testing_by_source", {}).items():
            out.print(f"  {source}: " + json.dumps(rates), markup=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run an action; exit status 2 on a user error (printed without a traceback)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except XaiscopeError as error:
        Console(stderr=True).print(str(error), markup=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
