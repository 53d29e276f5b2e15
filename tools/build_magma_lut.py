"""Rebuild src/xaiscope/preprocessing/magma_lut.npy from matplotlib's magma colour map.

Usage: .venv/bin/python tools/build_magma_lut.py
The magma map is by Nathaniel J. Smith, Stefan van der Walt and Eric Firing, released under CC0 (see NOTICE.md).
"""

from pathlib import Path

import matplotlib
import numpy as np

TARGET = Path(__file__).resolve().parents[1] / "src/xaiscope/preprocessing/magma_lut.npy"


def main() -> None:
    table = matplotlib.colormaps["magma"](np.arange(256), bytes=True)[:, :3]
    np.save(TARGET, np.ascontiguousarray(table, dtype=np.uint8))
    print(f"wrote {TARGET} {table.shape}")


if __name__ == "__main__":
    main()
