"""xaiscope: see why a neural network called a recording a deepfake or a chest X-ray abnormal.

The public API::

    import xaiscope
    model = xaiscope.load_model("audio_vgg16")          # or a path to a .safetensors checkpoint
    sample = xaiscope.load_input("speech.wav")          # path or bytes; audio or X-ray
    prediction = model.predict(sample)                  # verdict, class probabilities, per-window timeline
    entries, problems = xaiscope.list_models()
"""

from xaiscope.errors import XaiscopeError
from xaiscope.inputs import AudioSample, Sample, XraySample, load_input
from xaiscope.models import Model, ModelCard, Prediction, import_state_dict, load_model
from xaiscope.models import discover as list_models

__version__ = "0.1.0"

__all__ = [
    "AudioSample", "Model", "ModelCard", "Prediction", "Sample", "XaiscopeError", "XraySample", "__version__",
    "import_state_dict", "list_models", "load_input", "load_model",
]
