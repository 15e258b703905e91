"""A moving version of the scenes, for the Live Camera's synthetic source: the same shapes, drifting.

A detector trained on still scenes should run live on something that looks like them. So the stream draws
the same classes, sizes, colours, backgrounds and noise as `scenes.py`, scaled to the frame (a 640×480 frame
looks like a 160×120 scene enlarged four times, since detectors resize what they are given), and moves
them smoothly. Each of the stream's "lanes" sends one shape at a time across the frame along a gentle curve,
turning as it goes; it enters and leaves at the edges, then the lane rests a moment and sends the next one.

`frame(t)` depends on t alone (any time, in any order), so a test or a recorded video can ask for frame
1234 without playing the ones before it. Lanes are drawn in a fixed order, so shapes pass over each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from visionlab.core.shapes.drawing import (
    Shape,
    add_noise,
    contrasting_colour,
    random_background,
    random_shape,
    shape_mask,
)
from visionlab.core.shapes.scenes import CLASSES, MIN_VISIBLE_PIXELS, Scene, scene_from_owner

SCENE_SIZE = (160, 120)  # the still scenes' default frame: the stream's shapes are sized relative to it
LANES = 5
PERIOD_SECONDS = (12.0, 24.0)  # a lane sends one shape per period ...
TRIP_SHARE = (0.55, 0.95)  # ... which crosses the frame in this share of it; the lane is empty the rest
TURN_SPEED = 0.9  # radians per second at most
BEND = 0.15  # how far a path curves sideways, as a fraction of the frame's shorter side


@dataclass(frozen=True)
class _Trip:
    """One shape's crossing: it is on screen from `start` for `duration` seconds, in `colour`."""

    shape: Shape  # the geometry at the middle of the trip (its x, y and angle are replaced along the way)
    colour: np.ndarray
    start: float
    duration: float
    entry: tuple[float, float]
    exit: tuple[float, float]
    bend: float
    turn: float

    def at(self, t: float) -> Shape | None:
        """The shape at time t, or None when it is not travelling then."""
        progress = (t - self.start) / self.duration
        if not 0.0 <= progress <= 1.0:
            return None
        (x0, y0), (x1, y1) = self.entry, self.exit
        length = math.hypot(x1 - x0, y1 - y0)
        side = math.sin(math.pi * progress) * self.bend / max(length, 1e-6)  # a smooth sideways arc
        x = x0 + (x1 - x0) * progress - (y1 - y0) * side
        y = y0 + (y1 - y0) * progress + (x1 - x0) * side
        return self.shape.moved(x, y, self.shape.angle + self.turn * (t - self.start - self.duration / 2))


class SceneStream:
    """Moving shape scenes: `frame(t)` is the Scene at t seconds (image, boxes, labels, visible masks).

    The background is fixed for the stream (by `seed`, a whole number ≥ 0); the noise changes every frame
    (at 1 ms resolution of t).
    """

    def __init__(self, seed: int = 0, width: int = 640, height: int = 480) -> None:
        if min(width, height) < 32:
            raise ValueError(f"a scene stream needs at least 32×32 pixels, not {width}×{height}")
        self.seed, self.width, self.height = seed, width, height
        self.scale = min(width / SCENE_SIZE[0], height / SCENE_SIZE[1])
        setup = np.random.default_rng([seed, 0])
        self.background = random_background(setup, width, height, self.scale)
        self._background_sample = self.background.reshape(-1, 3)[:: max(1, width * height // 2000)]
        # Lane l sends trip n during the window [offset + n period, offset + (n + 1) period): O(1) for any t.
        self._lanes = [(float(period), float(setup.uniform(0, period)))
                       for period in setup.uniform(*PERIOD_SECONDS, LANES)]
        self._trips: dict[tuple[int, int], _Trip] = {}

    def frame(self, t: float) -> Scene:
        """The scene at time t (seconds, any real number): drawn fresh, its targets exact."""
        image = self.background.copy()
        owner = np.zeros((self.height, self.width), np.uint8)
        labels: list[int] = []
        for lane in range(LANES):
            shape_and_colour = self._shape_at(lane, t)
            if shape_and_colour is None:
                continue
            shape, colour = shape_and_colour
            mask = shape_mask(shape, self.width, self.height)
            image[mask] = colour
            owner[mask] = len(labels) + 1
            labels.append(shape.kind + 1)
        add_noise(np.random.default_rng([self.seed, 1, round(t * 1000) & 0xFFFFFFFF]), image)
        return _without_slivers(scene_from_owner(image, owner, labels), MIN_VISIBLE_PIXELS * self.scale ** 2)

    def _shape_at(self, lane: int, t: float) -> tuple[Shape, np.ndarray] | None:
        period, offset = self._lanes[lane]
        trip = self._trip(lane, math.floor((t - offset) / period))
        shape = trip.at(t)
        return None if shape is None else (shape, trip.colour)

    def _trip(self, lane: int, number: int) -> _Trip:
        """Trip `number` of a lane: it travels inside the lane's window number `number`, then the lane rests."""
        key = (lane, number)
        if key not in self._trips:
            if len(self._trips) > 8 * LANES:  # only the current trips are asked for again and again
                self._trips.clear()
            period, offset = self._lanes[lane]
            rng = np.random.default_rng([self.seed, 2, lane, number & 0xFFFFFFFF])  # t < 0 is allowed
            duration = period * float(rng.uniform(*TRIP_SHARE))
            start = offset + number * period + float(rng.uniform(0, period - duration))
            self._trips[key] = self._new_trip(rng, start, duration)
        return self._trips[key]

    def _new_trip(self, rng: np.random.Generator, start: float, duration: float) -> _Trip:
        kind = int(rng.integers(len(CLASSES)))
        shape = random_shape(rng, kind, self.width, self.height, self.scale, turning=True)
        reach = shape.radius + 2  # beyond this distance outside the frame the shape is out of sight
        heading = rng.uniform(0, 2 * math.pi)
        dx, dy = math.cos(heading), math.sin(heading)
        # A straight line through a random point of the frame's middle, from out of sight to out of sight.
        cx, cy = rng.uniform(0.2, 0.8) * self.width, rng.uniform(0.2, 0.8) * self.height
        half = math.hypot(self.width, self.height) / 2 + reach
        entry, exit_ = (cx - dx * half, cy - dy * half), (cx + dx * half, cy + dy * half)
        colour = contrasting_colour(rng, self._background_sample)
        return _Trip(shape, colour, start, duration, entry, exit_,
                     bend=float(rng.uniform(-BEND, BEND)) * min(self.width, self.height),
                     turn=float(rng.uniform(-TURN_SPEED, TURN_SPEED)))


def _without_slivers(scene: Scene, min_pixels: float) -> Scene:
    """Drop the targets of shapes showing fewer pixels than a still scene allows (a corner at the edge)."""
    keep = scene.masks.sum(axis=(1, 2)) >= min_pixels
    if keep.all():
        return scene
    return Scene(image=scene.image, boxes=scene.boxes[keep], labels=scene.labels[keep], masks=scene.masks[keep])
