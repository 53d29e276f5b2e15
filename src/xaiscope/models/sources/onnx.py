"""ONNX models: an ``.onnx`` file plus a card, run by onnxruntime as a black box.

The network is wrapped in a module without gradients (:class:`OnnxNetwork`), so only methods that merely call the
model (occlusion, LIME, SHAP) apply; gradient and CAM methods say why they do not. The file's input shape is checked
against the card's preprocessing when the model is imported and loaded.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xaiscope.errors import WeightsMismatchError
from xaiscope.models.card import ModelCard
from xaiscope.models.model import Model
from xaiscope.models.sources.common import require
from xaiscope.preprocessing.codec import input_shape
from xaiscope.preprocessing.spec import PreprocessingSpec, spec_input_kind


class OnnxNetwork(nn.Module):
    """An onnxruntime session as a module: ``(N, ...)`` float32 model input -> ``(N, num_outputs)`` logits.

    No gradient flows through it (the output is a new leaf tensor). Sessions run one call at a time per model
    (the model's lock), on the CPU.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        onnxruntime = require("onnxruntime", "ONNX models")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                        providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable graphs
            from xaiscope.errors import NotACheckpointError

            raise NotACheckpointError(f"'{path.name}' is not a readable ONNX model ({str(error)[:200]}).",
                                      "Export the model again with torch.onnx.export or your framework's exporter.") \
                from error
        first = self.session.get_inputs()[0]
        self.input_name: str = first.name
        self.input_dims: list[Any] = list(first.shape)
        self.output_name: str = self.session.get_outputs()[0].name

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` -> ``(N, num_outputs)`` float32 logits (a batch the graph fixes at 1 is run row by row)."""
        array = inputs.detach().cpu().float().numpy()
        fixed_batch = self.input_dims and isinstance(self.input_dims[0], int) and self.input_dims[0] == 1
        rows = [array[i:i + 1] for i in range(len(array))] if fixed_batch and len(array) > 1 else [array]
        try:
            outputs = [np.asarray(self.session.run([self.output_name], {self.input_name: row})[0]) for row in rows]
        except Exception as error:  # onnxruntime's own exception types (invalid argument, shape mismatch...)
            shown = ["N" if not isinstance(d, int) else str(d) for d in self.input_dims]
            raise WeightsMismatchError(
                f"The ONNX model takes input '{self.input_name}' of shape ({', '.join(shown)}) and refused an input "
                f"of shape {tuple(array.shape)} ({str(error).splitlines()[0][:200]}).",
                "Give a card whose preprocessing (input kind, image size or window length) matches the graph's "
                "input.") from error
        result = np.concatenate(outputs).reshape(len(array), -1).astype(np.float32)
        return torch.from_numpy(result)


def check_fits(network: OnnxNetwork, card: ModelCard, source: str) -> None:
    """Refuse an ONNX graph whose input shape does not fit the card's preprocessing, or whose output count differs.

    Raises:
        WeightsMismatchError: names both shapes, or both output counts.
    """
    outputs = output_count(network, card.preprocessing, f"'{source}'")
    if outputs != card.num_outputs:
        raise WeightsMismatchError(f"The ONNX model '{source}' returns {outputs} outputs; its card expects "
                                   f"{card.num_outputs} ({', '.join(card.classes)}).",
                                   "Give the classes in the model's output order.")


def output_count(network: OnnxNetwork, spec: PreprocessingSpec, source: str = "") -> int:
    """How many logits the graph returns for one input row of ``spec``'s shape (one run on zeros).

    Raises:
        WeightsMismatchError: the graph's input shape does not fit the spec's (both shapes named).
    """
    expected = input_shape(spec)
    dims = network.input_dims
    fits = len(dims) == len(expected) + 1 and all(
        not isinstance(dim, int) or dim <= 0 or dim == size for dim, size in zip(dims[1:], expected, strict=True))
    if not fits:
        shown = ["N" if not isinstance(d, int) else str(d) for d in dims]
        raise WeightsMismatchError(
            f"The ONNX model {source + ' ' if source else ''}takes input '{network.input_name}' of shape "
            f"({', '.join(shown)}), but the card's {spec_input_kind(spec)} preprocessing makes "
            f"(N, {', '.join(str(s) for s in expected)}).",
            "Give a card whose preprocessing (input kind, image size or window length) matches the graph's input.")
    return int(network(torch.zeros(1, *expected)).shape[-1])


class OnnxModel(Model):
    """A model run by onnxruntime: a black box (no gradients)."""

    @property
    def differentiable(self) -> bool:
        return False

    @property
    def black_box_reason(self) -> str:
        return f"{self.name} is an ONNX model, which runs as a black box: gradient and CAM methods need PyTorch"


def load(card: ModelCard, path: Path) -> Model:
    """Open the ONNX file under ``card`` (its input shape checked against the card)."""
    network = OnnxNetwork(path)
    check_fits(network, card, path.name)
    return OnnxModel(card, network, path)


def import_onnx(path: Path, card: ModelCard, output_dir: Path) -> Path:
    """Check an ONNX file against ``card`` and copy both into ``output_dir`` as ``<name>.onnx`` + ``<name>.json``.

    Returns:
        The copied ``.onnx`` path.
    """
    card = card.with_updates(source="onnx", architecture="onnx")
    load(card, path)
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{card.name}.onnx"
    if target.resolve() != path.resolve():
        shutil.copy2(path, target)
    card.save(target.with_suffix(".json"))
    return target
