"""Networks of the architecture registry (:mod:`xaiscope.models.architectures`: torchvision classifiers and xaiscope's
waveform networks): ``<name>.safetensors`` (or the earlier tool's ``.pt``) with a card naming the builder; a waveform
network's size is the card's ``source_options["network"]``."""

from __future__ import annotations

import itertools
from pathlib import Path

import torch

from xaiscope.models.architectures import build_network
from xaiscope.models.card import ModelCard
from xaiscope.models.checkpoint import fit_state_dict, read_state_dict
from xaiscope.models.model import Model


def load(card: ModelCard, weights: Path) -> Model:
    """Build the network without allocating or initialising weights, then adopt the file's tensors.

    The skeleton is made on the ``meta`` device and the state_dict's tensors are assigned into it, so a large
    network (VGG16: 528 MB) is held once, not twice, and no time goes into random initialisation. Weights are
    cast to float32. Should an architecture keep tensors outside its state_dict (non-persistent buffers), it is
    rebuilt normally.
    """
    state = {key: value.float() if value.is_floating_point() else value
             for key, value in read_state_dict(weights).items()}
    options = card.source_options.get("network")
    with torch.device("meta"):
        network = build_network(card.architecture, card.num_outputs, options)
    fit_state_dict(network, state, source=weights.name, architecture=card.architecture, assign=True)
    if any(tensor.is_meta for tensor in itertools.chain(network.parameters(), network.buffers())):
        network = build_network(card.architecture, card.num_outputs, options)
        fit_state_dict(network, state, source=weights.name, architecture=card.architecture)
    return Model(card, network, weights)
