"""Models: architectures by name, model cards, checkpoints and the store that finds and loads them."""

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

__all__ = [
    "SEED_KEYS", "Model", "ModelCard", "ModelEntry", "Prediction", "TwoLogitView", "WindowPrediction",
    "build_network", "canonical_architecture", "classification_architectures", "discover", "find_model",
    "import_state_dict", "load_default_model", "load_model", "save_checkpoint", "search_dirs", "seed_card",
]
