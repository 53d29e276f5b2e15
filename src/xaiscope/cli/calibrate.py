"""``xaiscope calibrate``: fit a model's temperature and familiarity reference on a labelled data set."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from xaiscope.cli.console import out


def register(commands: Any) -> None:
    calibrate = commands.add_parser(
        "calibrate", help="fit a model's temperature and familiarity reference on a labelled data set",
        description="Classify the training split (reference embeddings of the model's penultimate layer) and the "
                    "validation split (temperature scaling; familiarity thresholds at stated percentiles), "
                    "compare the kNN and Mahalanobis distances on the held-out splits and on built-in probes "
                    "(noise, tones, non-radiographs), and store the result in the model's card and a sidecar "
                    "file beside its weights.")
    calibrate.add_argument("model", metavar="MODEL", help="model name or .safetensors path")
    calibrate.add_argument("data", metavar="DATA", help="labelled data set folder with training and validation "
                                                        "splits (FoR, CheXpert or folder-per-class)")
    calibrate.add_argument("--method", choices=("auto", "knn", "mahalanobis"), default="auto",
                           help="familiarity distance (default auto: chosen by measurement)")
    calibrate.add_argument("--percentiles", default="95,99.5",
                           help="validation percentiles of the 'unusual' and 'unlike' thresholds (default 95,99.5)")
    calibrate.add_argument("--k", type=int, default=5, help="neighbour rank of the kNN distance (default 5)")
    calibrate.add_argument("--max-reference-files", type=int, default=2000,
                           help="training files embedded for the reference (seeded subsample; default 2000)")
    calibrate.add_argument("--max-validation-files", type=int, default=5000)
    calibrate.add_argument("--max-testing-files", type=int, default=2000,
                           help="testing files scored for the comparison (0: skip the testing split)")
    calibrate.add_argument("--dataset", choices=("auto", "for", "chexpert", "folders"), default=None)
    calibrate.add_argument("--observation", default=None, help="CheXpert observation column (default: the card's)")
    calibrate.add_argument("--seed", type=int, default=0)
    calibrate.add_argument("--report-dir", type=Path, default=None,
                           help="where the reliability diagram goes (default: beside the weights)")
    calibrate.add_argument("--dry-run", action="store_true", help="compute and print, write no card or sidecar")
    calibrate.add_argument("--json", action="store_true", help="print the result as JSON")
    calibrate.set_defaults(handler=run_calibrate)


def parse_percentiles(text: str) -> dict[str, float]:
    """``"95,99.5"`` -> ``{"unusual": 95.0, "unlike": 99.5}``.

    Raises:
        ConfigError: not two increasing numbers in (0, 100].
    """
    from xaiscope.errors import ConfigError

    try:
        unusual, unlike = (float(part) for part in text.split(","))
    except ValueError as error:
        raise ConfigError(f"--percentiles '{text}' is not two numbers.", "Write e.g. --percentiles 95,99.5.") \
            from error
    if not 0 < unusual < unlike <= 100:
        raise ConfigError(f"--percentiles {unusual:g},{unlike:g} must increase within (0, 100].",
                          "Write e.g. --percentiles 95,99.5.")
    return {"unusual": unusual, "unlike": unlike}


def run_calibrate(args: argparse.Namespace) -> int:
    from xaiscope.models import load_model
    from xaiscope.trust.fit import calibrate

    model = load_model(args.model)
    options = {"kind": args.dataset, "observation": args.observation}
    log = (lambda line: None) if args.json else (lambda line: out.print(line, markup=False))
    result = calibrate(model, args.data, options=options, max_reference_files=args.max_reference_files,
                       max_validation_files=args.max_validation_files, max_testing_files=args.max_testing_files,
                       percentiles=parse_percentiles(args.percentiles), k=args.k, seed=args.seed,
                       method=args.method, write=not args.dry_run, report_dir=args.report_dir, log=log)
    if args.json:
        print(json.dumps({"calibration": result.calibration, "familiarity": result.familiarity,
                          "input_range": result.input_range, "card": str(result.card_path or ""),
                          "sidecar": str(result.sidecar or ""), "reliability_diagram": str(result.diagram or "")},
                         indent=2))
        return 0
    print_result(result)
    return 0


def print_result(result: Any) -> None:
    """Temperature with NLL and ECE before and after, the method comparison, and what was written."""
    calibration, familiarity = result.calibration, result.familiarity
    out.print(f"[bold]{result.card.name}[/bold]: temperature {calibration['temperature']:.4g} "
              f"({calibration['fitted_on']})")
    for split in ("validation", "testing"):
        if split in calibration:
            part = calibration[split]
            out.print(f"  {split} ({part['files']} files): ECE {part['ece']['before']:.4f} -> "
                      f"{part['ece']['after']:.4f}, NLL {part['nll']['before']:.4f} -> {part['nll']['after']:.4f}")
    table = Table(title="familiarity methods, measured", title_justify="left", box=None, padding=(0, 1))
    methods = list(familiarity["comparison"])
    table.add_column("")
    for name in methods:
        table.add_column(name + (" (chosen)" if name == familiarity["method"] else ""), justify="right")
    comparison = familiarity["comparison"]
    table.add_row("thresholds unusual / unlike",
                  *(f"{familiarity['thresholds'][m]['unusual']:.4g} / {familiarity['thresholds'][m]['unlike']:.4g}"
                    for m in methods))
    table.add_row("validation familiar", *(f"{comparison[m]['validation_familiar_share']:.1%}" for m in methods))
    if all("testing_familiar_share" in comparison[m] for m in methods):
        table.add_row("testing familiar", *(f"{comparison[m]['testing_familiar_share']:.1%}" for m in methods))
        table.add_row("testing unlike", *(f"{comparison[m]['testing_unlike_share']:.1%}" for m in methods))
    for probe in comparison[methods[0]]["probes"]:
        table.add_row(f"probe {probe}", *(f"{comparison[m]['probes'][probe]['status']} "
                                          f"({comparison[m]['probes'][probe]['score']:.3g})" for m in methods))
    out.print(table)
    out.print(f"  chosen: {familiarity['method']} ({familiarity['choice_rule']})")
    if result.card_path:
        out.print(f"Wrote {result.card_path}, {result.sidecar} and {result.diagram}")
    else:
        out.print(f"Dry run: nothing written but {result.diagram}")
