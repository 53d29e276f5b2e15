"""Fixtures of the evaluation tests: a small CNN trained in seconds on a task with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xaiscope.inputs import XraySample
from xaiscope.models import Model, ModelCard
from xaiscope.preprocessing import XraySpec

SIZE = 64
#: Where the deciding blob sits for each class (row, column of its centre in the 64 x 64 input).
BLOB_CENTRES = ((16, 16), (48, 48))


def blob_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(count, SIZE, SIZE)`` float images in [0, 1] (noise + a bright blob) and their ``(count,)`` labels:
    the class is where the blob is (top-left = 0, bottom-right = 1)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    labels = rng.integers(0, 2, count)
    images = 0.3 * rng.random((count, SIZE, SIZE))
    for index, label in enumerate(labels):
        row, col = BLOB_CENTRES[label]
        row, col = row + rng.integers(-4, 5), col + rng.integers(-4, 5)
        images[index] += 0.7 * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 4.0**2))
    return np.clip(images, 0, 1).astype(np.float32), labels


class BlobNet(nn.Module):
    """conv-ReLU-pool x 3 + linear head, two logits; ``(N, 3, 64, 64)`` -> ``(N, 2)``."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(16 * 16 * 16, 2)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(inputs).flatten(1))


def blob_card(spec: XraySpec) -> ModelCard:
    return ModelCard(name="blobnet", modality="xray", architecture="blobnet", classes=("left", "right"),
                     num_outputs=2, preprocessing=spec, alert_class="right", cam_target_layer="features.7")


@pytest.fixture(scope="session")
def trained_blob_model() -> Model:
    """BlobNet trained for a few seconds (seeded) to > 95% accuracy on :func:`blob_images`."""
    spec = XraySpec(image_size=SIZE)
    images, labels = blob_images(320, seed=0)
    mean, std = torch.tensor(spec.mean).view(1, 3, 1, 1), torch.tensor(spec.std).view(1, 3, 1, 1)
    inputs = (torch.from_numpy(images)[:, None].expand(-1, 3, -1, -1) - mean) / std
    targets = torch.from_numpy(labels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        network = BlobNet()
        optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
        for _epoch in range(3):
            order = torch.randperm(len(inputs))
            for start in range(0, len(inputs), 64):
                batch = order[start:start + 64]
                loss = nn.functional.cross_entropy(network(inputs[batch]), targets[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    network.eval()
    test_images, test_labels = blob_images(128, seed=1)
    test = (torch.from_numpy(test_images)[:, None].expand(-1, 3, -1, -1) - mean) / std
    with torch.no_grad():
        accuracy = float((network(test).argmax(1).numpy() == test_labels).mean())
    assert accuracy > 0.95, f"the blob model did not learn its task (accuracy {accuracy:.2f})"
    return Model(blob_card(spec), network)


@pytest.fixture(scope="session")
def blob_samples() -> list[XraySample]:
    """Four 64 x 64 X-ray samples of the blob task (two of each class)."""
    images, labels = blob_images(16, seed=2)
    chosen = [*np.flatnonzero(labels == 0)[:2], *np.flatnonzero(labels == 1)[:2]]
    return [XraySample(name=f"blob{i}.png", source_format="png", sha256=f"{i:064x}", image=images[i])
            for i in chosen]
