"""``xaiscope train`` and ``xaiscope eval-model``: train a checkpoint from a data set; score one on a split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from xaiscope.cli.console import out


def register(commands: Any) -> None:
    from xaiscope.training.config import add_config_arguments

    train = commands.add_parser(
        "train", help="train a model on FoR, CheXpert or a folder-per-class data set",
        description="Train a model. Settings come from CONFIG.toml (optional) and flags; every config key is also "
                    "a flag. Run data-parallel with `torchrun --nproc_per_node N -m xaiscope train ...`.")
    train.add_argument("config", nargs="?", type=Path, metavar="CONFIG.toml", help="training config (TOML)")
    train.add_argument("--dry-run", action="store_true",
                       help="index the data, print the resolved config and split sizes, and stop")
    add_config_arguments(train)
    train.set_defaults(handler=run_train)

    evaluate = commands.add_parser("eval-model", help="recompute a model's metrics on a data set split")
    evaluate.add_argument("checkpoint", metavar="CHECKPOINT", help="model name or .safetensors path")
    evaluate.add_argument("data", metavar="DATA", help="data set folder")
    evaluate.add_argument("--split", default="testing", help="training, validation or testing (default testing)")
    evaluate.add_argument("--dataset", choices=("auto", "for", "chexpert", "folders"), default=None,
                          help="data set layout (default: the card's, else auto)")
    evaluate.add_argument("--modality", choices=("auto", "audio", "xray"), default=None)
    evaluate.add_argument("--observation", default=None, help="CheXpert observation column (default: the card's)")
    evaluate.add_argument("--uncertainty", choices=("ignore", "zeros", "ones"), default=None)
    evaluate.add_argument("--blank", choices=("negative", "ignore"), default=None)
    evaluate.add_argument("--frontal-only", action=argparse.BooleanOptionalAction, default=None)
    evaluate.add_argument("--max-samples", type=int, default=None, help="score at most this many samples")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--num-workers", type=int, default=2)
    evaluate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    evaluate.add_argument("--cache-dir", default="", help="folder of cached model-input tensors")
    evaluate.add_argument("--out", type=Path, default=None, help="report folder (default: beside the checkpoint)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    evaluate.set_defaults(handler=run_eval_model)


def run_train(args: argparse.Namespace) -> int:
    from xaiscope.training.config import load_config, overrides_from_args

    config = load_config(args.config, overrides_from_args(args))
    if args.dry_run:
        from xaiscope.data import open_split

        out.print(config.to_toml().rstrip())
        for split in ("training", "validation", "testing"):
            labelled = open_split(config.data, split, config.data_options(), require_samples=False)
            out.print(f"{split}: {len(labelled)} samples {labelled.class_counts()}; "
                      f"skipped {dict(labelled.report.counts)}")
        return 0
    from xaiscope.training import train

    train(config)
    return 0


def run_eval_model(args: argparse.Namespace) -> int:
    from xaiscope.training import evaluate_checkpoint
    from xaiscope.training.metrics import format_confusion

    options = {"kind": args.dataset, "modality": args.modality, "observation": args.observation,
               "uncertainty": args.uncertainty, "blank": args.blank, "frontal_only": args.frontal_only,
               "max_samples": args.max_samples}
    result = evaluate_checkpoint(args.checkpoint, args.data, split=args.split, options=options,
                                 batch_size=args.batch_size, num_workers=args.num_workers, device=args.device,
                                 cache_dir=args.cache_dir, out=args.out, progress=not args.no_progress)
    metrics = result.metrics
    if args.json:
        print(json.dumps({"metrics": metrics, "report": str(result.report),
                          "roc_curve": str(result.roc_picture) if result.roc_picture else None}, indent=2))
        return 0
    out.print(f"[bold]{args.checkpoint}[/bold] on {args.split} of {metrics['data']['root']}: "
              f"{metrics['samples']} samples")
    auc = "n/a" if metrics.get("roc_auc") is None else f"{metrics['roc_auc']:.4f}"
    line = f"  accuracy {metrics['accuracy']:.4f}  ROC-AUC {auc}  F1 (macro) {metrics['f1_macro']:.4f}"
    if metrics.get("eer") is not None:
        line += (f"  EER {metrics['eer']:.4f} at P({metrics['eer_positive_class']}) >= "
                 f"{metrics['eer_threshold']:.4f}")
    out.print(line)
    for name, scores in metrics["per_class"].items():
        out.print(f"  {name:>16}: precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  "
                  f"F1 {scores['f1']:.4f}  support {scores['support']}")
    out.print(format_confusion(metrics))
    calibration = metrics.get("calibration")
    if calibration:
        ece, nll = calibration["ece"], calibration["nll"]
        if calibration["temperature"]:
            out.print(f"  calibration (temperature {calibration['temperature']:.4g}): ECE {ece['before']:.4f} -> "
                      f"{ece['after']:.4f}, NLL {nll['before']:.4f} -> {nll['after']:.4f}; {calibration['diagram']}")
        else:
            out.print(f"  uncalibrated: ECE {ece['before']:.4f}, NLL {nll['before']:.4f} (no temperature in the "
                      f"card; `xaiscope calibrate`); {calibration['diagram']}")
    if metrics["unreadable"]:
        out.print(f"  [yellow]{metrics['unreadable']} unreadable file(s) skipped[/yellow], e.g. "
                  f"{metrics['unreadable_examples'][0]}")
    out.print(f"Wrote {result.report}" + (f" and {result.roc_picture}" if result.roc_picture else ""))
    return 0
