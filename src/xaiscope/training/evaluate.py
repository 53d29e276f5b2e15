"""``xaiscope eval-model``: a checkpoint's metrics on any split, a confusion matrix and an ROC curve picture.

The model is loaded through the model store (a name or a ``.safetensors`` path), the data through
:func:`xaiscope.data.open_split` with the options stored in the card's provenance (overridable), and every
sample is classified as ``xaiscope predict`` would (every window, the card's aggregation). The data set's
classes must be the card's classes; a different order is mapped by name.

Reports go beside the checkpoint (or to ``out``): ``<name>.<split>.metrics.json`` and ``<name>.<split>.roc.png``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import DataLoader

from xaiscope.data import DataOptions, ModelInputDataset, TensorCache, open_split
from xaiscope.data.records import LabelledSplit, Record
from xaiscope.data.torch_dataset import collate
from xaiscope.errors import ClassMismatchError, ModalityMismatchError
from xaiscope.models.card import ModelCard
from xaiscope.training.checkpointing import write_json
from xaiscope.training.distributed import choose_device
from xaiscope.training.loop import Precision, Predictions, predict
from xaiscope.training.metrics import classification_metrics
from xaiscope.training.progress import progress_bar


@dataclass
class EvalResult:
    """Metrics of one checkpoint on one split, and where the report and picture were written."""

    metrics: dict[str, Any]
    report: Path
    roc_picture: Path | None


def data_options_for(card: ModelCard, overrides: dict[str, Any]) -> DataOptions:
    """The card's stored data options (when it was trained by xaiscope), with ``overrides`` applied."""
    stored = card.provenance.get("data", {})
    stored = stored.get("options", {}) if isinstance(stored, dict) else {}
    known = DataOptions.__dataclass_fields__
    options = DataOptions(**{key: value for key, value in stored.items() if key in known})
    if "observation" not in overrides and card.modality == "xray" and "observation" not in stored:
        options = replace(options, observation="Lung Opacity")
    return replace(options, max_samples=0, **{key: value for key, value in overrides.items() if value is not None})


def align_classes(split: LabelledSplit, card: ModelCard) -> LabelledSplit:
    """Relabel ``split`` into the card's class order (by name).

    Raises:
        ModalityMismatchError, ClassMismatchError
    """
    if split.modality != card.modality:
        raise ModalityMismatchError(f"The data set holds {split.modality} files but '{card.name}' is a "
                                    f"{card.modality} model.", "Choose a model and data set of the same kind.")
    if tuple(split.classes) == tuple(card.classes):
        return split
    if sorted(split.classes) != sorted(card.classes):
        raise ClassMismatchError(f"The data set's classes {list(split.classes)} are not the model's classes "
                                 f"{list(card.classes)}.",
                                 "Choose the data set the model was trained for (for CheXpert, the --observation).")
    mapping = {index: card.classes.index(name) for index, name in enumerate(split.classes)}
    records = [Record(record.path, mapping[record.label], record.group) for record in split.records]
    return replace(split, classes=tuple(card.classes), records=records)


def roc_picture(metrics: dict[str, Any], predictions: Predictions, card: ModelCard, path: Path, title: str) -> Path:
    """Draw the ROC curve(s) with matplotlib's object API on an Agg canvas (no pyplot state) and save a PNG.

    Binary: one curve of ``P(classes[1])`` with the EER point when known; more classes: one-vs-rest per class.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    figure = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    classes = card.classes
    columns = [1] if len(classes) == 2 else list(range(len(classes)))
    for column in columns:
        positives = predictions.labels == column
        if positives.all() or not positives.any():
            continue
        false_positive, true_positive, _ = roc_curve(positives, predictions.probabilities[:, column])
        axes.plot(false_positive, true_positive, label=f"score P({classes[column]})" + (
            f" (AUC {metrics['roc_auc']:.3f})" if len(columns) == 1 and metrics.get("roc_auc") is not None else ""))
    if metrics.get("eer") is not None:
        positive = classes.index(metrics["eer_positive_class"])
        eer = metrics["eer"]
        # At the EER the false positive and false negative rates are equal, for either class as the positive one.
        axes.scatter([eer], [1 - eer], color="red", zorder=3,
                     label=f"EER {eer:.3f} (P({classes[positive]}) >= {metrics['eer_threshold']:.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def write_report(metrics: dict[str, Any], predictions: Predictions, card: ModelCard, directory: Path,
                 split: str) -> tuple[Path, Path | None]:
    """Write ``<name>.<split>.metrics.json`` and ``<name>.<split>.roc.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    report = directory / f"{card.name}.{split}.metrics.json"
    write_json(report, {"model": card.name, "split": split, "classes": list(card.classes), "metrics": metrics})
    picture = None
    if len(np.unique(predictions.labels)) >= 2:
        picture = roc_picture(metrics, predictions, card, directory / f"{card.name}.{split}.roc.png",
                              f"{card.name} on {split} ({metrics['samples']} samples)")
    return report, picture


def evaluate_checkpoint(checkpoint: str, data: str, *, split: str = "testing", options: dict[str, Any] | None = None,
                        batch_size: int = 32, num_workers: int = 2, device: str = "auto", amp: str = "auto",
                        cache_dir: str = "", out: Path | None = None, progress: bool = True) -> EvalResult:
    """Recompute a checkpoint's metrics on one split of a data set (single process).

    Args:
        checkpoint: a model name or ``.safetensors`` path.
        data: the data set folder.
        split: ``training``, ``validation`` or ``testing``.
        options: data option overrides (``DataOptions`` field names).
        out: report folder (default: beside the checkpoint, else the current folder).

    Raises:
        XaiscopeError subclasses (missing model or data, class mismatch...).
    """
    from xaiscope.models import load_model

    model = load_model(checkpoint)
    card = model.card
    labelled = align_classes(open_split(data, split, data_options_for(card, options or {})), card)
    chosen = choose_device(device)
    precision = Precision.choose(chosen, amp, channels_last=False)
    network = model.network.to(chosen)
    cache = TensorCache(Path(cache_dir), card.preprocessing) if cache_dir else None
    dataset = ModelInputDataset(labelled, card.preprocessing, mode="eval", cache=cache)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=collate,
                        pin_memory=chosen.type == "cuda")
    with progress_bar(progress) as bar:
        task = bar.add_task(f"{card.name} on {split}", total=len(dataset))
        predictions = predict(network, loader, card, precision, progress=bar, task=task)
    network.to("cpu")
    metrics = classification_metrics(predictions.labels, predictions.probabilities, card.classes, card.alert_class,
                                     with_eer=card.modality == "audio")
    metrics["loss"] = predictions.loss()
    metrics["unreadable"] = len(predictions.failures)
    metrics["unreadable_examples"] = [message for _, message in predictions.failures[:20]]
    metrics["skipped_while_indexing"] = labelled.report.to_dict()
    metrics["data"] = {"root": str(labelled.root), "kind": labelled.kind, "split": split, "rules": labelled.rules}
    directory = out or (model.weights_path.parent if model.weights_path is not None else Path.cwd())
    if len(predictions.labels):
        from xaiscope.trust.calibration import calibration_report

        Path(directory).mkdir(parents=True, exist_ok=True)
        metrics["calibration"] = calibration_report(predictions.probabilities, predictions.labels, card,
                                                    Path(directory), split)
    report, picture = write_report(metrics, predictions, card, Path(directory), split)
    return EvalResult(metrics=metrics, report=report, roc_picture=picture)
