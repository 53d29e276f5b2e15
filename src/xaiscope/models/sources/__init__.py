"""Model sources: adapters that turn torchvision, timm, Hugging Face, torchxrayvision and ONNX models into the same
:class:`~xaiscope.models.model.Model` (see :mod:`xaiscope.models.sources.loading`)."""

from xaiscope.models.sources.common import EXTRAS, MissingExtraError
from xaiscope.models.sources.loading import build_model, import_model

__all__ = ["EXTRAS", "MissingExtraError", "build_model", "import_model"]
