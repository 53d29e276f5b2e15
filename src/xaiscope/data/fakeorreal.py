"""Fake-or-Real (FoR, Reimao & Tzerpos 2019), any of its four versions.

Layout: ``<root>/training|validation|testing/{fake,real}/*.wav`` (``for-original``, ``for-norm``, ``for-2sec``,
``for-rerec``). The archives unpack with one more level (``for-norm/for-norm/training``); the layout finder in
:mod:`xaiscope.data.layout` descends into it.

Label order: the class folders sorted alphabetically, as torchvision's ``ImageFolder`` (and so the earlier
tool) did: ``fake`` = 0, ``real`` = 1. A single-logit model therefore outputs ``P(real)``; the alert class is
``fake``.
"""

from __future__ import annotations

from pathlib import Path

from xaiscope.data.options import DataOptions
from xaiscope.data.records import AUDIO_EXTENSIONS, DataReport, LabelledSplit, Record, limit_records
from xaiscope.errors import DataLayoutError, DataNotFoundError

FOR_CLASSES = ("fake", "real")


def is_for_layout(root: Path) -> bool:
    """Whether ``root`` has ``training/fake`` and ``training/real`` (or another split with both)."""
    return any((root / split / "fake").is_dir() and (root / split / "real").is_dir()
               for split in ("training", "validation", "testing"))


def list_class_files(folder: Path, extensions: tuple[str, ...], report: DataReport) -> list[Path]:
    """The media files directly and recursively inside ``folder``, sorted; others counted as ``ignored_files``.

    Hidden files (macOS ``._*`` resource forks, ``.DS_Store``) are ignored silently.
    """
    files = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix.lower() in extensions:
            files.append(path)
        else:
            report.add("ignored_files", f"{path}: not a {'/'.join(extensions)} file, ignored")
    return files


def for_split(root: Path, split: str, options: DataOptions) -> LabelledSplit:
    """Index one FoR split.

    Raises:
        DataNotFoundError: the split folder is missing.
        DataLayoutError: it lacks ``fake/`` or ``real/``.
    """
    folder = root / split
    if not folder.is_dir():
        raise DataNotFoundError(f"The FoR folder '{root}' has no '{split}' split folder.",
                                "FoR splits are training/, validation/ and testing/; point to the folder that "
                                "holds them.")
    missing = [name for name in FOR_CLASSES if not (folder / name).is_dir()]
    if missing:
        raise DataLayoutError(f"'{folder}' lacks the class folder(s) {', '.join(missing)}.",
                              "FoR splits hold exactly two folders, fake/ and real/.")
    report = DataReport()
    records = [Record(path, label, path.name) for label, name in enumerate(FOR_CLASSES)
               for path in list_class_files(folder / name, AUDIO_EXTENSIONS, report)]
    records = limit_records(records, options.max_samples, options.split_seed)
    return LabelledSplit(kind="for", root=root, split=split, modality="audio", classes=FOR_CLASSES,
                         alert_class=options.alert_class or "fake", records=records, report=report,
                         rules={"labels": "class folders sorted alphabetically (ImageFolder): fake=0, real=1"})
