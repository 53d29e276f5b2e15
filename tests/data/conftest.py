"""Fixtures of tiny FoR and CheXpert trees (built per test in its temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.builders import make_chexpert, make_for


@pytest.fixture
def for_root(tmp_path: Path) -> Path:
    """``for-norm/for-norm/{training,validation,testing}/{fake,real}`` (nested as the archive unpacks), 6/3/3 clips
    per class, plus a corrupt ``training/fake/broken.wav`` and a ``training/real/README.txt``."""
    return make_for(tmp_path / "for-norm" / "for-norm", corrupt=True).parent


@pytest.fixture
def chexpert_root(tmp_path: Path) -> Path:
    return make_chexpert(tmp_path)
