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

Every name is imported on first use (:mod:`xaiscope.lazy`), so ``import xaiscope`` and the CLI's ``--help`` do not
pay for torch or the explanation libraries.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.errors import XaiscopeError
    from xaiscope.evaluation.runner import evaluate
    from xaiscope.explainers.api import explain
    from xaiscope.explainers.registry import methods
    from xaiscope.inputs import load_input
    from xaiscope.inputs.sample import AudioSample, Sample, XraySample
    from xaiscope.models.card import ModelCard
    from xaiscope.models.model import Model, Prediction
    from xaiscope.models.store import discover as list_models
    from xaiscope.models.store import import_state_dict, load_model

__version__ = "0.1.0"
__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
