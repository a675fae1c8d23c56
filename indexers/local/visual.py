"""Picture measures for the offline indexer: frame difference, hard cuts, brightness and colour.

All functions are pure numpy over small upright RGB frames (``(n, h, w, 3)`` uint8), so they are
tested directly on synthetic arrays as well as on decoded video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in 0-1, shape ``(n, h, w)``."""
    out: np.ndarray = (rgb.astype(np.float32) / 255.0) @ _LUMA
    return out


def pair_differences(y: np.ndarray) -> np.ndarray:
    """Mean absolute luma change between consecutive frames, after removing the global shift.

    Subtracting each pair's mean change keeps an exposure step or flicker from reading as motion.
    """
    if len(y) < 2:
        return np.zeros(0)
    d = np.diff(y, axis=0)
    d -= d.mean(axis=(1, 2), keepdims=True)
    out: np.ndarray = np.abs(d).mean(axis=(1, 2)).astype(float)
    return out


def _histograms(rgb: np.ndarray, bins: int = 4) -> np.ndarray:
    q = (rgb // (256 // bins)).astype(np.int64)
    codes = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    n = len(rgb)
    flat = codes.reshape(n, -1)
    hist = np.stack([np.bincount(row, minlength=bins**3) for row in flat]).astype(float)
    normed: np.ndarray = hist / flat.shape[1]
    return normed


def detect_cuts(rgb: np.ndarray) -> list[int]:
    """Indices ``i`` where a hard cut falls between frame ``i`` and ``i + 1``.

    Only used when the caller gave no shot cuts, and strict on purpose: the colour histogram
    must change by half, and the mean RGB change must be large and at least three times that of
    both neighbouring pairs. A fast pan changes every pair a lot and a fade changes every pair a
    little, so neither makes a lone peak; at 5 fps both would otherwise look like cuts. RGB rather
    than luma, because a cut between two colours of equal brightness changes no luma.
    """
    if len(rgb) < 2:
        return []
    hist = _histograms(rgb)
    hist_dist = np.abs(np.diff(hist, axis=0)).sum(axis=1) / 2.0
    change = np.abs(np.diff(rgb.astype(np.int16), axis=0)).mean(axis=(1, 2, 3)) / 255.0
    cuts = []
    for i in range(len(change)):
        neighbours = [change[k] for k in (i - 1, i + 1) if 0 <= k < len(change)]
        lone_peak = change[i] >= 3 * max([0.01, *neighbours])
        if hist_dist[i] >= 0.5 and change[i] >= 0.08 and lone_peak:
            cuts.append(i)
    return cuts


# Hue bins (degrees) of the palette, checked after the grey and dark tests.
_HUES: tuple[tuple[float, str], ...] = (
    (15, "red"),
    (40, "orange"),
    (70, "yellow"),
    (165, "green"),
    (195, "cyan"),
    (255, "blue"),
    (290, "purple"),
    (335, "magenta"),
    (361, "red"),
)
PALETTE = (
    "black",
    "grey",
    "white",
    "brown",
    "pink",
    *dict.fromkeys(name for _, name in _HUES),
)


def colour_names(rgb: np.ndarray) -> np.ndarray:
    """Index into ``PALETTE`` for every pixel of ``rgb`` (any leading shape, last axis RGB)."""
    x = rgb.reshape(-1, 3).astype(np.float32) / 255.0
    v = x.max(axis=1)
    c = v - x.min(axis=1)
    s = np.where(v > 0, c / np.maximum(v, 1e-6), 0.0)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    safe_c = np.maximum(c, 1e-6)
    hue = np.where(
        v == r,
        ((g - b) / safe_c) % 6,
        np.where(v == g, (b - r) / safe_c + 2, (r - g) / safe_c + 4),
    )
    hue = hue * 60.0
    idx = np.full(len(x), PALETTE.index("red"), dtype=int)
    lower = 0.0
    for upper, name in _HUES:
        idx[(hue >= lower) & (hue < upper)] = PALETTE.index(name)
        lower = upper
    warm = (hue >= 10) & (hue < 45)
    idx[warm & (v < 0.6) & (s > 0.3)] = PALETTE.index("brown")
    reddish = (hue >= 290) | (hue < 15)
    idx[reddish & (s < 0.5) & (v > 0.7)] = PALETTE.index("pink")
    idx[(hue >= 255) & (hue < 335) & (v < 0.6)] = PALETTE.index("purple")
    grey = (s < 0.2) | (c < 0.08)
    idx[grey] = PALETTE.index("grey")
    idx[grey & (v > 0.85)] = PALETTE.index("white")
    idx[v < 0.18] = PALETTE.index("black")
    return idx


@dataclass(frozen=True)
class ColourShare:
    """A palette colour, its share of the pixels and the mean RGB of those pixels as hex."""

    name: str
    share: float
    hex: str


@dataclass(frozen=True)
class PictureStats:
    """Brightness and colour of a set of frames (one shot)."""

    brightness: float
    colours: tuple[ColourShare, ...]
    """Palette colours covering at least 5 % of the pixels, largest first."""

    @property
    def brightness_word(self) -> str:
        if self.brightness < 0.25:
            return "dark"
        if self.brightness > 0.7:
            return "bright"
        return "medium"


def picture_stats(rgb: np.ndarray) -> PictureStats:
    """Mean luma and palette colour shares of ``rgb`` frames."""
    brightness = float(luma(rgb).mean())
    pixels = rgb.reshape(-1, 3)
    names = colour_names(pixels)
    counts = np.bincount(names, minlength=len(PALETTE))
    total = max(int(counts.sum()), 1)
    shares: list[ColourShare] = []
    for i in np.argsort(-counts):
        share = counts[i] / total
        if share < 0.05 and shares:
            break
        mean = pixels[names == i].mean(axis=0)
        hex_ = "#{:02x}{:02x}{:02x}".format(*(round(c) for c in mean))
        shares.append(ColourShare(PALETTE[int(i)], round(float(share), 3), hex_))
    return PictureStats(brightness=round(brightness, 3), colours=tuple(shares))
