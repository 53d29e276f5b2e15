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

    archs = commands.add_parser(
        "archs", help="list the architectures a checkpoint may use (torchvision classifiers, waveform networks)")
    archs.add_argument("--json", action="store_true", help="print JSON instead of a list")
    archs.set_defaults(handler=run_archs)

    importer = commands.add_parser(
        "import", help="add a model: a torchvision state_dict, a timm or torchxrayvision name plus weights, a Hugging "
                       "Face directory, or an ONNX file plus a card")
    importer.add_argument("file", metavar="FILE|DIR|NAME",
                          help="torchvision state_dict (.pt/.pth), Hugging Face model directory, .onnx file, or a "
                               "timm / torchxrayvision model name (with --source and --weights)")
    importer.add_argument("--source", choices=("torchvision", "timm", "huggingface", "torchxrayvision", "onnx"),
                          help="where the model comes from (default: a directory is huggingface, .onnx is onnx, "
                               "anything else torchvision)")
    importer.add_argument("--weights", type=Path, help="timm / torchxrayvision: the local weights file")
    importer.add_argument("--card", type=Path, help="onnx: the model card JSON (else made from --modality/--classes)")
    importer.add_argument("--arch", help="architecture of a plain state_dict, e.g. vgg16, densenet121, rawnet2 "
                                         "(`xaiscope archs`)")
    importer.add_argument("--arch-options", metavar="JSON",
                          help="a waveform network's size where it differs from the published one, as JSON, e.g. "
                               "'{\"gru_node\": 256, \"nb_gru_layer\": 1}' for rawnet2")
    importer.add_argument("--modality", choices=("audio", "xray"),
                          help="audio or xray (torchvision, timm, onnx; a Hugging Face image classifier: default xray)")
    importer.add_argument("--classes", help="class names in output order, comma-separated (torchvision, timm, onnx)")
    importer.add_argument("--multi-label", action="store_true",
                          help="timm / onnx: the outputs are independent labels, one sigmoid each")
    importer.add_argument("--window-seconds", type=float, default=2.0,
                          help="Hugging Face audio models: analysis window (default 2)")
    importer.add_argument("--hop-seconds", type=float, default=1.0,
                          help="Hugging Face audio models: step between windows (default 1)")
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
    for column in ("name", "modality", "source / architecture", "input -> output", "classes (output order)",
                   "origin", "weights"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        weights = str(entry.weights_path) if entry.present else "[red]missing[/red]"
        card = entry.card
        table.add_row(card.name, card.modality, f"{card.source} {card.architecture}",
                      f"{card.input_kind} -> {card.output_kind}", ", ".join(card.classes), entry.origin, weights)
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
    from xaiscope.models import ModelCard
    from xaiscope.models.sources import import_model
    from xaiscope.preprocessing.spec import AudioSpec

    classes = [part.strip() for part in args.classes.split(",") if part.strip()] if args.classes else None
    if classes is not None and len(classes) < 2:
        raise XaiscopeError("--classes needs at least two class names, in output order.",
                            "For the earlier tool's audio models: --classes fake,real")
    preprocessing = AudioSpec(renderer=args.renderer) if args.renderer and args.modality == "audio" else None
    options: dict[str, Any] = {"window_seconds": args.window_seconds, "hop_seconds": args.hop_seconds} \
        if (args.source == "huggingface" or (args.source is None and Path(args.file).is_dir())) else {}
    if args.arch_options:
        options["network_options"] = _json_object(args.arch_options, "--arch-options")
    written = import_model(args.source, args.file, output_dir=args.out, weights=args.weights, name=args.name,
                           modality=args.modality, classes=classes, multi_label=args.multi_label,
                           alert_class=args.alert_class, cam_target_layer=args.cam_layer,
                           card=ModelCard.load(args.card) if args.card else None, preprocessing=preprocessing,
                           architecture=args.arch, **options)
    card = written / "xaiscope-card.json" if written.is_dir() else written.with_suffix(".json")
    out.print(f"Wrote {written} and {card}")
    return 0


def _json_object(text: str, flag: str) -> dict[str, Any]:
    """Parse a flag's JSON object, or say what is wrong with it."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise XaiscopeError(f"{flag} is not valid JSON ({error}).",
                            f"Give an object, e.g. {flag} '{{\"gru_node\": 256}}'.") from error
    if not isinstance(value, dict):
        raise XaiscopeError(f"{flag} must be a JSON object, not {type(value).__name__}.",
                            f"Give an object, e.g. {flag} '{{\"gru_node\": 256}}'.")
    return value
