"""Model sources: adapters that turn torchvision, timm, Hugging Face, torchxrayvision and ONNX models into the same
:class:`~xaiscope.models.model.Model` (see :mod:`xaiscope.models.sources.loading`). Names are imported on first use
(:mod:`xaiscope.lazy`)."""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.models.sources.common import EXTRAS, MissingExtraError
    from xaiscope.models.sources.loading import build_model, import_model

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
