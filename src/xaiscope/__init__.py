"""xaiscope: see why a neural network called a recording a deepfake or a chest X-ray abnormal.

The public API::

    import xaiscope
    model = xaiscope.load_model("audio_vgg16")          # or a path to a .safetensors checkpoint
    sample = xaiscope.load_input("speech.wav")          # path or bytes; audio or X-ray
    prediction = model.predict(sample)                  # verdict, class probabilities, per-window timeline
    explanation = xaiscope.explain(model, sample, "gradcam")
    choices = xaiscope.methods(model=model)             # which methods suit this model, and why not
    results = xaiscope.evaluate(model, [sample], ["gradcam"], ["deletion"])
    entries, problems = xaiscope.list_models()

``explain``, ``methods`` and ``evaluate`` are imported on first use, so that ``import xaiscope`` (and every
CLI command) does not pay for the explanation libraries it does not need.
"""

from typing import Any

from xaiscope.errors import XaiscopeError
from xaiscope.inputs import AudioSample, Sample, XraySample, load_input
from xaiscope.models import Model, ModelCard, Prediction, import_state_dict, load_model
from xaiscope.models import discover as list_models

__version__ = "0.1.0"

__all__ = [
    "AudioSample", "Model", "ModelCard", "Prediction", "Sample", "XaiscopeError", "XraySample", "__version__",
    "evaluate", "explain", "import_state_dict", "list_models", "load_input", "load_model", "methods",
]

_LAZY = {"explain": "xaiscope.explainers", "methods": "xaiscope.explainers", "evaluate": "xaiscope.evaluation"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xaiscope' has no attribute {name!r}")
