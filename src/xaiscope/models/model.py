"""A loaded model: network + card, and the predictions it makes.

Every consumer (predictions, explainers, evaluation) sees a classifier through :meth:`Model.class_logits`,
which always returns one column per class. A single-logit binary network ``z`` is viewed as the two logits
``[-z/2, z/2]``: their softmax is ``[1 - sigmoid(z), sigmoid(z)]``, so "class k" means the same thing for every
method and library. (The symmetric view is used rather than ``[0, z]`` because a constant logit has no
gradient: with ``[0, z]`` every gradient method and Grad-CAM would return an empty map for class 0, e.g.
``fake`` for the earlier tool's audio models. With ``[-z/2, z/2]`` explaining class 0 gives the mirror image of
explaining class 1, as it should.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xaiscope.errors import ModalityMismatchError
from xaiscope.inputs import Sample
from xaiscope.models.card import ModelCard
from xaiscope.preprocessing import count_windows, iter_model_inputs

ProgressCallback = Callable[[int, int], None]


class TwoLogitView(nn.Module):
    """Wraps a single-logit binary network: ``(N, 1)`` logits become ``(N, 2)`` logits ``[-z/2, z/2]``."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` -> ``(N, 2)``."""
        half = self.network(inputs) / 2
        return torch.cat([-half, half], dim=1)


@dataclass(frozen=True)
class WindowPrediction:
    """Class probabilities of one analysis window of a recording."""

    index: int
    start_s: float
    end_s: float
    probabilities: dict[str, float]


@dataclass(frozen=True)
class Prediction:
    """The verdict on one input.

    Attributes:
        label: the predicted class.
        probabilities: class name -> probability of the combined verdict, in the card's class order.
        windows: per-window probabilities for a recording (one window for a short one); empty for an X-ray.
        combined_by: how the windows were combined into ``probabilities``, in words.
        decisive_window: index of the window the verdict came from under ``max`` aggregation, else None.
        model: the model's name.
        input: the sample's description (name, format, metadata).
        seconds: wall time of preprocessing and inference.
        warnings: every sentence a person must read with this verdict (input checks that failed, familiarity);
            empty when nothing is wrong. A flagged input still gets its verdict.
        checks: the cheap input checks (``xaiscope.trust``), each ``{name, status, value, expected, message}``.
        familiarity: how familiar the input is to the model (``status``: ``familiar`` / ``unusual`` /
            ``unlike the training data`` / ``not assessed``, with the score, thresholds and method).
        calibrated: None for raw probabilities; else the temperature used and the ``uncalibrated`` ones.
    """

    label: str
    probabilities: dict[str, float]
    windows: list[WindowPrediction] = field(default_factory=list)
    combined_by: str = ""
    decisive_window: int | None = None
    model: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    familiarity: dict[str, Any] = field(default_factory=dict)
    calibrated: dict[str, Any] | None = None

    @property
    def confidence(self) -> float:
        """Probability of the predicted class."""
        return self.probabilities[self.label]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class Model:
    """A network in eval mode with its card.

    Attributes:
        card: the model card.
        network: the torch module, ``(N, 3, S, S)`` -> ``(N, card.num_outputs)`` logits, eval mode, CPU.
        weights_path: where the weights were read from.
    """

    def __init__(self, card: ModelCard, network: nn.Module, weights_path: Path | None = None) -> None:
        self.card = card
        self.network = network.eval()
        self.weights_path = weights_path
        #: Held by anything that attaches hooks or changes module flags (explainers), so that a model shared
        #: between app sessions is never hooked by two explanations at once.
        self.lock = threading.RLock()
        self._class_view = TwoLogitView(self.network) if card.num_outputs == 1 else self.network

    def __repr__(self) -> str:
        return f"Model({self.card.name!r}, {self.card.architecture}, classes={list(self.card.classes)})"

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def classes(self) -> tuple[str, ...]:
        return self.card.classes

    @property
    def class_view(self) -> nn.Module:
        """The network seen with one logit per class (the two-logit view for single-logit models)."""
        return self._class_view

    def class_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, 3, S, S)`` -> ``(N, n_classes)`` logits (gradients flow; no ``no_grad`` here)."""
        return self._class_view(inputs)

    @torch.inference_mode()
    def probabilities(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, 3, S, S)`` -> ``(N, n_classes)`` softmax probabilities, rows summing to 1."""
        return torch.softmax(self.class_logits(inputs).float(), dim=1)

    def predict(self, sample: Sample, *, batch_size: int = 16, progress: ProgressCallback | None = None,
                ) -> Prediction:
        """Classify one sample; a long recording is scanned window by window (see the card's spec).

        Args:
            sample: an input of the card's modality.
            batch_size: windows per forward pass.
            progress: called as ``progress(done_windows, total_windows)``.

        Raises:
            ModalityMismatchError: the sample is of the other modality.
        """
        if sample.modality != self.card.modality:
            raise ModalityMismatchError(
                f"'{sample.name}' is {'a recording' if sample.modality == 'audio' else 'an X-ray'}, but model "
                f"'{self.name}' classifies {'recordings' if self.card.modality == 'audio' else 'X-rays'}.",
                "Choose a model of the right modality (`xaiscope models`).")
        from xaiscope import trust

        started = time.perf_counter()
        spec = self.card.preprocessing
        checks = trust.check_input(sample, self.card)
        total = count_windows(sample, spec)
        rows: list[torch.Tensor] = []
        windows = []
        with trust.watch(self) as embeddings:
            for batch in iter_model_inputs(sample, spec, batch_size=batch_size):
                rows.append(self.probabilities(batch.tensor))
                windows.extend(batch.windows)
                if progress is not None:
                    progress(min(sum(len(r) for r in rows), total), total)
        window_probabilities = torch.cat(rows)
        combined, decisive, combined_by = self._combine(window_probabilities)
        assessment = trust.assess(self, checks, window_probabilities, combined, decisive, embeddings)
        probabilities = {name: float(value) for name, value in zip(self.classes, assessment.probabilities,
                                                                     strict=True)}
        window_predictions = [
            WindowPrediction(w.index, w.start_s, w.end_s,
                             {name: round(float(v), 6) for name, v in zip(self.classes, row, strict=True)})
            for w, row in zip(windows, assessment.window_probabilities, strict=True)
        ] if windows else []
        return Prediction(
            label=max(probabilities, key=probabilities.__getitem__),
            probabilities=probabilities,
            windows=window_predictions,
            combined_by=combined_by,
            decisive_window=decisive,
            model=self.name,
            input=sample.describe(),
            seconds=round(time.perf_counter() - started, 4),
            warnings=assessment.warnings,
            checks=[check.to_dict() for check in assessment.checks],
            familiarity=assessment.familiarity,
            calibrated=assessment.calibrated,
        )

    def _combine(self, window_probabilities: torch.Tensor) -> tuple[torch.Tensor, int | None, str]:
        """``(W, n_classes)`` -> combined ``(n_classes,)``, the decisive window, and a sentence saying how."""
        count = len(window_probabilities)
        if count == 1:
            return window_probabilities[0], None, "single input" if self.card.modality == "xray" else "one window"
        spec = self.card.preprocessing
        if getattr(spec, "aggregation", "mean") == "max":
            alert = self.classes.index(self.card.alert_class)
            decisive = int(torch.argmax(window_probabilities[:, alert]))
            return (window_probabilities[decisive], decisive,
                    f"the most suspicious of {count} windows: highest P({self.card.alert_class}), "
                    f"window {decisive}")
        return window_probabilities.mean(dim=0), None, f"mean of {count} windows' probabilities"
