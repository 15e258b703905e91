"""Where VisionLab keeps what the user made: settings, runs, logs, downloads.

One function decides the folder so that tests (and users) can move everything with one variable,
VISIONLAB_HOME.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    """The user's VisionLab data folder, created on first use."""
    override = os.environ.get("VISIONLAB_HOME")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "VisionLab"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "VisionLab"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "visionlab"
    base.mkdir(parents=True, exist_ok=True)
    return base


def subdir(name: str) -> Path:
    """A named folder inside the data folder (runs, logs, exports, ...), created on first use."""
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_file() -> Path:
    return data_dir() / "settings.ini"


def log_file() -> Path:
    return subdir("logs") / "visionlab.log"
