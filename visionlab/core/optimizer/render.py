"""Draws a race into RGB frames without Qt (OpenCV), for the GIF / MP4 export run off the GUI thread."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from visionlab.core.i18n import _
from visionlab.core.jobs import check_cancel
from visionlab.core.optimizer.engine import Trajectory
from visionlab.core.optimizer.presets import PALETTE
from visionlab.core.optimizer.surfaces import Surface

# OpenCV's Hershey fonts draw ASCII only (η would come out as "??"): frame labels spell Greek letters out.
_SPELLED = {"η": "lr ", "λ": "lambda ", "α": "alpha ", "β": "beta ", "ε": "eps ", "·": "*", "−": "-", "≈": "~"}


def frame_label(text: str) -> str:
    """`text` in the characters OpenCV can draw: "Adam λ=1" reads "Adam lambda=1"."""
    spelled = "".join(_SPELLED.get(ch, ch) for ch in text).replace(" =", "=")
    return spelled.encode("ascii", "replace").decode("ascii")


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def surface_image(surface: Surface, size: tuple[int, int], log_scale: bool | None = None) -> np.ndarray:
    """The heat map with contour bands, RGB uint8 of shape (height, width, 3), y axis pointing up."""
    width, height = size
    z = surface.grid(max(width, height) // 2)[2]
    use_log = surface.log_scale if log_scale is None else log_scale
    finite = np.isfinite(z)
    if use_log:
        z = np.log10(z - np.nanmin(z) + 1e-3)
    lo, hi = np.nanpercentile(z, 1), np.nanpercentile(z, 99)
    scaled = np.clip((z - lo) / max(hi - lo, 1e-12), 0, 1)
    scaled[~finite] = 0
    bands = np.floor(scaled * 14)
    edges = (np.diff(bands, axis=0, prepend=bands[:1]) != 0) | (np.diff(bands, axis=1, prepend=bands[:, :1]) != 0)
    gray = (scaled * 255).astype(np.uint8)
    colored = cv2.applyColorMap(gray, cv2.COLORMAP_VIRIDIS)[:, :, ::-1].copy()
    colored[edges] = (colored[edges] * 0.55).astype(np.uint8)
    colored = cv2.resize(colored, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(colored[::-1])  # row 0 is the top: largest y


def render_frames(surface: Surface, trajectories: list[Trajectory], size: tuple[int, int] = (480, 480),
                  frames: int = 60, should_stop=None, progress=None) -> list[np.ndarray]:
    width, height = size
    x_min, x_max, y_min, y_max = surface.bounds
    background = surface_image(surface, size)
    longest = max((len(t.xs) for t in trajectories), default=1)
    cuts = np.unique(np.linspace(1, longest, frames).astype(int))

    def to_pixels(traj: Trajectory, upto: int) -> np.ndarray:
        xs, ys = traj.xs[:upto], traj.ys[:upto]
        px = (xs - x_min) / (x_max - x_min) * (width - 1)
        py = (y_max - ys) / (y_max - y_min) * (height - 1)
        pts = np.stack([px, py], axis=1)
        pts = np.clip(pts, -10 * width, 10 * width)
        return np.round(pts).astype(np.int32)

    images = []
    for index, cut in enumerate(cuts):
        check_cancel(should_stop)
        frame = background.copy()
        for number, traj in enumerate(trajectories):
            color = _rgb(PALETTE[number % len(PALETTE)])
            pts = to_pixels(traj, int(cut))
            cv2.polylines(frame, [pts.reshape(-1, 1, 2)], False, color, 2, cv2.LINE_AA)
            cv2.circle(frame, tuple(int(v) for v in pts[-1]), 5, color, -1, cv2.LINE_AA)
            # OpenCV's fonts draw ASCII only: the frames name the racers (and the step) in English.
            cv2.putText(frame, frame_label(traj.racer.title(english=True)), (8, 18 + 18 * number),
                        cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, color, 1, cv2.LINE_AA)
        cv2.putText(frame, f"step {int(cut) - 1}", (8, height - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        images.append(frame)
        if progress:
            progress((index + 1) / len(cuts), _("drawing frames"))
    return images


def save_animation(frames: list[np.ndarray], path: str | os.PathLike, fps: int = 20) -> Path:
    """GIF (Pillow) or MP4 (OpenCV, mp4v), chosen by the file's suffix, written atomically."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(_("choose a .gif or .mp4 file name"))
    if not frames:
        raise ValueError(_("nothing to save: the race has no steps"))
    if not target.parent.is_dir():  # the user's own folder: a typo must not create a tree of new ones
        raise ValueError(_("the folder {folder} does not exist").format(folder=target.parent))
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=target.parent, prefix=f".{target.stem}.")
    os.close(fd)
    try:
        if suffix == ".gif":
            images = [Image.fromarray(f) for f in frames]
            images[0].save(tmp, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        else:
            height, width = frames[0].shape[:2]
            writer = cv2.VideoWriter(tmp, cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
            if not writer.isOpened():
                raise OSError(_("this OpenCV build cannot write MP4 files; choose .gif"))
            for frame in frames:
                writer.write(frame[:, :, ::-1])
            writer.release()
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def export_animation(surface: Surface, trajectories: list[Trajectory], path: str, size=(480, 480), frames=60,
                     fps=20, progress=None, should_stop=None) -> Path:
    """The finite job behind "Export GIF / MP4"."""
    images = render_frames(surface, trajectories, size, frames, should_stop, progress)
    return save_animation(images, path, fps)
