"""Training and evaluation: config, loop, metrics, checkpoints and resumption, data-parallel launch.

::

    from xaiscope.training import load_config, train
    result = train(load_config(Path("run.toml"), {"epochs": 5}))
    print(result.checkpoint, result.test_metrics)

Run data-parallel with ``torchrun --nproc_per_node N -m xaiscope train run.toml`` (README, Training).
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.training.config import TrainConfig, build_spec, load_config, make_config
    from xaiscope.training.evaluate import EvalResult, evaluate_checkpoint
    from xaiscope.training.metrics import classification_metrics, equal_error_rate
    from xaiscope.training.trainer import TrainResult, train

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
