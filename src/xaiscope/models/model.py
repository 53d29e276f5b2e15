"""A loaded model: network + card, and the predictions it makes.

Every consumer (predictions, explainers, evaluation) sees a classifier through :meth:`Model.class_logits`,
which always returns one column per class. A single-logit binary network ``z`` is viewed as the two logits
``[-z/2, z/2]``: their softmax is ``[1 - sigmoid(z), sigmoid(z)]``, so "class k" means the same thing for every
method and library. (The symmetric view is used rather than ``[0, z]`` because a constant logit has no
gradient: with ``[0, z]`` every gradient method and Grad-CAM would return an empty map for class 0, e.g.
``fake`` for the earlier tool's audio models. With ``[-z/2, z/2]`` explaining class 0 gives the mirror image of
explaining class 1, as it should.)

A multi-label network (one sigmoid per label, labels not exclusive) is viewed as ``z / 2``: column k is the
"present" logit of label k's own two-logit view ``[-z_k/2, z_k/2]``. "Explain label k" therefore means for every
method exactly what "explain class 1" means for a single-logit model with logit ``z_k`` (evidence for the label
being present rather than absent), and its probability is ``sigmoid(z_k)``, not renormalised over the labels.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xaiscope.caching import LruCache
from xaiscope.errors import ModalityMismatchError
from xaiscope.inputs.sample import Sample
from xaiscope.models.card import InputKind, ModelCard, OutputKind
from xaiscope.models.precision import PrecisionPolicy, autocast, network_device, resolve_precision
from xaiscope.plugins import ProgressCallback
from xaiscope.preprocessing.pipeline import ModelInput, Window, count_windows, iter_model_inputs, remember_window_input
from xaiscope.preprocessing.spec import AudioSpec, FeaturesSpec, WaveformSpec


class TwoLogitView(nn.Module):
    """Wraps a single-logit binary network: ``(N, 1)`` logits become ``(N, 2)`` logits ``[-z/2, z/2]``."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` model input -> ``(N, 2)``."""
        half = self.network(inputs) / 2
        return torch.cat([-half, half], dim=1)


class MultiLabelView(nn.Module):
    """Wraps a multi-label network: ``(N, L)`` logits ``z`` become ``z / 2``, label k's "present" logit of its
    two-logit view ``[-z_k/2, z_k/2]`` (see the module docstring)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` model input -> ``(N, L)``."""
        return self.network(inputs) / 2


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
        label: the predicted class (for a multi-label model, the most probable label).
        probabilities: class name -> probability of the combined verdict, in the card's class order (for a
            multi-label model each label's own sigmoid: they do not sum to 1).
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
        precision: the precision the forward passes ran in (``fp32``, ``bf16``, ``fp16``; see
            :mod:`xaiscope.models.precision`).
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
    output_kind: str = "softmax"
    precision: str = "fp32"

    @property
    def present_labels(self) -> list[str]:
        """A multi-label verdict's labels with probability at least 0.5 (empty for other models)."""
        if self.output_kind != "multi-label":
            return []
        return [name for name, probability in self.probabilities.items() if probability >= 0.5]

    @property
    def confidence(self) -> float:
        """Probability of the predicted class."""
        return self.probabilities[self.label]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (window probabilities rounded to 6 decimals)."""
        data = asdict(self)
        for window in data["windows"]:
            window["probabilities"] = {name: round(value, 6) for name, value in window["probabilities"].items()}
        return data


@dataclass(frozen=True)
class CombinedWindows:
    """How a recording's window probabilities became one verdict.

    Attributes:
        probabilities: ``(n_classes,)`` the verdict's probabilities.
        decisive_window: the window the verdict came from under ``max`` aggregation, else None.
        how: the rule, in words.
    """

    probabilities: torch.Tensor
    decisive_window: int | None
    how: str


def combine_windows(window_probabilities: torch.Tensor, card: ModelCard) -> CombinedWindows:
    """The one rule turning window probabilities ``(W, n_classes)`` into a verdict, for inference and training.

    A single row is the verdict as it is. With the card's ``max`` aggregation the verdict is the window with the
    highest probability of the card's alert class (one fake stretch in a long genuine recording is not averaged
    away); with ``mean`` it is the average of the windows.
    """
    count = len(window_probabilities)
    if count == 1:
        return CombinedWindows(window_probabilities[0], None,
                               "single input" if card.modality == "xray" else "one window")
    spec = card.preprocessing
    if isinstance(spec, AudioSpec | WaveformSpec | FeaturesSpec) and spec.aggregation == "max":
        alert = card.classes.index(card.alert_class)
        decisive = int(torch.argmax(window_probabilities[:, alert]))
        return CombinedWindows(window_probabilities[decisive], decisive,
                               f"the most suspicious of {count} windows: highest P({card.alert_class}), "
                               f"window {decisive}")
    return CombinedWindows(window_probabilities.mean(dim=0), None, f"mean of {count} windows' probabilities")


class Model:
    """A classifier and its card: the base every model source implements.

    Everything downstream (predictions, explainers, metrics, views, the app) uses a model only through this class:
    its card, :attr:`input_kind`, :attr:`output_kind`, :attr:`class_view` (one logit per class) and
    :meth:`probabilities`. A new source (another library, a black box) provides the same.

    A model is shared by every thread of a server. Every forward pass runs under :attr:`lock` (re-entrant):
    :meth:`probabilities` and :meth:`predict` take it per batch, explainers and metrics hold it while their hooks
    are attached, so no forward pass ever runs through another caller's hooks.

    Attributes:
        card: the model card.
        network: the torch module, model input (see :attr:`input_kind`) -> ``(N, card.num_outputs)`` logits,
            eval mode, CPU. A black-box source (ONNX) wraps its runtime in a module without gradients.
        weights_path: where the weights were read from.
        lock: held around every forward pass and while hooks are attached or module flags are changed.

    Forward passes run under the model's precision policy (:attr:`precision_policy`; ``fp32`` unless
    :meth:`set_precision` or the ``precision`` argument says otherwise; the CLI and the app pass ``auto``).
    """

    def __init__(self, card: ModelCard, network: nn.Module, weights_path: Path | None = None, *,
                 precision: str = "fp32") -> None:
        self.card = card
        self.network = network.eval()
        self.weights_path = weights_path
        self._policy = PrecisionPolicy()
        #: Per thread: the policy an explainer pinned for the forward passes it makes (see :meth:`forward_precision`).
        self._pinned = threading.local()
        #: Held around every forward pass (``probabilities``, hence ``predict``) and by anything that attaches hooks
        #: or changes module flags (explainers, evaluation), so that on a model shared between app sessions no
        #: forward pass runs through another session's hooks and no hook sees another session's input.
        self.lock = threading.RLock()
        self._class_view: nn.Module = (TwoLogitView(self.network) if card.output_kind == "single-logit"
                                       else MultiLabelView(self.network) if card.output_kind == "multi-label"
                                       else self.network)
        #: Verdicts by input content (SHA-256): a second ``predict`` of the same input, e.g. by ``explain()``
        #: after the app or the CLI showed the verdict, costs no forward pass.
        self._predictions: LruCache[Prediction] = LruCache(capacity=32)
        if precision != "fp32":
            self.set_precision(precision)

    def __repr__(self) -> str:
        return f"Model({self.card.name!r}, {self.card.architecture}, classes={list(self.card.classes)})"

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def precision_policy(self) -> PrecisionPolicy:
        """How this model's forward passes run (precision, device, channels_last)."""
        return self._policy

    @property
    def precision(self) -> str:
        """The precision forward passes run in: ``fp32``, ``bf16`` or ``fp16``."""
        return self._policy.precision

    def set_precision(self, requested: str) -> PrecisionPolicy:
        """Run forward passes at ``requested`` (``auto``, ``fp32``, ``bf16``, ``fp16``) from now on.

        A picture network is switched to channels_last memory order for a reduced precision (and back for fp32);
        weights keep their values and dtype. The model is shared by every thread, so this changes the precision for
        every user of the model; records state which precision each result used.

        Raises:
            PrecisionError: an unknown name, or fp16 on a CPU.
        """
        import torch

        policy = resolve_precision(requested, network_device(self.network),
                                   picture_input=self.input_kind in ("picture", "xray-gray"))
        if not self.differentiable:  # a black box (ONNX) runs in its own runtime's precision
            policy = PrecisionPolicy(requested=policy.requested, reason="fp32: a black-box runtime sets its own")
        with self.lock:
            if policy.channels_last != self._policy.channels_last:
                layout = torch.channels_last if policy.channels_last else torch.contiguous_format
                for module in self.network.modules():  # 4-D weights only: to(memory_format) skips the rest
                    for parameter in module.parameters(recurse=False):
                        if parameter.dim() == 4:
                            parameter.data = parameter.data.contiguous(memory_format=layout)
            self._policy = policy
        return policy

    @contextlib.contextmanager
    def forward_precision(self, reduced_ok: bool = True) -> Iterator[PrecisionPolicy]:
        """The forward passes this thread makes inside run under the model's policy, or at fp32 when
        ``reduced_ok`` is False (a method whose maps were not measured faithful enough at reduced precision).

        Yields the policy actually used, for the record.
        """
        policy = self._policy if reduced_ok or not self._policy.reduced else PrecisionPolicy(
            device=self._policy.device, requested=self._policy.requested,
            reason=f"fp32: this method is not declared faithful at {self._policy.precision}")
        previous = getattr(self._pinned, "policy", None)
        self._pinned.policy = policy
        try:
            with autocast(policy):
                yield policy
        finally:
            self._pinned.policy = previous

    def _active_policy(self) -> PrecisionPolicy:
        pinned: PrecisionPolicy | None = getattr(self._pinned, "policy", None)
        return pinned if pinned is not None else self._policy

    def prepare_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` model input on the network's device; ``(N, C, H, W)`` pictures in channels_last order when
        the policy uses it. Values never change."""
        if inputs.device.type != self._policy.device:
            inputs = inputs.to(self._policy.device)
        if inputs.dim() == 4 and self._policy.channels_last:
            return inputs.contiguous(memory_format=torch.channels_last)
        return inputs

    @property
    def classes(self) -> tuple[str, ...]:
        return self.card.classes

    @property
    def input_kind(self) -> InputKind:
        """What the network takes (see :data:`~xaiscope.models.card.InputKind`)."""
        return self.card.input_kind

    @property
    def output_kind(self) -> OutputKind:
        """What the network returns (``single-logit``: sigmoid = P(classes[1]); ``softmax``: one logit per class;
        ``multi-label``: one sigmoid per label)."""
        return self.card.output_kind

    @property
    def differentiable(self) -> bool:
        """True when gradients flow through the model (a PyTorch network); gradient and CAM methods need it."""
        return True

    @property
    def black_box_reason(self) -> str:
        """Why gradient-based methods cannot run, in words (empty for a differentiable model)."""
        return ""

    @property
    def class_view(self) -> nn.Module:
        """The network seen with one logit per class (the two-logit view for single-logit models, ``z / 2`` for
        multi-label ones)."""
        return self._class_view

    def class_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` model input -> ``(N, n_classes)`` logits (gradients flow; no ``no_grad`` here)."""
        return self._class_view(inputs)

    def scores_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``(N, n_classes)`` class-view logits -> probabilities: softmax over classes (rows sum to 1), or for a
        multi-label model each label's own ``sigmoid(z_k) = sigmoid(2 * view_k)``."""
        if self.output_kind == "multi-label":
            return torch.sigmoid(2 * logits.float())
        return torch.softmax(logits.float(), dim=1)

    def probabilities(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` model input -> ``(N, n_classes)`` probabilities (see :meth:`scores_from_logits`), under
        :attr:`lock`."""
        policy = self._active_policy()
        with self.lock, torch.inference_mode(), autocast(policy):
            return self.scores_from_logits(self.class_logits(self.prepare_inputs(inputs))).cpu()

    def calibrated(self, probabilities: torch.Tensor) -> torch.Tensor:
        """``(N, n_classes)`` probabilities at the card's fitted temperature (unchanged when it has none).

        Verdicts are reported calibrated (see :mod:`xaiscope.trust`); explanations quote the same numbers.
        """
        temperature = (self.card.calibration or {}).get("temperature")
        if not temperature or self.output_kind == "multi-label":  # independent sigmoids: no softmax temperature
            return probabilities
        from xaiscope.trust.calibration import apply_temperature

        return torch.from_numpy(apply_temperature(probabilities.double().numpy(), float(temperature))).float()

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

        spec = self.card.preprocessing
        total = count_windows(sample, spec)
        precision = self._active_policy().precision
        known = self._predictions.get(f"{sample.sha256}:{precision}")
        if known is not None:
            if progress is not None:
                progress(total, total)
            return known
        started = time.perf_counter()
        checks = trust.check_input(sample, self.card)
        rows: list[torch.Tensor] = []
        windows: list[Window] = []
        alert = self.classes.index(self.card.alert_class)
        most_alarming: tuple[float, ModelInput] | None = None  # the input of the likely decisive window
        with trust.watch(self) as embeddings:
            for batch in iter_model_inputs(sample, spec, batch_size=batch_size):
                batch_probabilities = self.probabilities(batch.tensor)
                rows.append(batch_probabilities)
                windows.extend(batch.windows)
                row = int(torch.argmax(batch_probabilities[:, alert]))
                if most_alarming is None or float(batch_probabilities[row, alert]) > most_alarming[0]:
                    most_alarming = (float(batch_probabilities[row, alert]),
                                     ModelInput(batch.tensor[row:row + 1], batch.windows[row:row + 1]))
                if progress is not None:
                    progress(len(windows) or 1, total)
        window_probabilities = torch.cat(rows)
        combined = combine_windows(window_probabilities, self.card)
        if most_alarming is not None:
            index = most_alarming[1].windows[0].index if most_alarming[1].windows else 0
            if index == (combined.decisive_window if combined.decisive_window is not None else 0):
                remember_window_input(sample, spec, most_alarming[1])
        assessment = trust.assess(self, checks, window_probabilities, combined.probabilities, combined.decisive_window,
                                  embeddings)
        probabilities = {name: float(value) for name, value in zip(self.classes, assessment.probabilities,
                                                                     strict=True)}
        window_predictions = [
            WindowPrediction(w.index, w.start_s, w.end_s,
                             {name: float(v) for name, v in zip(self.classes, row, strict=True)})
            for w, row in zip(windows, assessment.window_probabilities, strict=True)
        ] if windows else []
        prediction = Prediction(
            label=max(probabilities, key=probabilities.__getitem__),
            probabilities=probabilities,
            windows=window_predictions,
            combined_by=combined.how,
            decisive_window=combined.decisive_window,
            model=self.name,
            input=sample.describe(),
            seconds=round(time.perf_counter() - started, 4),
            warnings=assessment.warnings,
            checks=[check.to_dict() for check in assessment.checks],
            familiarity=assessment.familiarity,
            calibrated=assessment.calibrated,
            output_kind=self.output_kind,
            precision=precision,
        )
        self._predictions.put(f"{sample.sha256}:{precision}", prediction)
        return prediction

    def window_probabilities(self, prediction: Prediction, window: int) -> dict[str, float] | None:
        """Class probabilities of one window as ``prediction`` (of this model) computed them, or None."""
        if prediction.model != self.name:
            return None
        if not prediction.windows:
            return dict(prediction.probabilities) if window == 0 else None
        return next((dict(w.probabilities) for w in prediction.windows if w.index == window), None)

    def known_prediction(self, sample: Sample) -> Prediction | None:
        """The verdict already computed for this content at the current precision, if any (no forward pass)."""
        return self._predictions.get(f"{sample.sha256}:{self._active_policy().precision}")
