"""``xaiscope models``, ``archs`` and ``import``: what models exist and how to add one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from xaiscope.cli.console import err, out
from xaiscope.errors import XaiscopeError


def register(commands: Any) -> None:
    models = commands.add_parser("models", help="list the models xaiscope can use and where their weights are")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(handler=run_models)

    archs = commands.add_parser("archs", help="list the torchvision architectures a checkpoint may use")
    archs.add_argument("--json", action="store_true", help="print JSON instead of a list")
    archs.set_defaults(handler=run_archs)

    importer = commands.add_parser("import", help="convert a torchvision state_dict into a safetensors checkpoint")
    importer.add_argument("file", type=Path, metavar="FILE.pt")
    importer.add_argument("--arch", required=True, help="torchvision architecture, e.g. vgg16, densenet121")
    importer.add_argument("--modality", required=True, choices=("audio", "xray"))
    importer.add_argument("--classes", required=True, help="class names in output order, comma-separated")
    importer.add_argument("--name", help="model name (default: the file name without extension)")
    importer.add_argument("--out", type=Path, default=Path("weights"), help="output folder (default ./weights)")
    importer.add_argument("--alert-class", help="the class to warn about (default: guessed from the names)")
    importer.add_argument("--cam-layer", help="Grad-CAM target layer (default: per architecture)")
    importer.add_argument("--renderer", choices=("direct", "seed-notebook"),
                          help="audio only: how the training spectrograms were drawn (default direct)")
    importer.set_defaults(handler=run_import)


def run_models(args: argparse.Namespace) -> int:
    from xaiscope.models import discover

    entries, problems = discover()
    if args.json:
        print(json.dumps({"models": [entry.to_dict() for entry in entries], "problems": problems}, indent=2))
        return 0
    table = Table(title="Models", title_justify="left")
    for column in ("name", "modality", "architecture", "classes (output order)", "origin", "weights"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        weights = str(entry.weights_path) if entry.present else "[red]missing[/red]"
        table.add_row(entry.card.name, entry.card.modality, entry.card.architecture, ", ".join(entry.card.classes),
                      entry.origin, weights)
    out.print(table)
    out.print("Searched, in order: " + ", ".join(str(folder) for folder in entries[0].searched))
    out.print("Put the earlier tool's weights/<key>.pt files in ./weights or a folder named by XAISCOPE_MODELS.")
    for problem in problems:
        err.print(f"[yellow]Skipped:[/yellow] {problem}")
    return 0


def run_archs(args: argparse.Namespace) -> int:
    from xaiscope.models import classification_architectures

    names = classification_architectures()
    print(json.dumps(list(names)) if args.json else ", ".join(names))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from xaiscope.models import import_state_dict
    from xaiscope.preprocessing.spec import AudioSpec

    classes = [part.strip() for part in args.classes.split(",") if part.strip()]
    if len(classes) < 2:
        raise XaiscopeError("--classes needs at least two class names, in output order.",
                            "For the earlier tool's audio models: --classes fake,real")
    preprocessing = AudioSpec(renderer=args.renderer) if args.renderer and args.modality == "audio" else None
    weights = import_state_dict(args.file, architecture=args.arch, modality=args.modality, classes=classes,
                                output_dir=args.out, name=args.name, alert_class=args.alert_class,
                                cam_target_layer=args.cam_layer, preprocessing=preprocessing)
    out.print(f"Wrote {weights} and {weights.with_suffix('.json')}")
    return 0
