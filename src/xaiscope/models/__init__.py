"""Models: architectures by name, model cards, checkpoints and the store that finds and loads them.

Names are imported on first use (:mod:`xaiscope.lazy`): reading cards does not import torch.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.models.architectures import build_network, canonical_architecture, classification_architectures
    from xaiscope.models.card import ModelCard
    from xaiscope.models.model import Model, Prediction, TwoLogitView, WindowPrediction
    from xaiscope.models.seed import SEED_KEYS, seed_card
    from xaiscope.models.store import (
        ModelEntry,
        discover,
        find_model,
        import_state_dict,
        load_default_model,
        load_model,
        save_checkpoint,
        search_dirs,
    )

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
