"""The demo X-ray corpus: ``<out>/xray/{training,validation,testing}/{no_opacity,opacity}/*.png``, the lesion
masks in ``<out>/xray/lesions/`` (same relative names) and ``manifest.jsonl``.

Splits by source: each lung mask's group (the image it was drawn on, see :func:`.chest.mask_group`) belongs to
one split, chosen by a seeded hash; within a split, masks are reused with fresh jitter and texture.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tools.demo.chest import LungMask, chest_picture, load_masks
from xaiscope.data.records import stable_fraction

SPLITS = ("training", "validation", "testing")


@dataclass(frozen=True)
class XrayPlan:
    """Pictures per split and class, and the share of mask groups given to validation and testing."""

    per_class: dict[str, int] = field(default_factory=lambda: {"training": 200, "validation": 30, "testing": 50})
    validation_share: float = 0.12
    testing_share: float = 0.2

    @classmethod
    def subset(cls) -> XrayPlan:
        return cls(per_class={"training": 8, "validation": 4, "testing": 4})


def split_of(group: str, plan: XrayPlan, seed: int) -> str:
    value = stable_fraction(group, seed)
    if value < plan.testing_share:
        return "testing"
    if value < plan.testing_share + plan.validation_share:
        return "validation"
    return "training"


def build_xray_corpus(out: Path, plan: XrayPlan, seed: int, masks: list[LungMask] | None = None,
                      log: Callable[[str], None] = print) -> dict[str, object]:
    """Draw and write the corpus; returns counts per split and class and the number of mask groups per split."""
    masks = masks if masks is not None else load_masks()
    rng = np.random.default_rng(seed)
    by_split: dict[str, list[LungMask]] = {split: [] for split in SPLITS}
    for mask in masks:
        by_split[split_of(mask.group, plan, seed)].append(mask)
    rows = []
    for split in SPLITS:
        pool = by_split[split]
        for label in ("no_opacity", "opacity"):
            for number in range(plan.per_class[split]):
                mask = pool[(number * 7 + (label == "opacity")) % len(pool)]
                count = 0 if label == "no_opacity" else (2 if rng.random() < 0.25 else 1)
                picture, lesion = chest_picture(mask.mask, rng, opacities=count)
                relative = f"{split}/{label}/{Path(mask.name).stem.replace(' ', '_')}__{number:03d}.png"
                (out / relative).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(picture).save(out / relative, optimize=True)
                row = {"file": relative, "split": split, "label": label, "source": "synthetic-chest",
                       "group": mask.group, "lung_mask": mask.name, "opacities": count}
                if count:
                    lesion_path = out / "lesions" / relative
                    lesion_path.parent.mkdir(parents=True, exist_ok=True)
                    Image.fromarray((lesion * 255).astype(np.uint8)).save(lesion_path, optimize=True)
                    row["lesion"] = f"lesions/{relative}"
                rows.append(row)
        log(f"  xray {split}: {2 * plan.per_class[split]} pictures from {len({m.group for m in pool})} mask groups")
    (out / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return {"pictures": {split: {label: plan.per_class[split] for label in ("no_opacity", "opacity")}
                         for split in SPLITS},
            "mask_groups": {split: len({m.group for m in by_split[split]}) for split in SPLITS}}


def summarise_xray(out: Path) -> dict[str, object]:
    """The counts of an existing corpus, read from its manifest (as :func:`build_xray_corpus` returns them)."""
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    pictures: dict[str, dict[str, int]] = {split: {"no_opacity": 0, "opacity": 0} for split in SPLITS}
    groups: dict[str, set[str]] = {split: set() for split in SPLITS}
    for row in rows:
        pictures[row["split"]][row["label"]] += 1
        groups[row["split"]].add(row["group"])
    return {"pictures": pictures, "mask_groups": {split: len(groups[split]) for split in SPLITS}}
