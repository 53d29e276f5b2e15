"""Attribution maps as pictures: one shared colour scale, overlays at full resolution, LIME and SHAP displays.

The shared scale: each map is divided by a high percentile of its absolute values, so every method's map lies
in [-1, 1], then one diverging colour map shows it (red = for the explained class, blue = against, white =
nothing). Maps of different methods drawn this way can be put side by side. The earlier tool's looks are
available too: JET for Grad-CAM, and SHAP's red/green superpixel display.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from xaiscope.maps import segment_means, slic_labels

#: Diverging map shared by every method; ``jet`` reproduces the earlier tool's Grad-CAM overlays.
COLORMAPS = ("diverging", "jet")


def normalise(attribution: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """Scale ``attribution`` ``(H, W)`` into [-1, 1] by the ``percentile`` of its absolute values.

    Returns:
        ``(H, W)`` float32; an all-zero map stays all zero.
    """
    magnitude = float(np.percentile(np.abs(attribution), percentile)) if attribution.size else 0.0
    if magnitude <= 0:
        magnitude = float(np.abs(attribution).max()) if attribution.size else 0.0
    if magnitude <= 0:
        return np.zeros(attribution.shape, np.float32)
    return np.clip(attribution / magnitude, -1.0, 1.0).astype(np.float32)


@lru_cache(maxsize=4)
def _lut(name: str) -> np.ndarray:
    """256-entry RGB table, uint8 (matplotlib's RdBu_r for ``diverging``, jet for ``jet``)."""
    import matplotlib

    table = matplotlib.colormaps["RdBu_r" if name == "diverging" else "jet"](np.linspace(0, 1, 256))
    return np.round(table[:, :3] * 255).astype(np.uint8)


def colorize(scaled: np.ndarray, colormap: str = "diverging") -> np.ndarray:
    """``(H, W)`` values in [-1, 1] (``jet``: [0, 1]) -> ``(H, W, 3)`` uint8 colours."""
    position = (scaled + 1) / 2 if colormap == "diverging" else np.clip(scaled, 0, 1)
    return _lut(colormap)[np.clip(np.round(position * 255), 0, 255).astype(np.int64)]


def resize_map(attribution: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a float map ``(h, w)`` to ``(height, width)``."""
    if attribution.shape == (height, width):
        return attribution.astype(np.float32)
    resized = Image.fromarray(attribution.astype(np.float32), mode="F").resize((width, height),
                                                                             Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def to_gray(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 -> ``(H, W)`` uint8 luma; a magma spectrogram under red/blue overlays reads better in
    gray (loud = bright)."""
    if image.ndim == 2:
        return image
    return np.round(image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Gray ``(H, W)`` or colour ``(H, W, 3)`` uint8 -> ``(H, W, 3)`` uint8."""
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image[:, :, :3]


def overlay(base: np.ndarray, attribution: np.ndarray, *, opacity: float = 0.5, colormap: str = "diverging",
            scaled: bool = False) -> np.ndarray:
    """Draw an attribution map over an image at the image's own resolution.

    Args:
        base: ``(H, W)`` or ``(H, W, 3)`` uint8, e.g. the full-resolution radiograph.
        attribution: ``(h, w)`` map in model-input space (the whole image, stretched to a square, as the
            preprocessing did), resized here to ``(H, W)``.
        opacity: 0 shows only the image, 1 gives the strongest colours.
        colormap: ``diverging`` (shared scale, colour strength follows ``|value|``) or ``jet`` (the earlier
            tool's uniform 0.6 image / 0.4 heat blend at ``opacity=0.4``).
        scaled: ``attribution`` is already in [-1, 1] (e.g. from a shared scale); otherwise :func:`normalise`.

    Returns:
        ``(H, W, 3)`` uint8.
    """
    rgb = as_rgb(base).astype(np.float32)
    height, width = rgb.shape[:2]
    values = attribution if scaled else normalise(attribution)
    values = resize_map(values, width, height)
    colours = colorize(values, colormap).astype(np.float32)
    if colormap == "jet":
        weight = np.full((height, width, 1), opacity, np.float32)
    else:
        weight = opacity * np.abs(values)[:, :, None]
    return np.clip(rgb * (1 - weight) + colours * weight, 0, 255).astype(np.uint8)


def lime_view(picture: np.ndarray, attribution: np.ndarray, segments: np.ndarray, top: int = 8) -> np.ndarray:
    """The earlier tool's LIME display: the ``top`` superpixels by |weight|, tinted by sign, with boundaries.

    Args:
        picture: ``(H, W, 3)`` uint8 model-input picture.
        attribution: ``(H, W)`` LIME map (each superpixel painted with its weight).
        segments: ``(H, W)`` superpixel labels.

    Returns:
        ``(H, W, 3)`` uint8: red = for the class, blue = against, yellow boundaries around the shown superpixels.
    """
    from skimage.segmentation import mark_boundaries

    weights = segment_means(attribution, segments)
    chosen = np.argsort(-np.abs(weights), kind="stable")[:top]
    shown = np.where(np.isin(segments, chosen), attribution, 0.0)
    tinted = overlay(picture, shown, opacity=0.6)
    kept = np.where(np.isin(segments, chosen), segments + 1, 0)
    return np.round(mark_boundaries(tinted, kept, color=(1, 1, 0)) * 255).astype(np.uint8)


def shap_view(picture: np.ndarray, attribution: np.ndarray, opacity: float = 0.6) -> np.ndarray:
    """The earlier tool's SHAP display: values averaged in SLIC superpixels, each sign scaled by its own 99th
    percentile; red pushes towards the explained class, green against.

    Returns:
        ``(H, W, 3)`` uint8.
    """
    labels = slic_labels(picture.astype(np.float64) / 255.0, 120)
    averaged = segment_means(attribution, labels)[labels].astype(np.float32)
    scaled = np.zeros_like(averaged)
    for sign in (1, -1):
        part = np.clip(sign * averaged, 0, None)
        top = float(np.percentile(part[part > 0], 99)) if np.any(part > 0) else 0.0
        if top > 0:
            scaled += sign * np.clip(part / top, 0, 1)
    red, green = np.array([220, 30, 30], np.float32), np.array([30, 170, 60], np.float32)
    colours = np.where(scaled[..., None] >= 0, red, green)
    weight = opacity * np.abs(scaled)[..., None]
    return np.clip(picture.astype(np.float32) * (1 - weight) + colours * weight, 0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    """Encode an ``(H, W, 3)`` or ``(H, W)`` uint8 image as PNG."""
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
