"""A generic folder-per-class data set.

Layouts accepted:

* ``<root>/<split>/<class>/*`` where ``<split>`` is training|validation|testing (or train, val, valid, test);
* ``<root>/<class>/*`` with no split folders: each file goes to testing, validation or training by a seeded
  hash of its path relative to the root (``test_fraction``, ``val_fraction``), so the assignment is the same on
  every machine and never changes when files are added.

Classes are the class folder names sorted alphabetically (``ImageFolder``'s order, which the model's output
order follows). The modality comes from the file extensions unless given; the alert class is the option, else a
class with a telling name (fake, spoof, opacity, abnormal...), else the first class for audio and the last for
X-rays.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from xaiscope.data.fakeorreal import list_class_files
from xaiscope.data.options import DataOptions
from xaiscope.data.records import (
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    DataReport,
    LabelledSplit,
    Record,
    canonical_split,
    limit_records,
    stable_fraction,
)
from xaiscope.errors import DataLayoutError, DataNotFoundError
from xaiscope.inputs.sample import Modality
from xaiscope.models.store import guess_alert_class


def split_folders(root: Path) -> dict[str, Path]:
    """Canonical split name -> folder, for the split folders directly under ``root``."""
    found: dict[str, Path] = {}
    for child in sorted(root.iterdir()):
        split = canonical_split(child.name) if child.is_dir() else None
        if split is not None:
            found.setdefault(split, child)
    return found


def class_folders(folder: Path) -> list[Path]:
    """The non-hidden sub-folders of ``folder``, sorted by name."""
    return sorted((child for child in folder.iterdir() if child.is_dir() and not child.name.startswith(".")),
                  key=lambda child: child.name)


def _modality(files: list[Path], option: str, root: Path) -> Modality:
    named: dict[str, Modality] = {"audio": "audio", "xray": "xray"}
    if option in named:
        return named[option]
    kinds: Counter[Modality] = Counter("audio" if path.suffix.lower() in AUDIO_EXTENSIONS else "xray"
                                       for path in files)
    if not kinds:
        raise DataLayoutError(f"'{root}' holds no audio or image files in its class folders.",
                              f"Put {'/'.join(AUDIO_EXTENSIONS + IMAGE_EXTENSIONS)} files in one folder per class.")
    if len(kinds) > 1:
        raise DataLayoutError(f"'{root}' mixes audio and image files ({dict(kinds)}).",
                              "Keep one modality per data set, or name it with --modality.")
    return next(iter(kinds))


def folder_split(root: Path, split: str, options: DataOptions) -> LabelledSplit:
    """Index one split of a folder-per-class data set (rules in the module docstring).

    Raises:
        DataNotFoundError: the split folder is missing.
        DataLayoutError: fewer than two class folders, or no media files.
    """
    splits = split_folders(root)
    report = DataReport()
    if splits:
        if split not in splits:
            raise DataNotFoundError(f"'{root}' has split folders ({', '.join(sorted(splits))}) but none for "
                                    f"'{split}'.", "Add the split folder, or choose another --split.")
        base, by_hash = splits[split], False
    else:
        base, by_hash = root, True
    classes = [folder.name for folder in class_folders(base)]
    if len(classes) < 2:
        raise DataLayoutError(f"'{base}' must hold one folder per class (at least two); found {classes or 'none'}.",
                              "Lay the data out as <class>/<file> or <split>/<class>/<file>.")
    extensions = AUDIO_EXTENSIONS + IMAGE_EXTENSIONS
    labelled = [(path, label) for label, name in enumerate(classes)
                for path in list_class_files(base / name, extensions, report)]
    modality = _modality([path for path, _ in labelled], options.modality, base)
    wanted = AUDIO_EXTENSIONS if modality == "audio" else IMAGE_EXTENSIONS
    records = []
    for path, label in labelled:
        if path.suffix.lower() not in wanted:
            report.add("ignored_files", f"{path}: not a {modality} file, ignored")
            continue
        relative = str(path.relative_to(root))
        if by_hash and _hashed_split(relative, options) != split:
            continue
        records.append(Record(path, label, relative))
    records = limit_records(records, options.max_samples, options.split_seed)
    rules = {"labels": f"class folders sorted alphabetically: {dict(enumerate(classes))}",
             "splits": "split folders" if not by_hash else
             f"hash of the relative path: testing {options.test_fraction:g}, validation {options.val_fraction:g}, "
             f"seed {options.split_seed}"}
    return LabelledSplit(kind="folders", root=root, split=split, modality=modality, classes=tuple(classes),
                         alert_class=options.alert_class or guess_alert_class(classes, modality),
                         records=records, report=report, rules=rules)


def _hashed_split(relative: str, options: DataOptions) -> str:
    value = stable_fraction(relative, options.split_seed)
    if value < options.test_fraction:
        return "testing"
    if value < options.test_fraction + options.val_fraction:
        return "validation"
    return "training"
