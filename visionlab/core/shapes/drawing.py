"""The pieces a scene is drawn from: one shape's geometry and mask, backgrounds, colours and noise.

Shared by the still scenes (`scenes.py`) and the moving stream (`motion.py`), so a detector trained on one
sees the same shapes in the other. Masks are drawn with cv2 without anti-aliasing (LINE_8) at 1/16 pixel
precision (`shift=4`): smooth sub-pixel motion, and a mask is exactly the set of pixels painted.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

MIN_SIZE, MAX_SIZE = 12, 60  # a shape's box side (the longer one) in pixels, as drawn in a still scene
MIN_CONTRAST = 70.0  # RGB distance a shape's colour keeps from (almost all of) what lies beneath it
COLOUR_TRIES = 16
NOISE_STEPS = (2, 8)  # per-pixel noise is the sum of two uniform integers in ±a, a drawn in this range
SUBPIXEL_BITS = 4
_ONE = 1 << SUBPIXEL_BITS

# Class indices (0-based) as in scenes.CLASSES: circle, rectangle, triangle, ring, star.
CIRCLE, RECTANGLE, TRIANGLE, RING, STAR = range(5)


@dataclass(frozen=True)
class Shape:
    """One shape's geometry: `outline` is its polygon with the farthest corner at distance 1 (unrotated);
    the drawn polygon is `outline` turned by `angle` (radians), times `radius`, around (x, y). Circles and
    rings have no outline; a ring's hole has radius `inner` × `radius` and shows whatever lies beneath."""

    kind: int
    x: float
    y: float
    radius: float
    angle: float = 0.0
    outline: np.ndarray | None = None
    inner: float = 0.0

    def moved(self, x: float, y: float, angle: float) -> Shape:
        return Shape(self.kind, x, y, self.radius, angle, self.outline, self.inner)

    def corners(self) -> np.ndarray:
        """The polygon in pixels (K×2), or the circle's box corners for round shapes."""
        if self.outline is None:
            unit = np.array([[-1.0, -1.0], [1.0, 1.0]])
        else:
            cos, sin = math.cos(self.angle), math.sin(self.angle)
            unit = self.outline @ np.array([[cos, sin], [-sin, cos]])
        return unit * self.radius + (self.x, self.y)


def unit_outline(rng: np.random.Generator, kind: int) -> tuple[np.ndarray | None, float]:
    """A random outline of the class (aspect, corner angles, star depth vary) and a ring's hole ratio."""
    if kind == CIRCLE:
        return None, 0.0
    if kind == RING:
        return None, float(rng.uniform(0.4, 0.65))
    if kind == RECTANGLE:
        aspect = rng.uniform(0.35, 1.0)
        points = np.array([[-1, -aspect], [1, -aspect], [1, aspect], [-1, aspect]], float)
    elif kind == TRIANGLE:
        angles = np.radians([-90.0, 30.0 + rng.uniform(-20, 20), 150.0 + rng.uniform(-20, 20)])
        points = np.stack([np.cos(angles), np.sin(angles) * rng.uniform(0.6, 1.0)], axis=1)
    elif kind == STAR:
        depth = rng.uniform(0.38, 0.52)
        angles = -np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, 1.0, depth)
        points = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    else:
        raise ValueError(f"unknown shape class {kind}")
    return points / np.linalg.norm(points, axis=1).max(), 0.0


def random_shape(rng: np.random.Generator, kind: int, width: int, height: int, scale: float = 1.0,
                 turning: bool = False) -> Shape:
    """A shape of class `kind` whose box's longer side is MIN_SIZE..MAX_SIZE (× scale) pixels, inside the frame.

    `turning`: the shape will rotate, so its box stays within that size at *any* angle (its farthest corner,
    at distance `radius`, gives a box of at most 2 × radius whichever way it turns)."""
    outline, inner = unit_outline(rng, kind)
    size = rng.uniform(MIN_SIZE, MAX_SIZE) * scale
    angle = float(rng.uniform(0, 2 * math.pi))
    probe = Shape(kind, 0.0, 0.0, 1.0, angle, outline, inner).corners()
    low, high = probe.min(axis=0), probe.max(axis=0)
    extent = 2.0 if turning else float((high - low).max())
    radius = (size - 1) / extent  # the rasterized box spans the extent + 1 pixel
    x = rng.uniform(-low[0] * radius, width - 1 - high[0] * radius)
    y = rng.uniform(-low[1] * radius, height - 1 - high[1] * radius)
    return Shape(kind, float(x), float(y), float(radius), angle, outline, inner)


def shape_mask(shape: Shape, width: int, height: int) -> np.ndarray:
    """H×W bool: the pixels cv2 paints for the shape (no anti-aliasing), clipped to the frame."""
    mask = np.zeros((height, width), np.uint8)
    if shape.outline is None:
        center = (round(shape.x * _ONE), round(shape.y * _ONE))
        cv2.circle(mask, center, round(shape.radius * _ONE), 1, -1, cv2.LINE_8, SUBPIXEL_BITS)
        if shape.inner > 0:
            cv2.circle(mask, center, round(shape.radius * shape.inner * _ONE), 0, -1, cv2.LINE_8, SUBPIXEL_BITS)
    else:
        points = np.round(shape.corners() * _ONE).astype(np.int32)
        cv2.fillPoly(mask, [points], 1, cv2.LINE_8, SUBPIXEL_BITS)
    return mask.view(bool)


@functools.lru_cache(maxsize=8)
def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates scaled to 0..1 (cached: every background of a size uses them)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return xx / max(width - 1, 1), yy / max(height - 1, 1)


def random_background(rng: np.random.Generator, width: int, height: int, scale: float = 1.0) -> np.ndarray:
    """H×W×3 uint8: a linear or radial gradient or soft colour blobs, half the time with a texture on top
    (stripes, a checkerboard or grain, their detail `scale` times as coarse), so "background" is never one
    colour a net could subtract. The smooth part is computed on a 4× coarser grid and resized (a linear
    resize of a gradient is the gradient: 10× cheaper than per pixel, and background is most of the cost)."""
    coarse = (max(2, width // 4), max(2, height // 4))
    style = int(rng.integers(3))
    if style == 2:
        cells = rng.uniform(0, 255, (int(rng.integers(2, 5)), int(rng.integers(2, 6)), 3)).astype(np.float32)
        base = cv2.resize(cells, (width, height), interpolation=cv2.INTER_CUBIC)
    else:
        xx, yy = _grid(*coarse)
        if style == 0:
            direction = rng.uniform(0, 2 * math.pi)
            ramp = math.cos(direction) * xx + math.sin(direction) * yy
        else:
            ramp = np.hypot(xx - rng.uniform(0, 1), yy - rng.uniform(0, 1))
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        start, end = rng.uniform(0, 255, 3).astype(np.float32), rng.uniform(0, 255, 3).astype(np.float32)
        base = cv2.resize(start + ramp[:, :, None] * (end - start), (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        xx, yy = _grid(width, height)
        pattern = _texture(rng, xx * ((width - 1) / scale), yy * ((height - 1) / scale))
        tint = rng.uniform(0.3, 1.0, (3, 1)).astype(np.float32)  # how strongly each channel carries it
        base = cv2.add(base, cv2.transform(pattern[:, :, None], tint))
    return np.clip(base, 0, 255, out=base).astype(np.uint8)


def _texture(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A zero-mean grey pattern in pixels: stripes, a turned checkerboard, or coarse grain."""
    amplitude = rng.uniform(10, 35)
    style = int(rng.integers(3))
    if style == 2:
        height, width = x.shape
        cells = (max(2, round(float(y.max()) / 3)), max(2, round(float(x.max()) / 3)))  # 3-pixel grains
        grain = rng.uniform(-1, 1, cells).astype(np.float32)
        return amplitude * cv2.resize(grain, (width, height), interpolation=cv2.INTER_LINEAR)
    direction = rng.uniform(0, math.pi)
    period = rng.uniform(6, 24)
    along = (math.cos(direction) * x + math.sin(direction) * y) * (2 * math.pi / period)
    if style == 0:
        return amplitude * np.sin(along)
    across = (-math.sin(direction) * x + math.cos(direction) * y) * (2 * math.pi / period)
    return amplitude * np.sign(np.sin(along) * np.sin(across))


def contrasting_colour(rng: np.random.Generator, beneath: np.ndarray) -> np.ndarray:
    """A random RGB colour (the same law for every class) far from 90 % of the pixels `beneath` (K×3);
    after COLOUR_TRIES draws the best one seen."""
    sample = beneath[:: max(1, len(beneath) // 200)].astype(np.float32)
    best, best_score = np.zeros(3, np.uint8), -1.0
    for _ in range(COLOUR_TRIES):
        colour = rng.integers(0, 256, 3).astype(np.uint8)
        distances = np.linalg.norm(sample - colour.astype(np.float32), axis=1)
        score = float(np.partition(distances, len(distances) // 10)[len(distances) // 10]) if len(sample) else 255.0
        if score >= MIN_CONTRAST:
            return colour
        if score > best_score:
            best, best_score = colour, score
    return best


def add_noise(rng: np.random.Generator, image: np.ndarray) -> None:
    """Per-pixel noise of a random strength, in place (integer draws: ~10× cheaper than Gaussian ones)."""
    step = int(rng.integers(NOISE_STEPS[0], NOISE_STEPS[1] + 1))
    noise = rng.integers(-step, step + 1, (2, *image.shape), dtype=np.int16).sum(axis=0, dtype=np.int16)
    np.clip(image + noise, 0, 255, out=noise)
    image[:] = noise
