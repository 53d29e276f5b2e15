"""Familiarity at several depths of a MobileNetV2 model: which layer and distance separate held-out data from probes.

    .venv/bin/python benchmarks/familiarity_layers.py demo_audio_mobilenet_v2 build/demo/audio

Each layer's output is average-pooled over space (the head's input is taken as it is); the reference is a seeded
subset of the training split, thresholds are the 95th / 99.5th percentiles of the validation split, and a recording
is scored by its decisive window, as ``predict`` does. Prints, per layer and distance, the share of the testing
split called familiar and unlike the training data, and the probes (``xaiscope.trust.probes``) flagged.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from xaiscope.data import open_split
from xaiscope.inputs import load_input
from xaiscope.models import load_model
from xaiscope.preprocessing import iter_model_inputs
from xaiscope.trust.familiarity import METHODS, Reference, status_of, thresholds_at
from xaiscope.trust.probes import probes_for

LAYERS = ("features.4", "features.7", "features.11", "features.14", "features.17", "classifier.1")


def features(model, sample, layers):
    """``{layer: (W, D)}`` pooled features of every window, and the decisive window."""
    got: dict[str, torch.Tensor] = {}
    handles = []
    for layer in layers:
        module = model.network.get_submodule(layer)
        if layer == layers[-1]:
            handles.append(module.register_forward_pre_hook(
                lambda _m, args, layer=layer: got.__setitem__(layer, args[0].detach().flatten(1))))
        else:
            handles.append(module.register_forward_hook(
                lambda _m, _a, output, layer=layer: got.__setitem__(layer, output.detach().mean(dim=(2, 3)))))
    rows: dict[str, list[torch.Tensor]] = {layer: [] for layer in layers}
    probabilities = []
    try:
        for batch in iter_model_inputs(sample, model.card.preprocessing):
            probabilities.append(model.probabilities(batch.tensor))
            for layer in layers:
                rows[layer].append(got[layer])
    finally:
        for handle in handles:
            handle.remove()
    stacked = torch.cat(probabilities).numpy()
    alert = model.card.classes.index(model.card.alert_class)
    decisive = int(np.argmax(stacked[:, alert])) if len(stacked) > 1 else 0
    return {layer: torch.cat(rows[layer]).numpy() for layer in layers}, decisive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--training", type=int, default=200)
    parser.add_argument("--testing", type=int, default=120)
    parser.add_argument("--layers", default=",".join(LAYERS))
    args = parser.parse_args()
    model = load_model(args.model)
    layers = tuple(args.layers.split(","))
    rng = np.random.default_rng(0)

    def records(split: str, limit: int):
        found = open_split(args.data, split).records
        return [found[i] for i in sorted(rng.choice(len(found), min(limit, len(found)), replace=False))]

    training = [features(model, load_input(r.path), layers) for r in records("training", args.training)]
    validation_records = records("validation", 10**6)
    validation = [features(model, load_input(r.path), layers) for r in validation_records]
    testing = [features(model, load_input(r.path), layers) for r in records("testing", args.testing)]
    speech = next((load_input(r.path) for r in validation_records
                   if model.card.classes[r.label] != model.card.alert_class), None)
    probes = probes_for(model.card.modality, speech)
    probe_features = [features(model, probe, layers) for probe in probes]
    for layer in layers:
        stacked = np.concatenate([f[layer] for f, _ in training])
        reference = Reference.from_features(stacked, np.zeros(len(stacked), int))
        for method in METHODS:
            def scores(group, layer=layer, method=method, reference=reference):
                return np.array([reference.scores(f[layer], method)[d] for f, d in group])

            limits = thresholds_at(scores(validation))
            test = scores(testing)
            flagged = [p.name for p, s in zip(probes, scores(probe_features), strict=True)
                       if status_of(s, limits) != "familiar"]
            print(f"{layer:14} {method:12} testing familiar {np.mean(test <= limits['unusual']):.3f} "
                  f"unlike {np.mean(test > limits['unlike']):.3f}  probes flagged {flagged}", flush=True)


if __name__ == "__main__":
    main()
